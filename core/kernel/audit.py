"""The append-only audit log: every decision and every admin action lands here."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.db.models import AuditEntry


def record(session: Session, *, at: datetime, actor: str, action: str, clause: str | None = None,
           group_id: int | None = None, person_id: int | None = None, case_number: str | None = None,
           **detail: Any) -> AuditEntry:
    entry = AuditEntry(at=at, actor=actor, action=action, clause=clause, group_id=group_id,
                       person_id=person_id, case_number=case_number, detail=detail)
    session.add(entry)
    return entry
