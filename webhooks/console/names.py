"""Names instead of ids, and times in the deployment's time zone, for the console's pages."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Group, Person

_PERSON = re.compile(r"^(?:(?P<channel>[a-z]+):)?person:(?P<id>\d+)$")


class Names:
    """Looks people and groups up once per page."""

    def __init__(self, s: Session, timezone: str) -> None:
        self.s = s
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self._people: dict[int, str] = {}
        self._groups: dict[int, str] = {}

    def person(self, person_id: int | None) -> str:
        if person_id is None:
            return ""
        if person_id not in self._people:
            person = self.s.get(Person, person_id)
            self._people[person_id] = person.name if person is not None else f"#{person_id}"
        return self._people[person_id]

    def group(self, group_id: int | None) -> str:
        if group_id is None:
            return ""
        if group_id not in self._groups:
            group = self.s.get(Group, group_id)
            self._groups[group_id] = group.name if group is not None else f"#{group_id}"
        return self._groups[group_id]

    def actor(self, actor: str | None) -> str:
        """`person:12` → the name; `console:person:12` → the name (console); detectors and systems as is."""
        m = _PERSON.match(actor or "")
        if m is None:
            return actor or ""
        name = self.person(int(m.group("id")))
        return f"{name} ({m.group('channel')})" if m.group("channel") else name

    def time(self, at: datetime | None) -> str:
        return "" if at is None else at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    def all_groups(self) -> list[Group]:
        return list(self.s.scalars(select(Group).order_by(Group.id)))
