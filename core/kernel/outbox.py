"""Writing actions to the outbox, in the caller's transaction.

A row whose key starts with FORGET is delivered like any other, then loses its recipient and text
(`forgotten`): the thank-you for anonymous feedback must not tell a later reader of the database who
gave feedback that day (R2.3.3).
"""
from __future__ import annotations

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
        idempotency_key=key[:200], platform=action.platform, action=action.to_dict(), group_id=group_id,
        case_number=case_number, status="pending", attempts=0, next_attempt_at=now, created_at=now))


FORGET = "forget:"


def forgotten(action: dict) -> dict:
    """The stored action once delivered, with nothing left that names a person or repeats what was said."""
    return {k: ("" if k in ("user_id", "text", "title") and v else v) for k, v in action.items()}
