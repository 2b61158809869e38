"""Work for the worker on a message Steward archives, written in the message's own row.

R4.3.1's question watch leaves work for the worker on every group message that may ask or answer something.
A row of scheduled_jobs is a table and two indexes written for such a message, the largest part of storing
ordinary chat after the archive itself (docs/scale.md). The message's `job` column costs one entry in a
partial index instead, and the archive's ids order the jobs as the messages arrived, whichever path stored
them.

- `on_message`: on the plain path (core/kernel/inbound.py) the message's row is still to be written, and the
  job is written in it. Otherwise the row is there already: the transaction's jobs are set by one UPDATE
  before it commits (`write_deferred`). If a job is still pending on a row (an edit that arrived before the
  first version's job ran), the pending job stands, as the scheduler's key used to keep the first.
- `run_message_jobs`: the worker runs the jobs in the archive's order. Each runs in its own transaction,
  which also clears it; on PostgreSQL a row another worker holds is skipped (FOR UPDATE SKIP LOCKED). A
  job that fails is handed to the scheduler, and the scheduler's retries and failure record apply from then on.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Mapping

import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.db.failures import database_away
from core.db.models import ArchivedMessage, ScheduledJob
from core.db.upsert import insert_ignore
from core.events import MessagePosted
from core.kernel.context import CoreContext
from core.kernel.scheduler import JobHandler, retry_delay

log = logging.getLogger("steward.message_jobs")

#: session.info: the plain path's archive rows not yet written (list of dicts, set by core/kernel/inbound.py)
UNWRITTEN = "steward.unwritten_archive"
_BY_KEY = "steward.unwritten_archive_by_key"
_DEFERRED = "steward.message_jobs_deferred"


def on_message(s: Session, e: MessagePosted, kind: str, payload: dict[str, Any]) -> None:
    """Have the worker run job `kind` with `payload` once `e` is stored (its handler is the scheduler's)."""
    job = orjson.dumps({"kind": kind, "payload": payload}).decode()
    rows = s.info.get(UNWRITTEN)
    if rows is not None:
        cached = s.info.get(_BY_KEY)
        if cached is None or cached[0] is not rows:
            cached = s.info[_BY_KEY] = (rows, {(r["platform"], r["chat_id"], r["message_id"]): r for r in rows})
        row = cached[1].get((e.platform, e.chat_id, e.message_id))
        if row is not None:
            row["job"] = job      # also when written already: a decision that rolls back has them written again
            if not s.in_transaction():
                return
        elif not s.in_transaction():
            s.connection()        # not one of the batch's rows: its transaction begins, and sets the job at commit
    s.info.setdefault(_DEFERRED, []).append({"p": e.platform, "c": e.chat_id, "m": e.message_id, "j": job})


def write_deferred(s: Session) -> None:
    """The jobs `on_message` gave messages whose rows were written already, in one statement (executemany) for
    the transaction's batch: a batch of a spool holds hundreds of messages. A message whose job is still
    pending keeps it."""
    pending = s.info.pop(_DEFERRED, None)
    if pending:
        table = ArchivedMessage.__table__
        s.connection().execute(update(table).where(
            table.c.platform == bindparam("p"), table.c.chat_id == bindparam("c"),
            table.c.message_id == bindparam("m"), table.c.job.is_(None)).values(job=bindparam("j")), pending)


def run_message_jobs(ctx: CoreContext, handlers: Mapping[str, JobHandler], limit: int = 50) -> int:
    """Run the jobs on messages, oldest message first; returns how many were run or handed on."""
    with ctx.sessions.begin() as s:
        ids = list(s.scalars(select(ArchivedMessage.id).where(ArchivedMessage.job.is_not(None))
                            .order_by(ArchivedMessage.id).limit(limit)))
    done = 0
    for message_id in ids:
        try:
            with ctx.sessions.begin() as s:
                raw = _take(s, message_id)
                if raw is None:
                    continue      # another worker ran it
                job = _parse(raw)
                handler = handlers.get(job["kind"])
                if handler is None:
                    raise LookupError(f"no handler for job kind {job['kind']!r}")
                handler(ctx, s, job["payload"])
            done += 1
        except Exception as exc:
            if database_away(exc):
                raise             # the worker waits and tries again; the job is still on its message
            log.exception("job on message %s failed; handed to the scheduler", message_id)
            with ctx.sessions.begin() as s:
                if _hand_on(ctx, s, message_id, exc):
                    done += 1
    return done


def _take(s: Session, message_id: int) -> str | None:
    """The message's job as stored, cleared in this transaction (None when none is pending or another worker
    holds it)."""
    query = select(ArchivedMessage.job).where(ArchivedMessage.id == message_id, ArchivedMessage.job.is_not(None))
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    raw = s.scalar(query)
    if raw is not None:
        s.execute(update(ArchivedMessage).where(ArchivedMessage.id == message_id).values(job=None))
    return raw


def _parse(raw: str) -> dict[str, Any]:
    """{kind, payload}; ValueError for anything else (orjson's JSONDecodeError is one)."""
    job = orjson.loads(raw)
    if not (isinstance(job, dict) and isinstance(job.get("kind"), str) and isinstance(job.get("payload"), dict)):
        raise ValueError("not a job: {kind, payload}")
    return job


def _hand_on(ctx: CoreContext, s: Session, message_id: int, exc: BaseException) -> bool:
    """A job that failed on its message, as a scheduled job that failed once: retried later, then recorded.
    One that cannot even be read is recorded as failed at once, its text kept, so the worker goes on."""
    raw = _take(s, message_id)
    if raw is None:
        return False
    now: datetime = ctx.clock.now()
    try:
        job = _parse(raw)
    except ValueError as unreadable:
        insert_ignore(s, ScheduledJob, dict(
            key=f"unreadable:message:{message_id}", kind="unreadable", payload={"message": message_id, "raw": raw},
            due_at=now, status="failed", attempts=1, locked_until=None,
            last_error=f"{type(unreadable).__name__}: {unreadable}"[:2000], created_at=now))
        return True
    insert_ignore(s, ScheduledJob, dict(
        key=f"{job['kind']}:message:{message_id}"[:200], kind=job["kind"], payload=job["payload"],
        due_at=now + retry_delay(1), status="pending", attempts=1, locked_until=None,
        last_error=f"{type(exc).__name__}: {exc}"[:2000], created_at=now))
    return True
