"""Flood and repeat counting in Redis, so every web process counts the same sender together.

Redis away (restarting, a network cut) must not stop Steward from taking messages: meanwhile each process
counts in its own memory (a flood spread over several processes may go unnoticed for that while), logs a
warning, and goes back to Redis as soon as it answers.

One sorted set per (chat, sender) and one per (chat, sender, fingerprint), scored by time;
entries older than the horizon are trimmed on write and the keys expire on their own.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime

import redis

from core.moderation.flood import MemoryRecentMessages

log = logging.getLogger("steward.redis")

HORIZON_SECONDS = 2 * 3600


class RedisRecentMessages:
    def __init__(self, url: str, prefix: str = "steward:recent") -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self._fallback = MemoryRecentMessages()
        self._warned = 0.0

    def _away(self, exc: Exception) -> MemoryRecentMessages:
        if time.monotonic() - self._warned > 60:
            self._warned = time.monotonic()
            log.warning("Redis unavailable (%s): flood counting in this process only until it answers",
                        type(exc).__name__)
        return self._fallback

    def ping(self) -> None:
        self.client.ping()

    def _keys(self, chat: str, sender: str, fingerprint: str | None = None) -> str:
        base = f"{self.prefix}:{chat}:{sender}"
        return base if fingerprint is None else f"{base}:{fingerprint}"

    def record(self, chat: str, sender: str, fingerprint: str, at: datetime, message: str | None = None) -> None:
        try:
            self._record(chat, sender, fingerprint, at, message)
        except redis.RedisError as exc:
            self._away(exc).record(chat, sender, fingerprint, at, message)

    def count(self, chat: str, sender: str, since: datetime, fingerprint: str | None = None) -> int:
        try:
            return int(self.client.zcount(self._keys(chat, sender, fingerprint), since.timestamp(), "+inf"))
        except redis.RedisError as exc:
            return self._away(exc).count(chat, sender, since, fingerprint)

    def counts(self, chat: str, sender: str, since: datetime, fingerprint: str,
               since_same: datetime, enough: int | None = None) -> tuple[int, int]:
        try:
            return self._counts(chat, sender, since, fingerprint, since_same)
        except redis.RedisError as exc:
            return self._away(exc).counts(chat, sender, since, fingerprint, since_same, enough)

    def _record(self, chat: str, sender: str, fingerprint: str, at: datetime, message: str | None) -> None:
        # a message's key as the member, without its time (a message without a send time is stamped when
        # it is decided): recording it again, here or in another process, adds nothing to the sorted set
        score = at.timestamp()
        member = f"{score}:{uuid.uuid4().hex[:8]}" if message is None else f"m:{message}"
        pipe = self.client.pipeline(transaction=False)
        for key in (self._keys(chat, sender), self._keys(chat, sender, fingerprint)):
            pipe.zadd(key, {member: score})
            pipe.zremrangebyscore(key, "-inf", score - HORIZON_SECONDS)
            pipe.expire(key, HORIZON_SECONDS)
        pipe.execute()

    def _counts(self, chat: str, sender: str, since: datetime, fingerprint: str,
                since_same: datetime) -> tuple[int, int]:
        """Sorted-set counts are O(log n): `enough` (the memory store's early stop) is not needed."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zcount(self._keys(chat, sender), since.timestamp(), "+inf")
        pipe.zcount(self._keys(chat, sender, fingerprint), since_same.timestamp(), "+inf")
        total, same = pipe.execute()
        return int(total), int(same)
