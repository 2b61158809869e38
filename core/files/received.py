"""Files members send Steward (R5.2.1, R5.2.2 submissions; R3.1.3, R7.2.2 shared materials).

The webhook only records the file (`receive`, one insert and one scheduled job); the worker fetches it
through the platform's file API with a limit (the platform's, and `assessment.max_file_mb`), stores it
by its SHA-256 and tells the member privately what arrived and how to hand it in. A command sent with
the file (Slack: a comment `submit 2`, or `@steward share` on a file in a channel) runs once it is stored.
`submit N` and `share` use the member's latest file (`latest`).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import ScheduledJob
from core.db.upsert import insert_ignore
from core.errors import FileTooLarge, PermanentDeliveryError, RetryableDeliveryError, UnsupportedAction
from core.events import FileRef, MessagePosted
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import group_for
from core.kernel.files import MIB, ReceivedFile, human_size
from core.kernel.identity import after_commit
from core.kernel.outbox import enqueue
from core.kernel.parser import CommandError
from core.kernel.roster import locale_of
from core.kernel.scheduler import schedule

log = logging.getLogger("steward.files")

FETCH_JOB = "files.fetch"
MAX_ATTEMPTS = 5
INTENTS = frozenset({"submit", "share"})


# --- the hot path: record, schedule -------------------------------------------------------------------

def _intent(ctx: CoreContext, e: MessagePosted) -> str | None:
    """A `submit N` or `share …` typed with the file (never the file name WeCom and DingTalk put in text)."""
    text = e.text.strip()
    if not text or text in {f.name for f in e.files}:
        return None
    try:
        name = ctx.features.grammar.parse(text).name
    except CommandError:
        return None
    return text if name in INTENTS and (e.is_direct or name == "share") else None


def receive(ctx: CoreContext, s: Session, e: MessagePosted, person_id: int) -> bool:
    """Record the message's files and schedule their fetch; True when Steward took them (a 1:1 chat, or a
    `share` addressed to Steward in a group), so the message needs no other answer now."""
    intent = _intent(ctx, e)
    if not e.is_direct and not (e.addressed and intent):
        return False
    now = ctx.clock.now()
    for i, ref in enumerate(e.files):
        message_id = e.message_id if i == 0 else f"{e.message_id}#{i}"
        values = dict(platform=e.platform, message_id=message_id[:128], chat_id=e.chat_id[:128],
                      user_id=e.user_id[:128], person_id=person_id, handle=ref.handle[:2000],
                      name=(ref.name or "file")[:255], mime=ref.mime[:128] if ref.mime else None, size=ref.size,
                      status="pending", intent=intent if i == len(e.files) - 1 else None, attempts=0,
                      received_at=now)
        if insert_ignore(s, ReceivedFile, values):   # a redelivered message fetches nothing twice
            schedule(s, key=_job_key(e.platform, message_id, 1), kind=FETCH_JOB, due_at=now, now=now,
                     payload={"platform": e.platform, "message_id": message_id[:128]})
    return True


def _job_key(platform: str, message_id: str, attempt: int) -> str:
    return f"{FETCH_JOB}:{platform}:{message_id}:{attempt}"


# --- the worker: fetch, store, answer ----------------------------------------------------------------

def fetch_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    """Job `files.fetch`. The next attempt is scheduled first (it is also the watchdog should this worker
    die mid-download; after the last attempt it only marks a fetch that never finished as failed); the
    download itself runs once this transaction has committed, so the connector's token writes never wait
    for our own lock."""
    row = s.scalar(select(ReceivedFile).where(ReceivedFile.platform == payload["platform"],
                                              ReceivedFile.message_id == payload["message_id"]))
    if row is None or row.status != "pending":
        return
    if row.attempts >= MAX_ATTEMPTS:     # the watchdog after the last attempt: that one never finished
        row_id = row.id
        after_commit(s, lambda: _finish(ctx, row_id, "failed", error=f"not fetched after {MAX_ATTEMPTS} attempts"))
        return
    now = ctx.clock.now()
    row.attempts += 1
    last = row.attempts >= MAX_ATTEMPTS
    schedule(s, key=_job_key(row.platform, row.message_id, row.attempts + 1), kind=FETCH_JOB,
             due_at=now + _backoff(row.attempts), now=now, payload=dict(payload))
    ref = FileRef(row.handle, row.name, row.size, row.mime)
    row_id, platform, attempt = row.id, row.platform, row.attempts
    after_commit(s, lambda: _fetch(ctx, row_id, platform, ref, attempt, last))


def _backoff(attempt: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** (attempt - 1)))


def limit_bytes(ctx: CoreContext, platform: str) -> int:
    """The smaller of the platform's per-file limit and `assessment.max_file_mb` (R5.2.2)."""
    return min(ctx.caps(platform).max_file_bytes, ctx.config.assessment.max_file_mb * MIB)


def _fetch(ctx: CoreContext, row_id: int, platform: str, ref: FileRef, attempt: int, last: bool) -> None:
    limit = limit_bytes(ctx, platform)
    source = ctx.file_sources.get(platform)
    try:
        if source is None or ctx.files is None:
            raise UnsupportedAction(f"{platform}: files cannot be fetched here")
        if ref.size is not None and ref.size > limit:
            raise FileTooLarge(limit, ref.size)      # the platform says so: no download at all
        data = source.fetch_file(ref, limit)
        if len(data) > limit:
            raise FileTooLarge(limit, len(data))
        sha256 = ctx.files.put(data)
    except FileTooLarge as exc:
        return _finish(ctx, row_id, "too_large", size=exc.seen_bytes, error=f"over {limit} bytes")
    except (PermanentDeliveryError, UnsupportedAction) as exc:
        return _finish(ctx, row_id, "failed", error=str(exc))
    except (RetryableDeliveryError, OSError) as exc:
        if last:
            return _finish(ctx, row_id, "failed", error=f"{exc} (after {attempt} attempts)")
        return _retry_later(ctx, row_id, platform, attempt, exc)
    except Exception as exc:   # an unexpected SDK error: the next attempt may fare better
        log.exception("fetching received file %s failed", row_id)
        if last:
            return _finish(ctx, row_id, "failed", error=f"{type(exc).__name__} (after {attempt} attempts)")
        return _retry_later(ctx, row_id, platform, attempt, exc)
    _finish(ctx, row_id, "stored", sha256=sha256, size=len(data))


def _retry_later(ctx: CoreContext, row_id: int, platform: str, attempt: int, exc: Exception) -> None:
    """The next attempt is already scheduled; keep the error, and wait as long as the platform asked."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as s:
        row = s.get(ReceivedFile, row_id)
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            s.execute(update(ScheduledJob).where(
                ScheduledJob.key == _job_key(platform, row.message_id, attempt + 1)[:200],
                ScheduledJob.status == "pending",
                ScheduledJob.due_at < now + timedelta(seconds=retry_after),
            ).values(due_at=now + timedelta(seconds=retry_after)))


def _finish(ctx: CoreContext, row_id: int, status: str, *, sha256: str | None = None, size: int | None = None,
            error: str | None = None) -> None:
    now = ctx.clock.now()
    with ctx.sessions.begin() as s:
        values: dict[str, Any] = dict(status=status, error=error[:2000] if error else None)
        if sha256 is not None:
            values.update(sha256=sha256, stored_at=now)
        if size is not None:
            values["size"] = size
        done = s.execute(update(ReceivedFile).where(ReceivedFile.id == row_id, ReceivedFile.status == "pending")
                         .values(**values)).rowcount
        if done != 1:
            return   # another attempt finished first
        row = s.get(ReceivedFile, row_id)
        s.refresh(row)
        _answer(ctx, s, row, now)


def _answer(ctx: CoreContext, s: Session, row: ReceivedFile, now: datetime) -> None:
    locale = locale_of(s, row.person_id, ctx.config.locale)
    share = bool(row.intent) and ctx.features.grammar.parse(row.intent).name == "share"
    if row.status == "stored":
        audit.record(s, at=now, actor=f"person:{row.person_id}", action="file.stored",
                     clause="R3.1.3" if share else "R5.2.1", person_id=row.person_id, file=row.id,
                     name=row.name, size=row.size, sha256=row.sha256)
        text = t(locale, "files.stored", name=row.name, size=human_size(row.size or 0), sha=row.sha256[:12])
        if not row.intent:
            text += "\n" + how_to_hand_in(ctx, s, row.person_id, now, locale)
    else:
        key = "files.too_large" if row.status == "too_large" else "files.failed"
        audit.record(s, at=now, actor=f"{row.platform}:files", action=f"file.{row.status}",
                     clause="R5.2.2" if row.status == "too_large" else "R5.2.1", person_id=row.person_id,
                     file=row.id, name=row.name, error=row.error)
        text = t(locale, key, name=row.name, limit=human_size(limit_bytes(ctx, row.platform)),
                 platform=row.platform, reason=(row.error or "-")[:200])
    enqueue(s, SendPrivate(row.platform, row.user_id, text), key=f"files.answer:{row.id}", now=now)
    if row.status == "stored" and row.intent:
        _run_intent(ctx, s, row)


def _run_intent(ctx: CoreContext, s: Session, row: ReceivedFile) -> None:
    from core.kernel.runner import CommandRunner, Invocation  # the commands import the features
    group = group_for(s, row.platform, row.chat_id)
    CommandRunner(ctx, s).run(Invocation(row.platform, f"file:{row.id}", row.user_id, row.intent or "",
                                         row.chat_id if group else None, is_direct=group is None))


def how_to_hand_in(ctx: CoreContext, s: Session, person_id: int, now: datetime, locale: str) -> str:
    """What the features can do with a file (`submit N` for an open assignment R5.2.1, `share` R3.1.3)."""
    return "\n".join(line for use in ctx.features.file_uses for line in use(s, person_id, now, locale))
