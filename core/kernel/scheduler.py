"""Scheduled work (reminders, deadlines, digests) lives in the database, never only in memory.

Later features register a handler per job kind; the worker runs what is due, once per key.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.db.models import ScheduledJob
from core.db.upsert import insert_ignore, insert_many_ignore
from core.kernel.context import CoreContext

log = logging.getLogger("steward.scheduler")

JobHandler = Callable[[CoreContext, Session, dict[str, Any]], None]


def schedule(session: Session, *, key: str, kind: str, due_at: datetime, now: datetime,
             payload: dict[str, Any] | None = None) -> bool:
    """Idempotent on `key`: scheduling the same job twice keeps the first. True when it is new.

    One INSERT ... ON CONFLICT DO NOTHING: this runs in the message path (question tracking)."""
    return insert_ignore(session, ScheduledJob, dict(
        key=key[:200], kind=kind, payload=payload or {}, due_at=due_at, status="pending", attempts=0,
        locked_until=None, last_error=None, created_at=now))


_LATER = "steward.scheduled_later"


def schedule_later(session: Session, *, key: str, kind: str, due_at: datetime, now: datetime,
                   payload: dict[str, Any] | None = None) -> None:
    """`schedule`, written with the other jobs of this transaction in one statement by
    `write_scheduled` (inbound.ingest_many calls it before it commits: the message path's jobs)."""
    session.info.setdefault(_LATER, []).append(dict(
        key=key[:200], kind=kind, payload=payload or {}, due_at=due_at, status="pending", attempts=0,
        locked_until=None, last_error=None, created_at=now))


def write_scheduled(session: Session) -> None:
    rows = scheduled_later(session)
    if rows:
        insert_many_ignore(session, ScheduledJob, rows, ("key",))


def scheduled_later(session: Session) -> list[dict[str, Any]]:
    """The rows `schedule_later` kept for this transaction, taken (whoever takes them writes them)."""
    return session.info.pop(_LATER, None) or []


def run_due(ctx: CoreContext, handlers: Mapping[str, JobHandler], limit: int = 20,
            lease_seconds: int = 300, max_attempts: int = 5) -> int:
    """Run due jobs; each job's handler runs in one transaction with its status change."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as s:
        due = list(s.scalars(select(ScheduledJob.id).where(
            ScheduledJob.status == "pending", ScheduledJob.due_at <= now,
            or_(ScheduledJob.locked_until.is_(None), ScheduledJob.locked_until < now),
        ).order_by(ScheduledJob.due_at, ScheduledJob.id).limit(limit)))
    ran = 0
    for job_id in due:
        with ctx.sessions.begin() as s:
            claimed = s.execute(update(ScheduledJob).where(
                ScheduledJob.id == job_id, ScheduledJob.status == "pending",
                or_(ScheduledJob.locked_until.is_(None), ScheduledJob.locked_until < now),
            ).values(locked_until=now + timedelta(seconds=lease_seconds))).rowcount
        if claimed != 1:
            continue
        ran += 1
        try:
            with ctx.sessions.begin() as s:
                job = s.get(ScheduledJob, job_id)
                handler = handlers.get(job.kind)
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                handler(ctx, s, dict(job.payload))
                job.status, job.attempts, job.locked_until = "done", job.attempts + 1, None
        except Exception as exc:
            log.exception("scheduled job %s failed", job_id)
            with ctx.sessions.begin() as s:
                job = s.get(ScheduledJob, job_id)
                job.attempts += 1
                job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                job.locked_until = None
                if job.attempts >= max_attempts:
                    job.status = "failed"
                else:
                    job.due_at = now + retry_delay(job.attempts)
    return ran


def retry_delay(attempts: int) -> timedelta:
    """How long a job that failed `attempts` times waits before its next attempt."""
    return timedelta(seconds=30 * 2 ** attempts)
