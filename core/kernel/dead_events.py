"""Poison messages: an inbound event that fails on its own is set aside here, with its error.

Setting aside writes, in one transaction: the event and its error (dead_events), its delivery as seen
(inbound_events, so the platform's redeliveries are ignored like any duplicate), an audit entry, and a
private message to the admins of the event's group (or of every group on its platform when it came
from a 1:1 chat). `steward events dead` lists what is set aside; `steward events replay` tries each
again once the cause is fixed (what fails again stays set aside).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import DeadEvent, Group, InboundEvent
from core.db.upsert import insert_many_ignore
from core.events import Event, event_from_dict, event_to_dict
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_on, people_with_role
from core.kernel.outbox import enqueue

log = logging.getLogger("steward.dead_events")


def describe(exc: BaseException) -> str:
    """The error as stored: its class and first line (no statement, no parameters: those hold member text)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    kind = type(exc).__name__ if orig is exc else f"{type(exc).__name__} ({type(orig).__name__})"
    return f"{kind}: {first}"[:500]


def set_aside(ctx: CoreContext, event: Event, exc: BaseException, attempts: int) -> None:
    """Record `event` as a poison message (raises if the database is away: the caller answers 503)."""
    now, error = ctx.clock.now(), describe(exc)
    chat_id = getattr(event, "chat_id", None)
    log.error("event %s %s set aside after %d attempts: %s", event.platform, event.event_id, attempts, error)
    with ctx.sessions() as s, s.begin():
        new = insert_many_ignore(s, DeadEvent, [dict(
            platform=event.platform, event_id=event.event_id[:200], kind=type(event).__name__,
            chat_id=chat_id, event=event_to_dict(event), error=error, attempts=attempts, set_aside_at=now)],
            ("platform", "event_id"))
        insert_many_ignore(s, InboundEvent, [dict(platform=event.platform, event_id=event.event_id[:200],
                                                  kind=type(event).__name__, received_at=now)],
                           ("platform", "event_id"))
        if not new:
            return        # set aside before (a redelivery that raced the first)
        audit.record(s, at=now, actor="ingest", action="event.set_aside", platform=event.platform,
                     event_id=event.event_id[:200], kind=type(event).__name__, error=error)
        _tell_admins(s, event.platform, chat_id, event.event_id, error, now)


def _tell_admins(s: Session, platform: str, chat_id: str | None, event_id: str, error: str, now: datetime) -> None:
    groups = list(s.scalars(select(Group).where(Group.platform == platform, Group.active.is_(True),
                                                *([Group.chat_id == chat_id] if chat_id else []))))
    if not groups:     # a 1:1 chat (or an ungoverned one): the admins of every group on the platform
        groups = list(s.scalars(select(Group).where(Group.platform == platform, Group.active.is_(True))))
    told: set[str] = set()
    for group in groups:
        for person in people_with_role(s, group.id, "admin"):
            admin = account_on(person, platform)
            if admin is None or admin.user_id in told:
                continue
            told.add(admin.user_id)
            enqueue(s, SendPrivate(platform, admin.user_id,
                                   t(group.locale, "ingest.set_aside", platform=platform, event_id=event_id,
                                     error=error)),
                    key=f"dead:{platform}:{event_id}:{admin.user_id}"[:200], now=now, group_id=group.id)


def count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(DeadEvent)) or 0


def listed(s: Session, limit: int = 100) -> list[DeadEvent]:
    return list(s.scalars(select(DeadEvent).order_by(DeadEvent.id.desc()).limit(limit)))


def replay(ctx: CoreContext, handle_one, ids: list[int] | None = None) -> tuple[int, int]:
    """Hand set-aside events to `handle_one` again (after the cause was fixed); returns (stored, still
    failing). What is stored leaves the table; what fails again stays, with its new error."""
    stored = failing = 0
    with ctx.sessions() as s:
        rows = [(d.id, d.platform, d.event_id, d.event) for d in s.scalars(
            select(DeadEvent).where(*([DeadEvent.id.in_(ids)] if ids else [])).order_by(DeadEvent.id))]
    for row_id, platform, event_id, data in rows:
        with ctx.sessions() as s, s.begin():   # the delivery mark goes, or ingest would call it a duplicate
            s.execute(delete(InboundEvent).where(InboundEvent.platform == platform, InboundEvent.event_id == event_id))
        try:
            handle_one(event_from_dict(data))
        except Exception as exc:
            failing += 1
            with ctx.sessions() as s, s.begin():
                dead = s.get(DeadEvent, row_id)
                dead.error, dead.attempts = describe(exc), dead.attempts + 1
                insert_many_ignore(s, InboundEvent, [dict(platform=platform, event_id=event_id, kind=dead.kind,
                                                          received_at=ctx.clock.now())], ("platform", "event_id"))
            continue
        stored += 1
        with ctx.sessions() as s, s.begin():
            s.execute(delete(DeadEvent).where(DeadEvent.id == row_id))
    return stored, failing
