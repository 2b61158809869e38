"""Deadlines in working hours (R4.3.1): counted only on working days between the day's start and end,
in the group's time zone. The calendar is the working weekdays, less public holidays, plus the weekend
days worked instead (调休)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


def add_working_hours(start: datetime, hours: float, tz: str, days: tuple[int, ...],
                      day_start: str, day_end: str, holidays: Collection[date] = (),
                      extra_workdays: Collection[date] = ()) -> datetime:
    zone = ZoneInfo(tz)
    opens, closes = time.fromisoformat(day_start), time.fromisoformat(day_end)
    left = timedelta(hours=hours)
    cursor = start.astimezone(zone)
    for _ in range(3700):   # ten years of days: a bound, never reached with a sane calendar
        day = cursor.date()
        if (day.weekday() in days and day not in holidays) or day in extra_workdays:
            begin = datetime.combine(day, opens, zone)
            end = datetime.combine(day, closes, zone)
            cursor = max(cursor, begin)
            if cursor < end:
                if cursor + left <= end:
                    return (cursor + left).astimezone(timezone.utc)
                left -= end - cursor
        cursor = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError("no working hours in the calendar")
