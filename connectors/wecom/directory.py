"""Profiles from the WeCom directory: `user/get`, department names via `department/get`, cached.

Apps created after 2022-06-20 get no avatar, gender, mobile or e-mail from `user/get`
(doc 90196); name, departments and position are what R2.1.3 needs.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from connectors.wecom.client import WeComApi
from core.clock import Clock
from core.errors import PermanentDeliveryError
from core.ports import Profile

UNKNOWN_USER = frozenset({"60111", "46004"})       # userid not found / user does not exist


class Directory:
    def __init__(self, api: WeComApi, clock: Clock, ttl_seconds: int = 3600) -> None:
        self._api = api
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._users: dict[str, tuple[Profile, datetime]] = {}
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
            result = self._api.department_get(department_id)
            name = (result.get("department") or {}).get("name") or str(department_id)
            self._remember(self._departments, department_id, name)
        return name

    def user_profile(self, user_id: str) -> Profile | None:
        """The profile, or None when WeCom knows no such user (60111, 46004); other refusals raise."""
        profile = self._cached(self._users, user_id)
        if profile is not None:
            return profile
        self._api.pace(("wecom:api:user/get", "9000/minute"))
        try:
            data = self._api.user_get(user_id)
        except PermanentDeliveryError as exc:
            if exc.code in UNKNOWN_USER:
                return None
            raise
        ids = [int(d) for d in data.get("department") or []]
        main = data.get("main_department")
        if main in ids:
            ids.remove(main)
            ids.insert(0, main)
        departments = tuple(self.department_name(d) for d in ids)
        profile = Profile(
            user_id=data.get("userid") or user_id,
            name=data.get("name") or user_id,
            department=departments[0] if departments else None,
            departments=departments,
            position=data.get("position") or None,
            department_ids=tuple(str(d) for d in ids),
            # with the contact-read permission (通讯录读取): the work e-mail, else the company mailbox
            email=data.get("email") or data.get("biz_mail") or None,
            mobile=data.get("mobile") or None,
            deleted=data.get("status") in (2, 5),      # 2 disabled, 5 left the organisation
        )
        self._remember(self._users, user_id, profile)
        return profile

    def forget(self, user_id: str) -> None:
        """Drop a cached profile (after a UserChanged event)."""
        with self._lock:
            self._users.pop(user_id, None)
