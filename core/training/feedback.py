"""Feedback on a session or the group (R2.3.3), optionally anonymous, and the weekly digest (R7.3.1).

Anonymous means nobody can learn who, not even from the database: the row stores no person and only
the day; the audit entry names no actor; the command's own message is dropped from the archive. The
thank-you reply is the same for named and anonymous feedback; for anonymous feedback its outbox row
forgets the recipient once delivered (outbox.FORGET).
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import ArchivedMessage, Group, Person
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.roster import name_of, staff_accounts
from core.kernel.scheduler import schedule
from core.training.models import Announcement, Feedback

ANONYMOUS = ("anonymous", "anon", "匿名")
_SESSION = re.compile(r"^#(\d{1,9})(?:\s+|[:：]\s*)(.*)$", re.S)


def split_anonymous(text: str) -> tuple[bool, str]:
    """`feedback anonymous …` / `反馈 匿名…` -> (True, "…")."""
    stripped = text.strip()
    folded = stripped.casefold()
    for word in ANONYMOUS:
        rest = stripped[len(word):]
        if folded.startswith(word) and not (word.isascii() and rest[:1].isalnum()):
            return True, rest.strip(" :：,，")
    return False, stripped


def split_session(text: str) -> tuple[int | None, str]:
    """`#3 too fast` -> (3, "too fast"): feedback on announcement 3; otherwise (None, text)."""
    m = _SESSION.match(text)
    return (int(m.group(1)), m.group(2).strip()) if m else (None, text)


def about(s: Session, group: Group, number: int) -> Announcement | None:
    """The published session or notice of the group's training that feedback names, if it is one."""
    a = s.get(Announcement, number)
    if a is None or a.status != "published":
        return None
    ok = a.training_id == group.training_id if group.training_id is not None else a.group_id == group.id
    return a if ok else None


def drop_command(s: Session, platform: str, user_id: str, raw: str) -> None:
    """An anonymous command was archived with its sender (in the group or the 1:1 chat): drop it."""
    s.execute(delete(ArchivedMessage).where(ArchivedMessage.platform == platform,
                                            ArchivedMessage.user_id == user_id, ArchivedMessage.text == raw))


def give(ctx: CoreContext, s: Session, group: Group, person_id: int, text: str, anonymous: bool,
         platform: str, user_id: str, raw: str, announcement: Announcement | None = None) -> Feedback:
    now = ctx.clock.now()
    day = datetime.combine(now.date(), time(0), now.tzinfo)
    fb = Feedback(group_id=group.id, person_id=None if anonymous else person_id, anonymous=anonymous,
                  announcement_id=announcement.id if announcement else None,
                  text=text[:4000], created_at=day if anonymous else now)
    s.add(fb)
    if anonymous:
        audit.record(s, at=day, actor="anonymous", action="training.feedback", clause="R2.3.3", group_id=group.id)
        drop_command(s, platform, user_id, raw)
    else:
        audit.record(s, at=now, actor=f"person:{person_id}", action="training.feedback", clause="R2.3.3",
                     group_id=group.id, person_id=person_id)
    s.flush()
    _schedule_digest(ctx, s, group, now)
    return fb


def _schedule_digest(ctx: CoreContext, s: Session, group: Group, now: datetime) -> None:
    cfg = ctx.config.all_templates()[group.template].training
    zone = ZoneInfo(group.timezone)
    local = now.astimezone(zone)
    days = (cfg.digest_weekday - local.weekday()) % 7
    due = datetime.combine(local.date() + timedelta(days=days), time.fromisoformat(cfg.digest_time), zone)
    if due <= now:
        due += timedelta(days=7)
    schedule(s, key=f"training.feedback_digest:{group.id}:{due.date().isoformat()}", kind="training.feedback_digest",
             due_at=due, now=now, payload={"group": group.id})


def digest_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    """R7.3.1: the week's feedback to the lead (and admins), anonymous items without a name."""
    group = s.get(Group, payload["group"])
    if group is None:
        return
    now = ctx.clock.now()
    rows = list(s.scalars(select(Feedback).where(Feedback.group_id == group.id,
                                                 Feedback.created_at >= now - timedelta(days=8))
                          .order_by(Feedback.id)))
    if not rows:
        return
    anonymous = t(group.locale, "training.feedback.anonymous")
    items = "\n".join(
        f"- F{fb.id} {anonymous if fb.anonymous else name_of(s.get(Person, fb.person_id), group.platform)}"
        + _on_session(s, group, fb) + f": {fb.text[:300]}" + (f"\n  ({fb.note})" if fb.note else "") for fb in rows)
    text = t(group.locale, "training.feedback.digest", group=group.name, count=len(rows), items=items)
    for account in staff_accounts(s, group, "lead") + staff_accounts(s, group, "admin"):
        enqueue(s, SendPrivate(account.platform, account.user_id, text),
                key=f"training.digest:{group.id}:{now.date().isoformat()}:{account.id}", now=now, group_id=group.id)
    audit.record(s, at=now, actor="system", action="training.feedback_digest", clause="R7.3.1", group_id=group.id,
                 items=len(rows))


def _on_session(s: Session, group: Group, fb: Feedback) -> str:
    a = s.get(Announcement, fb.announcement_id) if fb.announcement_id else None
    return " " + t(group.locale, "training.feedback.on", number=a.id, topic=a.topic[:80]) if a else ""


def add_note(s: Session, fb: Feedback, by: int, note: str, now: datetime) -> None:
    """R7.3.1: an admin passes an opinion on to the lead with a note; the digest shows it."""
    fb.note, fb.noted_by = note[:2000], by
    audit.record(s, at=now, actor=f"person:{by}", action="training.feedback_note", clause="R7.3.1",
                 group_id=fb.group_id, feedback=fb.id)
