"""Writing actions to the outbox, in the caller's transaction.

A row whose key starts with FORGET is delivered like any other, then loses its recipient and text
(`forgotten`): the thank-you for anonymous feedback must not tell a later reader of the database who
gave feedback that day (R2.3.3).
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from core.actions import Action
from core.db.models import OutboxItem
from core.db.upsert import insert_ignore


def enqueue(session: Session, action: Action, *, key: str, now: datetime,
            group_id: int | None = None, case_number: str | None = None) -> bool:
    """Queue `action` once: the idempotency key is unique, a second enqueue keeps the first row and
    returns False. One INSERT ... ON CONFLICT DO NOTHING (a warning, say, queues several actions in the
    message path: an ORM read and flush for each cost more than the rest of the ladder)."""
    return insert_ignore(session, OutboxItem, dict(
        idempotency_key=stored_key(key), platform=action.platform, action=_no_nul(action.to_dict()),
        group_id=group_id, case_number=case_number, status="pending", attempts=0, next_attempt_at=now,
        created_at=now))


KEY_MAX = 200


def stored_key(key: str) -> str:
    """The key as the column holds it: a longer one keeps its start and a digest of the whole, so two long keys
    that differ only after the 200th character stay two actions."""
    if len(key) <= KEY_MAX:
        return key
    return f"{key[:150]}~{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}"


def _no_nul(value):
    """PostgreSQL's text holds no NUL character: one in a text to send (a member's name, say) is dropped, as
    the messengers would not show it anyway."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _no_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nul(v) for v in value]
    return value


FORGET = "forget:"


def forgotten(action: dict) -> dict:
    """The stored action once delivered, with nothing left that names a person or repeats what was said."""
    return {k: ("" if k in ("user_id", "text", "title") and v else v) for k, v in action.items()}
