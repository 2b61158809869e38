"""The outbox's idempotency key and what it stores: one action per key, however long; text PostgreSQL can hold."""
from __future__ import annotations

from sqlalchemy import select

from core.actions import SendPrivate
from core.db.models import OutboxItem
from core.kernel.outbox import KEY_MAX, enqueue, stored_key


def test_long_keys_that_differ_late_are_two_actions_and_a_repeat_is_one(container):
    first, second = "k" * 250 + ":a", "k" * 250 + ":b"
    with container.sessions.begin() as s:
        now = container.clock.now()
        assert enqueue(s, SendPrivate("sandbox", "alice", "one"), key=first, now=now)
        assert enqueue(s, SendPrivate("sandbox", "alice", "two"), key=second, now=now)
        assert not enqueue(s, SendPrivate("sandbox", "alice", "one again"), key=first, now=now)
    with container.sessions() as s:
        rows = s.scalars(select(OutboxItem).where(OutboxItem.idempotency_key.like("kkk%"))).all()
    assert sorted(r.action["text"] for r in rows) == ["one", "two"]
    assert all(len(r.idempotency_key) <= KEY_MAX for r in rows)
    assert stored_key("short") == "short" and stored_key(first) != stored_key(second)


def test_a_nul_character_in_a_text_to_send_is_dropped_not_an_error(container):
    with container.sessions.begin() as s:
        assert enqueue(s, SendPrivate("sandbox", "alice", "hel\x00lo"), key="nul", now=container.clock.now())
    with container.sessions() as s:
        assert s.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == "nul")).action["text"] == "hello"
