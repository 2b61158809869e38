"""Shared state between processes: platform tokens in the database, rate limits in memory or Redis."""
from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest

from steward.ratelimit import LimitsRateLimiter
from steward.tokens import DbTokenStore

REDIS_URL = os.environ.get("STEWARD_TEST_REDIS_URL")


def test_db_token_store_shares_and_expires(container, clock):
    a = DbTokenStore(container.sessions, clock)
    b = DbTokenStore(container.sessions, clock)     # another process, same database
    a.set("wecom:token", "t1", clock.now() + timedelta(seconds=7200))
    assert b.get("wecom:token") == "t1"
    a.set("wecom:token", "t2", clock.now() + timedelta(seconds=7200))   # refresh overwrites
    assert b.get("wecom:token") == "t2"
    clock.advance(seconds=7201)
    assert b.get("wecom:token") is None
    a.set("k", "v", clock.now() + timedelta(hours=1))
    a.delete("k")
    assert b.get("k") is None


def test_expired_entries_do_not_pile_up(container, clock):
    """Short-lived entries (a WeCom AI bot's reply URL per @-mention) are deleted once expired."""
    from sqlalchemy import func, select

    from core.db.models import CachedToken

    store = DbTokenStore(container.sessions, clock)
    for n in range(5):
        store.set(f"reply:{n}", "https://example.invalid/r", clock.now() + timedelta(minutes=55))
    clock.advance(seconds=3600)
    fresh = DbTokenStore(container.sessions, clock)      # a process that has not purged yet
    fresh.set("wecom:token", "t", clock.now() + timedelta(seconds=7200))
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CachedToken)) == 1


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("Redis not available: set STEWARD_TEST_REDIS_URL (CI does)")
    try:
        import redis
        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as exc:
        if os.environ.get("STEWARD_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required in CI but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    return REDIS_URL


def test_memory_rate_limiter_paces_and_reports_the_wait():
    limiter, key = LimitsRateLimiter("memory://"), f"test:{uuid.uuid4().hex}"
    assert [limiter.acquire(key, "2/minute") for _ in range(2)] == [0, 0]
    assert 0 < limiter.acquire(key, "2/minute") <= 60


def test_redis_rate_limiter_is_shared_between_processes(redis_url):
    first, second, key = LimitsRateLimiter(redis_url), LimitsRateLimiter(redis_url), f"test:{uuid.uuid4().hex}"
    assert first.acquire(key, "2/minute") == 0
    assert second.acquire(key, "2/minute") == 0
    assert 0 < first.acquire(key, "2/minute") <= 60   # the window is shared


def test_redis_flood_counting_is_shared_between_processes(redis_url, clock):
    from datetime import timedelta

    from steward.recent_redis import RedisRecentMessages

    chat = f"test:{uuid.uuid4().hex}"
    web1, web2 = RedisRecentMessages(redis_url), RedisRecentMessages(redis_url)
    for n in range(3):
        (web1 if n % 2 else web2).record(chat, "bob", "fp-ad", clock.now() + timedelta(seconds=n))
    web1.record(chat, "bob", "fp-other", clock.now() + timedelta(seconds=3))
    since = clock.now() - timedelta(seconds=1)
    assert web2.count(chat, "bob", since) == 4
    assert web2.count(chat, "bob", since, "fp-ad") == 3
    assert web1.counts(chat, "bob", clock.now() + timedelta(seconds=2), "fp-ad", since) == (2, 3)
    assert web1.count(chat, "alice", since) == 0


def test_one_message_decided_in_two_processes_counts_once(redis_url, clock):
    """A message decided twice (a batch decided again after a race; a redelivery that reached the other process)
    is one message to the flood counts, in Redis and in a process's memory; messages without a key count each
    time, as before."""
    from datetime import timedelta

    from core.moderation.flood import MemoryRecentMessages
    from steward.recent_redis import RedisRecentMessages

    chat, since = f"test:{uuid.uuid4().hex}", clock.now() - timedelta(seconds=1)
    web1, web2, memory = RedisRecentMessages(redis_url), RedisRecentMessages(redis_url), MemoryRecentMessages()
    for store in (web1, web2, memory):
        store.record(chat, "bob", "fp", clock.now(), "m1")
    for store in (web1, memory):
        store.record(chat, "bob", "fp", clock.now(), "m1")
        store.record(chat, "bob", "fp", clock.now(), None)
        store.record(chat, "bob", "fp", clock.now(), None)
    assert web2.count(chat, "bob", since) == 1 + 2         # m1 once, and web1's two without a key
    assert memory.count(chat, "bob", since, "fp") == 1 + 2
    assert memory.tally(chat, "bob", "fp", clock.now(), since, since, "m1") == (3, 3)
    web2.record(chat, "bob", "fp", clock.now() + timedelta(seconds=5), "m1")     # stamped later when decided again
    assert web1.count(chat, "bob", since) == 1 + 2
