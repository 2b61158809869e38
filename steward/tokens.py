"""A TokenStore in the database, so every web process and worker shares one platform token."""
from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.db.models import CachedToken

PURGE_EVERY_S = 600.0   # at most this often per process, a write also deletes the expired entries

class DbTokenStore:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock
        self._next_purge = 0.0

    def get(self, key: str) -> str | None:
        with self.sessions() as s:
            row = s.get(CachedToken, key)
            if row is None or row.expires_at <= self.clock.now():
                return None
            return row.value

    def set(self, key: str, value: str, expires_at: datetime) -> None:
        with self.sessions.begin() as s:
            s.merge(CachedToken(key=key, value=value, expires_at=expires_at))
            if time.monotonic() >= self._next_purge:    # short-lived entries (reply URLs) must not pile up
                self._next_purge = time.monotonic() + PURGE_EVERY_S
                s.execute(delete(CachedToken).where(CachedToken.expires_at <= self.clock.now()))

    def delete(self, key: str) -> None:
        with self.sessions.begin() as s:
            s.execute(delete(CachedToken).where(CachedToken.key == key))
