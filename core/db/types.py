"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC; refuses naive input so no local time sneaks in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def naive_utc(value: datetime) -> datetime:
    """An aware datetime as naive UTC, as the column stores it; a naive one is refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.tzinfo is timezone.utc:     # the clock's own: no conversion (several per inbound event)
        return value.replace(tzinfo=None)
    return value.astimezone(timezone.utc).replace(tzinfo=None)
