"""Profiles from the WeCom directory: `user/get`, department names via `department/get`, cached.

Apps created after 2022-06-20 get no avatar, gender, mobile or e-mail from `user/get`
(doc 90196); name, departments and position are what R2.1.3 needs.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock

from connectors.wecom.client import WeComApi


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    name: str
    departments: tuple[str, ...]          # department names, main department first
    position: str = ""
    department_ids: tuple[int, ...] = ()


class Directory:
    def __init__(self, api: WeComApi, clock: Clock, ttl_seconds: int = 3600) -> None:
        self._api = api
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._users: dict[str, tuple[UserProfile, datetime]] = {}
        self._departments: dict[int, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def _cached(self, cache: dict, key):
        with self._lock:
            item = cache.get(key)
            if item is not None and item[1] > self._clock.now():
                return item[0]
        return None

    def _remember(self, cache: dict, key, value) -> None:
        with self._lock:
            cache[key] = (value, self._clock.now() + self._ttl)

    def department_name(self, department_id: int) -> str:
        name = self._cached(self._departments, department_id)
        if name is None:
            self._api.pace(("wecom:api:department/get", "9000/minute"))
            result = self._api.call("department/get", lambda c: c.get("department/get", params={"id": department_id}))
            name = (result.get("department") or {}).get("name") or str(department_id)
            self._remember(self._departments, department_id, name)
        return name

    def user_profile(self, user_id: str) -> UserProfile:
        profile = self._cached(self._users, user_id)
        if profile is not None:
            return profile
        self._api.pace(("wecom:api:user/get", "9000/minute"))
        data = self._api.call("user/get", lambda c: c.user.get(user_id))
        ids = [int(d) for d in data.get("department") or []]
        main = data.get("main_department")
        if main in ids:
            ids.remove(main)
            ids.insert(0, main)
        profile = UserProfile(
            user_id=data.get("userid") or user_id,
            name=data.get("name") or user_id,
            departments=tuple(self.department_name(d) for d in ids),
            position=data.get("position") or "",
            department_ids=tuple(ids),
        )
        self._remember(self._users, user_id, profile)
        return profile

    def forget(self, user_id: str) -> None:
        """Drop a cached profile (after a UserChanged event)."""
        with self._lock:
            self._users.pop(user_id, None)
