"""Export of the audit log for HR, legal and auditors (R8.2.3)."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import AuditEntry

FIELDS = ("id", "at", "actor", "action", "clause", "group_id", "person_id", "case_number", "detail", "timezone")


def export(sessions: sessionmaker[Session], out: TextIO, fmt: str, since: datetime | None = None,
           until: datetime | None = None, tz: str = "UTC") -> int:
    """Every entry from `since` to before `until` (aware moments; naive ones are read in `tz`), its time
    shown in `tz` with the offset, and the zone named on every row."""
    zone = ZoneInfo(tz)
    query = select(AuditEntry).order_by(AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= _aware(since, zone))
    if until is not None:
        query = query.where(AuditEntry.at < _aware(until, zone))
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(FIELDS)
    count = 0
    with sessions() as s:
        for entry in s.scalars(query.execution_options(yield_per=500)):
            row = {"id": entry.id, "at": entry.at.astimezone(zone).isoformat(), "actor": entry.actor,
                   "action": entry.action, "clause": entry.clause, "group_id": entry.group_id,
                   "person_id": entry.person_id, "case_number": entry.case_number, "detail": entry.detail,
                   "timezone": tz}
            if writer:
                writer.writerow([json.dumps(row[f], ensure_ascii=False) if f == "detail" else row[f] for f in FIELDS])
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(timezone.utc)
