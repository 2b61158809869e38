"""The outbox worker: retries with backoff, dead letters, fallbacks, leases — never lose, never double."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from connectors.base import Delivery
from core.actions import PostMessage, RemoveMember, SendPrivate
from core.db.models import AuditEntry, Group, OutboxItem
from core.errors import PermanentDeliveryError, RetryableDeliveryError, UnsupportedAction
from core.kernel.delivery import Deliverer, RetryPolicy
from core.kernel.outbox import enqueue


class FakeMessenger:
    """Implements the Messenger port; scripted failures, records every call."""

    def __init__(self, failures=()):
        self.failures = list(failures)
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def deliver(self, action, key):
        with self.lock:
            self.calls.append((action.kind, key))
            if self.failures:
                raise self.failures.pop(0)
        return Delivery(remote_id=f"r{len(self.calls)}")


def queue(container, action, key="k1"):
    with container.sessions.begin() as s:
        group = s.scalar(select(Group).where(Group.chat_id == "new-hires"))
        enqueue(s, action, key=key, now=container.clock.now(), group_id=group.id, case_number="C000042")


def item(container, key="k1") -> OutboxItem:
    with container.sessions() as s:
        return s.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))


def test_success_marks_done_with_remote_id(container):
    fake = FakeMessenger()
    queue(container, PostMessage("sandbox", "new-hires", "hi"))
    assert Deliverer(container.ctx, {"sandbox": fake}, "w1").run_once() == 1
    row = item(container)
    assert (row.status, row.remote_id, row.attempts) == ("done", "r1", 1)
    assert Deliverer(container.ctx, {"sandbox": fake}, "w1").run_once() == 0   # nothing twice


def test_enqueue_is_idempotent_on_its_key(container):
    queue(container, PostMessage("sandbox", "new-hires", "hi"))
    queue(container, PostMessage("sandbox", "new-hires", "hi"))
    with container.sessions() as s:
        assert len(s.scalars(select(OutboxItem)).all()) == 1


def test_retry_waits_for_backoff_then_delivers(container, clock):
    fake = FakeMessenger([RetryableDeliveryError("429", retry_after=30)])
    queue(container, PostMessage("sandbox", "new-hires", "hi"))
    worker = Deliverer(container.ctx, {"sandbox": fake}, "w1")
    worker.run_once()
    row = item(container)
    assert (row.status, row.attempts) == ("pending", 0)                # a throttle is no failure
    assert (row.next_attempt_at - clock.now()).total_seconds() >= 30   # Retry-After honoured
    assert worker.run_once() == 0                                      # not due yet
    clock.advance(seconds=31)
    assert worker.run_once() == 1
    assert item(container).status == "done"
    assert [k for _, k in fake.calls] == ["k1", "k1"]                  # same idempotency key


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(base_seconds=2, max_seconds=60)
    assert all(1 <= policy.delay(1) <= 2 for _ in range(50))
    assert all(16 <= policy.delay(5) <= 32 for _ in range(50))
    assert all(30 <= policy.delay(30) <= 60 for _ in range(50))


def test_throttling_never_dead_letters(container, clock):
    fake = FakeMessenger([RetryableDeliveryError("429", retry_after=1)] * 5)
    queue(container, PostMessage("sandbox", "new-hires", "busy channel"))
    worker = Deliverer(container.ctx, {"sandbox": fake}, "w1", policy=RetryPolicy(max_attempts=3))
    for _ in range(6):
        worker.run_once()
        clock.advance(seconds=5)
    assert item(container).status == "done" and len(fake.calls) == 6


def test_dead_letter_after_max_attempts_alerts_the_admins(container, clock):
    fake = FakeMessenger([RetryableDeliveryError("503")] * 3)
    queue(container, RemoveMember("sandbox", "new-hires", "bob"))
    worker = Deliverer(container.ctx, {"sandbox": fake}, "w1", policy=RetryPolicy(max_attempts=3))
    for _ in range(3):
        worker.run_once()
        clock.advance(hours=1)
    assert item(container).status == "dead"
    alert = item(container, "alert:1:adam")
    assert alert is not None and alert.action["user_id"] == "adam"
    assert "3" in alert.action["text"] and "C000042" in alert.action["text"]
    with container.sessions() as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == "outbox.dead"))


@pytest.mark.parametrize("error,why", [
    (UnsupportedAction("no pins"), "does not allow"),
    (PermanentDeliveryError("refused", code="restricted_action"), "restricted_action"),
])
def test_impossible_action_falls_back_to_telling_admins(container, error, why):
    fake = FakeMessenger([error])
    queue(container, RemoveMember("sandbox", "new-hires", "bob"))
    Deliverer(container.ctx, {"sandbox": fake}, "w1").run_once()
    assert item(container).status == "failed"
    alert = item(container, "alert:1:adam")
    assert why in alert.action["text"] and "bob" in alert.action["text"]


def test_an_alert_never_alerts_about_itself(container):
    fake = FakeMessenger([UnsupportedAction("x")])
    queue(container, SendPrivate("sandbox", "adam", "alert"), key="alert:9:adam")
    Deliverer(container.ctx, {"sandbox": fake}, "w1").run_once()
    with container.sessions() as s:
        assert len(s.scalars(select(OutboxItem)).all()) == 1


def test_unexpected_exception_is_retried_not_fatal(container):
    fake = FakeMessenger([RuntimeError("sdk bug")])
    queue(container, PostMessage("sandbox", "new-hires", "hi"))
    Deliverer(container.ctx, {"sandbox": fake}, "w1").run_once()
    row = item(container)
    assert row.status == "pending" and "sdk bug" in row.last_error


def test_a_worker_killed_mid_delivery_loses_nothing_and_doubles_nothing(container, clock):
    """Worker A delivers but dies before recording it; B redelivers with the same key after the lease,
    and the messenger's idempotency makes the second call a no-op."""
    sandbox = container.connectors["sandbox"]
    queue(container, PostMessage("sandbox", "new-hires", "only once"))
    a = Deliverer(container.ctx, {"sandbox": sandbox}, "A", lease_seconds=60)
    [(claimed, interrupted)] = a._claim()
    assert not interrupted                    # nobody held it before
    sandbox.deliver(PostMessage("sandbox", "new-hires", "only once"), "k1")   # A's call went out ...
    # ... and A died here, before _done.
    b = Deliverer(container.ctx, {"sandbox": sandbox}, "B", lease_seconds=60)
    assert b.run_once() == 0                  # A's lease still holds
    clock.advance(seconds=61)
    assert b.run_once() == 1
    assert item(container).status == "done"
    assert [e.text for e in sandbox.transcript].count("only once") == 1
    a._done(claimed, "late")                  # A's ghost cannot overwrite B's result
    assert item(container).locked_by is None and item(container).remote_id != "late"


def test_restart_resumes_pending_deliveries(db_url, clock, sandbox_config):
    from tests.conftest import build_container

    first = build_container(db_url, clock, sandbox_config)
    queue(first, PostMessage("sandbox", "new-hires", "survives a restart"))
    first.engine.dispose()
    second = build_container(db_url, clock, sandbox_config)     # its worker's first round delivers it
    assert second.connectors["sandbox"].transcript[-1].text == "survives a restart"
    assert second.deliverer("after-restart").run_once() == 0       # once
    second.engine.dispose()


def test_two_workers_never_deliver_the_same_item(container):
    for n in range(30):
        queue(container, PostMessage("sandbox", "new-hires", f"m{n}"), key=f"k{n}")
    fake = FakeMessenger()
    workers = [Deliverer(container.ctx, {"sandbox": fake}, f"w{i}", batch=5) for i in range(3)]

    def run(w):
        while w.run_once():
            pass

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [k for _, k in fake.calls]
    assert sorted(keys) == sorted(f"k{n}" for n in range(30))


def test_missing_connector_is_a_permanent_failure(container):
    queue(container, PostMessage("slack", "C1", "hi"))
    Deliverer(container.ctx, {}, "w1").run_once()
    assert "no_connector" in item(container).last_error
