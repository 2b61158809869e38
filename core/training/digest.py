"""The periodic digest of a group (R3.2.2), posted in the group weekly: sessions, materials, answered
and open questions, decisions. The first training activity in a group schedules it; each digest
schedules the next, so it is never kept only in memory. Each run also applies the group's archive
retention."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actions import PostMessage
from core.db.models import Case, Group
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.scheduler import schedule
from core.training import archive_search
from core.training.models import Announcement, Material, Question

KIND = "training.weekly_digest"


def next_due(ctx: CoreContext, group: Group, now: datetime) -> datetime:
    cfg = ctx.config.all_templates()[group.template].training
    zone = ZoneInfo(group.timezone)
    local = now.astimezone(zone)
    days = (cfg.digest_weekday - local.weekday()) % 7
    due = datetime.combine(local.date() + timedelta(days=days), time.fromisoformat(cfg.digest_time), zone)
    return due + timedelta(days=7) if due <= now else due


def ensure_scheduled(ctx: CoreContext, s: Session, group: Group) -> None:
    now = ctx.clock.now()
    due = next_due(ctx, group, now)
    schedule(s, key=f"{KIND}:{group.id}:{due.date().isoformat()}", kind=KIND, due_at=due, now=now,
             payload={"group": group.id})


def digest_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    group = s.get(Group, payload["group"])
    if group is None or not group.active:
        return
    now = ctx.clock.now()
    since = now - timedelta(days=7)
    sessions = list(s.scalars(select(Announcement).where(
        Announcement.status == "published", Announcement.kind.in_(("session", "notice")),
        (Announcement.training_id == group.training_id) if group.training_id is not None
        else (Announcement.group_id == group.id),
        Announcement.published_at >= since).order_by(Announcement.starts_at)))
    materials = list(s.scalars(select(Material).where(Material.group_id == group.id, Material.status == "approved",
                                                      Material.decided_at >= since)))
    answered = s.scalar(select(func.count()).select_from(Question).where(
        Question.group_id == group.id, Question.status == "answered", Question.answered_at >= since))
    still_open = s.scalar(select(func.count()).select_from(Question).where(Question.group_id == group.id,
                                                                           Question.status == "open"))
    decisions = s.scalar(select(func.count()).select_from(Case).where(Case.group_id == group.id,
                                                                      Case.created_at >= since))
    lines = "\n".join([f"#{a.id} {a.topic}" for a in sessions] + [f"M{m.id} {m.title}" for m in materials]) or "-"
    enqueue(s, PostMessage(group.platform, group.chat_id, t(
        group.locale, "training.weekly.digest", group=group.name, items=lines, sessions=len(sessions),
        materials=len(materials), answered=answered, open=still_open, decisions=decisions)),
        key=f"{KIND}:{group.id}:{now.date().isoformat()}", now=now, group_id=group.id)
    audit.record(s, at=now, actor="system", action="training.weekly_digest", clause="R3.2.2", group_id=group.id)
    _apply_retention(ctx, s, group, now)
    ensure_scheduled(ctx, s, group)


def _apply_retention(ctx: CoreContext, s: Session, group: Group, now: datetime) -> None:
    """R3.2.2: the archive keeps `archive_retention_days`; older messages go once a week, with the digest
    (`steward archive prune` does the same on demand)."""
    days = ctx.config.all_templates()[group.template].training.archive_retention_days
    if days is not None:
        archive_search.prune(s, group, days, now, actor="system")
