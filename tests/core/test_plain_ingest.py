"""The plain path of ingest_many (core/kernel/inbound.py): a batch of ordinary messages from known senders is
read outside a transaction and written in one statement; a decision that uses the session commits with the
batch's rows; a batch another process raced is decided again in the full transaction, and nothing is doubled."""
from __future__ import annotations

import sqlite3
from collections import Counter

from sqlalchemy import select

from core.db.models import ArchivedMessage, AuditEntry, InboundEvent, ScheduledJob
from core.kernel import audit
from core.kernel.held import _sqlite
from core.kernel.inbound import in_one_transaction, ingest_many
from tests.core.test_ingest_batch import count, msg


class Paths:
    """core.ports.Metrics that remembers the paths batches took."""

    def __init__(self) -> None:
        self.taken: Counter[str] = Counter()

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        if name == "ingest_batches":
            self.taken[labels["path"]] += 1


def known(container) -> Paths:
    """alice and bob have spoken in new-hires (their first messages take the full transaction: their accounts
    and stays are written there); from then on their messages are plain."""
    paths = container.ctx.metrics = Paths()
    ingest_many(container.ctx, [msg("w1", "w1", user="alice"), msg("w2", "w2", user="bob")])
    assert paths.taken == {"transaction": 1}
    paths.taken.clear()
    return paths


def test_ordinary_chat_from_known_senders_is_plain_and_answers_as_the_full_transaction(container):
    paths = known(container)
    firsts = ingest_many(container.ctx, [msg("e1", "m1"), msg("e1", "m1"), msg("e2", "m1"), msg("e3", "m2", user="bob"),
                                         msg("w1", "w1")])
    assert firsts == [True, False, True, True, False]   # e2: a new delivery of a message already archived
    assert paths.taken == {"plain": 1}
    assert count(container, InboundEvent) == 5
    assert count(container, ArchivedMessage) == 4
    with container.sessions() as s:
        rows = s.execute(select(ArchivedMessage.message_id, ArchivedMessage.user_id, ArchivedMessage.person_id,
                                ArchivedMessage.group_id).order_by(ArchivedMessage.id)).all()
    by_user = {user: (person, group) for _, user, person, group in rows[:2]}
    assert [(m, by_user[u]) for m, u, *_ in rows[2:]] == [("m1", by_user["alice"]), ("m2", by_user["bob"])]


def test_a_question_schedules_its_watch_job_once_even_when_redelivered(container):
    paths = known(container)
    assert ingest_many(container.ctx, [msg("q1", "mq", "作业什么时候交？")]) == [True]
    assert ingest_many(container.ctx, [msg("q1", "mq", "作业什么时候交？")]) == [False]
    assert paths.taken == {"plain": 2}
    assert count(container, ScheduledJob, ScheduledJob.kind == "training.watch_message") == 1


def test_a_new_sender_or_a_new_name_takes_the_full_transaction(container):
    paths = known(container)
    ingest_many(container.ctx, [msg("e1", "m1", user="carol")])
    ingest_many(container.ctx, [msg("e2", "m2", display_name="Alice Liddell")])
    ingest_many(container.ctx, [msg("e3", "m3", display_name="Alice Liddell")])
    assert paths.taken == {"transaction": 2, "plain": 1}


def test_a_decision_that_writes_commits_with_the_batch(container):
    """A command answered in the group: the answer is queued in the same transaction as the batch's rows."""
    paths = known(container)
    assert ingest_many(container.ctx, [msg("e1", "m1", "@steward help", addressed=True), msg("e2", "m2")]) == [True, True]
    assert paths.taken == {"session": 1}
    assert count(container, InboundEvent, InboundEvent.event_id.in_(["e1", "e2"])) == 2
    assert count(container, ArchivedMessage, ArchivedMessage.message_id.in_(["m1", "m2"])) == 2


def racing(container, writes: bool):
    """A detector (the ctx port) that, the first time it is asked, lets "another process" commit the very
    event being decided (the full transaction on a connection of its own), then answers; with `writes`, each
    call records what it decided through the session, as a ladder step would."""
    ctx, calls = container.ctx, []

    def detector(ctx_, s, group_id, account_id, e):
        calls.append(e.event_id)
        if len(calls) == 1:
            assert in_one_transaction(ctx, [e]) == [True]
        if writes:
            audit.record(s, at=ctx.clock.now(), actor="system", action="test.decided", group_id=group_id,
                         message_id=e.message_id)
        return False

    ctx.detectors = detector
    return calls


def test_a_race_on_a_plain_batch_doubles_nothing(container):
    paths = known(container)
    calls = racing(container, writes=False)
    assert ingest_many(container.ctx, [msg("r1", "mr", "作业什么时候交？")]) == [False]   # the other one stored it
    assert paths.taken == {"plain": 1}
    assert calls == ["r1", "r1"]
    assert count(container, InboundEvent, InboundEvent.event_id == "r1") == 1
    assert count(container, ArchivedMessage, ArchivedMessage.message_id == "mr") == 1
    assert count(container, ScheduledJob, ScheduledJob.kind == "training.watch_message") == 1


def test_a_race_on_a_decision_that_writes_is_rolled_back_and_decided_again(container):
    paths = known(container)
    calls = racing(container, writes=True)
    assert ingest_many(container.ctx, [msg("r1", "mr")]) == [False]
    assert paths.taken == {"replayed": 1}
    assert calls == ["r1", "r1"]     # the full transaction saw a duplicate: no third decision
    assert count(container, AuditEntry, AuditEntry.action == "test.decided") == 1
    assert count(container, InboundEvent, InboundEvent.event_id == "r1") == 1


def test_sqlite_reads_every_key_through_its_index():
    """A row value `IN (VALUES ...)` made SQLite read the whole table: the read must search the index."""
    db = sqlite3.connect(":memory:")
    db.executescript("""
        CREATE TABLE inbound_events (id INTEGER PRIMARY KEY, platform TEXT, event_id TEXT, UNIQUE (platform, event_id));
        CREATE TABLE messages (id INTEGER PRIMARY KEY, platform TEXT, chat_id TEXT, message_id TEXT,
                               UNIQUE (platform, chat_id, message_id));
        CREATE TABLE accounts (id INTEGER PRIMARY KEY, person_id INTEGER, platform TEXT, user_id TEXT,
                               display_name TEXT, UNIQUE (platform, user_id));""")
    for part, width in ((0, 2), (1, 3), (2, 2)):
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + _sqlite(part, 3), ["x"] * (3 * width))]
        assert any(step.startswith("SEARCH t USING") for step in plan), plan
        assert not any(step.startswith("SCAN t") for step in plan), plan
