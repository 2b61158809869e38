"""A training's dates in its time zone (R5, R6). Who belongs to it is the kernel's roster
(core/kernel/roster.py)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.kernel.roster import groups_of

_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?$")


def zone(s: Session, training_id: int) -> ZoneInfo:
    groups = groups_of(s, training_id)
    return ZoneInfo(groups[0].timezone if groups else "UTC")


def parse_when(text: str, tz: ZoneInfo) -> datetime | None:
    """`2026-11-10 18:00` (or a date alone: 23:59 that day) in the training's time zone, as UTC."""
    m = _DATE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi = m.groups()
    try:
        local = datetime(int(y), int(mo), int(d), int(h) if h else 23, int(mi) if mi else 59, tzinfo=tz)
    except ValueError:
        return None
    return local.astimezone(timezone.utc)


def show_when(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
