"""The ReplayGuard (core/ports.py) every process shares: a row per accepted signature in the database (a
primary key makes the first writer win), or a key in Redis when STEWARD_REDIS_URL is set."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.db.models import SeenSignature

PURGE_EVERY_S = 300.0


class DbReplayGuard:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock
        self._next_purge = 0.0

    def first_use(self, key: str, ttl_seconds: float, fingerprint: str = "") -> bool:
        now = self.clock.now()
        expires = now + timedelta(seconds=ttl_seconds)
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY_S
            with self.sessions.begin() as s:
                s.execute(delete(SeenSignature).where(SeenSignature.expires_at <= now))
        try:
            with self.sessions.begin() as s:
                s.add(SeenSignature(key=key, fingerprint=fingerprint, expires_at=expires))
            return True
        except IntegrityError:
            pass
        with self.sessions.begin() as s:
            row = s.scalar(select(SeenSignature).where(SeenSignature.key == key).with_for_update())
            if row is None or row.expires_at <= now:      # expired (or purged) meanwhile: a new first use
                if row is not None:
                    s.delete(row)
                    s.flush()
                s.add(SeenSignature(key=key, fingerprint=fingerprint, expires_at=expires))
                return True
            return row.fingerprint == fingerprint


class RedisReplayGuard:
    def __init__(self, url: str) -> None:
        import redis
        self._redis = redis.Redis.from_url(url)

    def first_use(self, key: str, ttl_seconds: float, fingerprint: str = "") -> bool:
        name = f"steward:seen:{key}"
        if self._redis.set(name, fingerprint, nx=True, px=max(1, int(ttl_seconds * 1000))):
            return True
        seen = self._redis.get(name)
        return seen is None or seen.decode("utf-8", "replace") == fingerprint


def replay_guard(sessions: sessionmaker[Session], clock: Clock, redis_url: str | None):
    return RedisReplayGuard(redis_url) if redis_url else DbReplayGuard(sessions, clock)
