"""Member profiles from users.info (name, title, email), cached in memory for a while.

users.info is Tier 4 (100+/minute) and profiles change rarely; `user_change` events drop an entry
early so a renamed or re-titled member is read again on next use.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from connectors.slack.client import SlackApi
from core.clock import Clock
from core.errors import PermanentDeliveryError
from core.ports import Profile

DEFAULT_TTL = timedelta(hours=1)
MAX_ENTRIES = 10_000


def profile_from_user(user: dict) -> Profile:
    """name: the real name, else the display name, else the handle; position: the profile's title;
    email needs users:read.email. Slack has no standard department field."""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    name = (profile.get("real_name") or user.get("real_name") or profile.get("display_name")
            or user.get("name") or user.get("id") or "")
    return Profile(
        user_id=str(user.get("id") or ""), name=str(name) or None,
        position=profile.get("title") or None, email=profile.get("email") or None,
        deleted=bool(user.get("deleted")),
    )


class ProfileCache:
    def __init__(self, api: SlackApi, clock: Clock, ttl: timedelta = DEFAULT_TTL) -> None:
        self._api = api
        self._clock = clock
        self._ttl = ttl
        self._items: dict[str, tuple[Profile, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> Profile | None:
        """The profile, or None when Slack knows no such user. Other failures raise delivery errors."""
        now = self._clock.now()
        with self._lock:
            hit = self._items.get(user_id)
            if hit and hit[1] > now:
                return hit[0]
        try:
            data = self._api.call("users.info", user=user_id)
        except PermanentDeliveryError as exc:
            if exc.code in ("user_not_found", "user_not_visible"):
                return None
            raise
        profile = profile_from_user(data.get("user") if isinstance(data.get("user"), dict) else {})
        with self._lock:
            if len(self._items) >= MAX_ENTRIES:
                self._items = {k: v for k, v in self._items.items() if v[1] > now}
                if len(self._items) >= MAX_ENTRIES:
                    self._items.clear()
            self._items[user_id] = (profile, now + self._ttl)
        return profile

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._items.pop(user_id, None)
