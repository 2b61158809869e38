"""The plain path of ingest_many (core/kernel/inbound.py): a batch of ordinary messages from known senders is
read outside a transaction and written in one statement; a decision that uses the session commits with the
batch's rows; a batch another process raced is decided again in the full transaction, and nothing is doubled."""
from __future__ import annotations

import contextlib
import gc
import os
import socket
import sqlite3
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from core.db.failures import database_away
from core.db.models import Account, ArchivedMessage, AuditEntry, Case, InboundEvent, OutboxItem, Person, ScheduledJob
from core.db.session import make_engine
from core.db.upsert import KEEPERS, outside_transaction
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
    firsts = ingest_many(container.ctx, [msg("e1", "m1"), msg("e1", "m1"), msg("e2", "m1"), msg("e3", "m2", user="bob")])
    assert firsts == [True, False, True, True]   # e2: a new delivery of a message already archived
    assert paths.taken == {"plain": 1}
    assert ingest_many(container.ctx, [msg("w1", "w1"), msg("e4", "m4")]) == [False, True]   # a redelivery among them
    assert paths.taken == {"plain": 1, "replayed": 1}
    assert count(container, InboundEvent) == 6
    assert count(container, ArchivedMessage) == 5
    with container.sessions() as s:
        rows = s.execute(select(ArchivedMessage.message_id, ArchivedMessage.user_id, ArchivedMessage.person_id,
                                ArchivedMessage.group_id).order_by(ArchivedMessage.id)).all()
    by_user = {user: (person, group) for _, user, person, group in rows[:2]}
    assert [(m, by_user[u]) for m, u, *_ in rows[2:]] == [
        ("m1", by_user["alice"]), ("m2", by_user["bob"]), ("m4", by_user["alice"])]


def test_the_archive_takes_the_senders_person_as_it_is_written(container):
    """The process caches its senders' accounts; another process links alice's account to another person: the
    plain path's archive row is hers under the person the account has now, not the one the cache remembers."""
    known(container)
    ingest_many(container.ctx, [msg("e1", "m1")])          # alice's account is cached now
    with container.sessions() as s, s.begin():
        other = Person(name="Alice (HR record)", created_at=container.ctx.clock.now())
        s.add(other)
        s.flush()
        s.execute(update(Account).where(Account.user_id == "alice").values(person_id=other.id))
        linked = other.id
    ingest_many(container.ctx, [msg("e2", "m2")])
    with container.sessions() as s:
        assert s.scalar(select(ArchivedMessage.person_id).where(ArchivedMessage.message_id == "m2")) == linked


def watch_jobs(container) -> int:
    """R4.3.1's watch jobs stored: on their messages (core/kernel/message_jobs.py) or scheduled."""
    return (count(container, ArchivedMessage, ArchivedMessage.job.like('%"training.watch_message"%'))
            + count(container, ScheduledJob, ScheduledJob.kind == "training.watch_message"))


def test_a_question_schedules_its_watch_job_once_even_when_redelivered(container):
    paths = known(container)
    assert ingest_many(container.ctx, [msg("q1", "mq", "作业什么时候交？")]) == [True]
    assert ingest_many(container.ctx, [msg("q1", "mq", "作业什么时候交？")]) == [False]
    assert paths.taken == {"plain": 1, "replayed": 1}
    assert watch_jobs(container) == 1


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


def test_a_ladder_step_commits_with_the_batch_and_is_decided_once(container):
    """A detector's case opens in a SAVEPOINT (core/discipline/cases.py report_once). The batch's rows are
    written as the session's transaction begins, not again as the savepoint begins: written twice, they came
    back as held and every violation was decided again in the full transaction."""
    paths = known(container)
    decided = []
    detectors = container.ctx.detectors

    def counting(ctx, s, group_id, account_id, e):
        decided.append(e.event_id)
        return detectors(ctx, s, group_id, account_id, e)

    container.ctx.detectors = counting
    assert ingest_many(container.ctx, [msg("v1", "mv", "你个 SB 玩意"), msg("v2", "mw")]) == [True, True]
    assert paths.taken == {"session": 1} and decided == ["v1", "v2"]
    assert count(container, Case, Case.message_id == "mv") == 1
    assert count(container, ArchivedMessage, ArchivedMessage.message_id.in_(["mv", "mw"])) == 2


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
    assert paths.taken == {"replayed": 1}
    assert calls == ["r1", "r1"]     # the full transaction saw a duplicate: no third decision
    assert count(container, InboundEvent, InboundEvent.event_id == "r1") == 1
    assert count(container, ArchivedMessage, ArchivedMessage.message_id == "mr") == 1
    assert watch_jobs(container) == 1


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
    plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + _sqlite(3, 3, 3), ["x"] * (3 * (2 + 3 + 2)))]
    assert sum(step.startswith("SEARCH t USING") for step in plan) == 3, plan
    assert not any(step.startswith("SCAN t") for step in plan), plan


def test_the_loser_of_a_race_on_one_message_under_two_event_ids_writes_none_of_its_decision(container):
    """Slack's `message` and `app_mention` for one message, in two processes: only the one that archived the
    message decides it (here the mention, answered as a command; the other's question-tracking job is not
    written)."""
    paths = known(container)
    ctx, text = container.ctx, "help 作业什么时候交？"
    mention = msg("Y-app_mention", "mr", text, addressed=True)

    def detector(ctx_, s, group_id, account_id, e):
        if e.event_id == "X-message":
            assert in_one_transaction(ctx, [mention]) == [True]     # the other process, meanwhile
        return False

    ctx.detectors = detector
    assert ingest_many(ctx, [msg("X-message", "mr", text)]) == [True]
    assert paths.taken == {"replayed": 1}
    assert count(container, ArchivedMessage, ArchivedMessage.message_id == "mr") == 1
    assert count(container, OutboxItem) == 1          # the command's answer
    assert watch_jobs(container) == 0


def test_a_batch_decided_again_counts_each_message_once_towards_a_flood(container):
    """A batch raced on one event is decided again in the full transaction: the other messages go through the
    detectors twice, and the flood counts must still count each once (bob's six messages stay under the
    flood limit)."""
    known(container)
    ctx = container.ctx
    real = ctx.detectors

    def detector(ctx_, s, group_id, account_id, e):
        if e.event_id == "a1" and not detector.raced:
            detector.raced = True
            assert in_one_transaction(ctx, [msg("a1", "ma1", "morning")]) == [True]
        return real(ctx_, s, group_id, account_id, e)

    detector.raced = False
    ctx.detectors = detector
    batch = [msg("a1", "ma1", "morning")] + [
        msg(f"b{n}", f"mb{n}", text, user="bob") for n, text in enumerate(
            ["lunch at noon", "the printer is jammed", "see you tomorrow", "nice weather today"])] + [
        msg("b9", "mb9", "@steward help", user="bob", addressed=True)]
    assert ingest_many(ctx, batch) == [False, True, True, True, True, True]
    since = ctx.clock.now() - timedelta(days=1)
    assert real.recent.count("sandbox:new-hires", "sandbox:bob", since) == 1 + 5
    assert count(container, Case) == 0


def test_a_database_that_cannot_be_reached_is_an_outage_not_a_bad_event(tmp_path):
    """Connecting fails (PostgreSQL restarting or full, a SQLite file that cannot be opened): the plain
    path raises what `database_away` calls an outage (the webhook answers 503 and the platform retries),
    never what would set the event aside."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]      # nothing listens there once the probe is closed
    (tmp_path / "a-directory").mkdir()
    for url in (f"postgresql://steward@127.0.0.1:{closed}/steward", f"sqlite:///{tmp_path / 'a-directory'}"):
        engine = make_engine(url)
        with pytest.raises(DBAPIError) as raised:
            with outside_transaction(engine):
                pass
        assert database_away(raised.value), url


def test_a_restarted_database_is_an_outage_for_one_batch_then_forgotten(container):
    """PostgreSQL drops the pool's connections (a restart): at most one batch fails, as an outage (503: the
    platform retries), the pool's connections from before are retired with the one that failed, and the
    batches after are stored."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: SQLite has no server to restart")
    known(container)
    ingest_many(container.ctx, [msg("e1", "m1")])
    held = [container.engine.raw_connection() for _ in range(3)]
    pids = []
    for proxy in held:
        with proxy.driver_connection.cursor() as cursor:
            pids.append(cursor.execute("SELECT pg_backend_pid()").fetchone()[0])
        proxy.close()
    admin = make_engine(container.settings.database_url)
    try:
        with admin.connect() as c:
            for pid in pids:
                c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
    outcomes = []
    for n in range(4):
        try:
            outcomes.append(ingest_many(container.ctx, [msg(f"d{n}", f"dm{n}")]))
        except Exception as exc:
            outcomes.append("outage" if database_away(exc) else exc)
    assert outcomes.count("outage") <= 1 and outcomes[-2:] == [[True], [True]], outcomes
    assert all(outcome in ("outage", [True]) for outcome in outcomes), outcomes


def test_a_redelivered_command_is_known_as_one_before_it_runs(container):
    """A message asked of Steward is read first even from known senders: its redelivery is a duplicate at
    once (the command does not run again, only to be rolled back)."""
    paths = known(container)
    help_ = msg("c1", "mc", "@steward help", addressed=True)
    assert ingest_many(container.ctx, [help_]) == [True]
    answers = count(container, OutboxItem)
    assert ingest_many(container.ctx, [help_]) == [False]
    assert paths.taken == {"session": 1, "plain": 1}
    assert count(container, OutboxItem) == answers


def test_threads_keep_few_connections_and_none_from_a_disposed_pool(tmp_path):
    """Many request threads may lead a group commit in turn: at most KEEPERS of them keep a connection, so
    the pool keeps the rest; a connection kept from before `engine.dispose()` is not used after it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'kept.db'}")
    inside, leave = threading.Barrier(KEEPERS + 3), threading.Event()

    def lead():
        with outside_transaction(engine):
            pass
        inside.wait(10)      # every thread is alive, having left the block
        leave.wait(10)

    threads = [threading.Thread(target=lead) for _ in range(KEEPERS + 2)]
    for t in threads:
        t.start()
    inside.wait(10)
    try:
        assert engine.pool.checkedout() <= KEEPERS
    finally:
        leave.set()
        for t in threads:
            t.join(10)
    with outside_transaction(engine):
        pass
    engine.dispose()
    with outside_transaction(engine):
        pass
    assert engine.pool.checkedout() == 1      # kept from the new pool
    engine.dispose()


def test_connections_go_back_to_the_pool_with_autocommit_off(container):
    """PostgreSQL: the plain path's connection is in autocommit while set aside; the pool gets it back with
    autocommit off, whether given back (more than KEEPERS at once) or collected (dropped from the list of
    those set aside), or a session's transaction on it would commit statement by statement and roll back nothing:
    a poison message's batch-mates' rows, written before its decision failed, once stayed committed."""
    from core.db import upsert

    if container.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: SQLite's connections are in autocommit always (BEGIN is sent by hand)")
    engine = make_engine(container.settings.database_url)
    try:
        with contextlib.ExitStack() as stack:
            for _ in range(KEEPERS + 1):
                conn, _dialect = stack.enter_context(outside_transaction(engine))
                assert conn.autocommit
        assert (engine.pool.checkedout(), engine.pool.checkedin()) == (KEEPERS, 1)     # one given back
        upsert._aside[:] = [kept for kept in upsert._aside if kept.engine is not engine]    # the rest collected
        gc.collect()
        assert (engine.pool.checkedout(), engine.pool.checkedin()) == (0, KEEPERS + 1)
        sessions = [engine.connect() for _ in range(KEEPERS + 1)]      # every one the pool holds
        for n, conn in enumerate(sessions):
            conn.execute(text(f"CREATE TEMPORARY TABLE kept_probe{n} (n integer)"))
            conn.rollback()
            assert conn.execute(text(f"SELECT to_regclass('pg_temp.kept_probe{n}')")).scalar() is None
            conn.close()
    finally:
        engine.dispose()


def test_a_set_aside_connection_serves_whichever_thread_comes_next(container):
    """No thread owns a set-aside connection: one that ends leaves it to the next caller, which takes it
    rather than the pool's."""
    engine = make_engine(container.settings.database_url)
    seen = []

    def lead():
        with outside_transaction(engine) as (conn, _):
            seen.append(conn)

    try:
        thread = threading.Thread(target=lead)
        thread.start()
        thread.join(10)
        assert engine.pool.checkedout() == 1
        with outside_transaction(engine) as (conn, _):
            assert conn is seen[0] and engine.pool.checkedout() == 1
    finally:
        engine.dispose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork: POSIX only")
def test_a_forked_child_neither_uses_nor_gives_back_its_parents_set_aside_connection(container):
    """gunicorn forks its workers: a child that found its parent's connection set aside takes its own, and
    never rolls back or closes the parent's (they share the socket)."""
    engine = make_engine(container.settings.database_url)
    try:
        with outside_transaction(engine) as (parents, _):
            pass
        pid = os.fork()
        if pid == 0:      # the child: exit status 0 only if it took a connection of its own
            try:
                with outside_transaction(engine) as (conn, _):
                    code = 0 if conn is not parents else 1
                gc.collect()
            except BaseException:
                code = 2
            os._exit(code)
        deadline = time.monotonic() + 30
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        assert done[0] == pid and done[1] == 0, "the child hung or took its parent's connection"
        with outside_transaction(engine) as (conn, dialect):     # the parent's still works, still its own
            assert conn is parents
            cursor = conn.cursor()
            cursor.execute("SELECT 1")
            assert cursor.fetchall() == [(1,)]
    finally:
        engine.dispose()


def test_a_process_with_many_engines_sets_aside_no_more_than_keepers(container):
    """The tests, or a CLI run beside the server, make many engines: connections set aside stay at KEEPERS
    in the process, the oldest going back to its pool (set aside per engine, they stayed out of every pool
    the suite had used, until PostgreSQL refused new clients)."""
    engines = [make_engine(container.settings.database_url) for _ in range(KEEPERS + 3)]
    try:
        for engine in engines:
            with outside_transaction(engine):
                pass
        assert sum(engine.pool.checkedout() for engine in engines) == KEEPERS
        assert [engine.pool.checkedout() for engine in engines[-KEEPERS:]] == [1] * KEEPERS     # the newest
    finally:
        for engine in engines:
            engine.dispose()


@pytest.mark.parametrize("early", [True, False], ids=["postgres gate", "sqlite gate"])
def test_a_batch_that_leaves_the_plain_path_lets_go_of_a_postgres_commit_gate(container, tmp_path, early):
    """A plain batch holds the commit gate through its write. A batch that takes a transaction of several round
    trips (a first sender, a command) lets go of PostgreSQL's gate as it begins it, so the other processes'
    leaders do not wait on a ladder step; SQLite's gate stays held, one writer at a time being SQLite's rule."""
    import fcntl

    from core.db.session import CommitGate
    from core.kernel.dead_events import set_aside
    from core.kernel.group_commit import GroupCommit

    paths, ctx = known(container), container.ctx
    gate = CommitGate(str(tmp_path / "commit.lock"), early=early)
    other = os.open(gate.path, os.O_RDWR | os.O_CREAT)      # as another web process holds it
    held_after: list[bool] = []

    def handle(events):
        firsts = ingest_many(ctx, events)
        try:                                 # still inside the leader's gate: is it held?
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held_after.append(True)
        else:
            fcntl.flock(other, fcntl.LOCK_UN)
            held_after.append(False)
        return firsts

    commit = GroupCommit(handle, lambda event, exc, attempts: set_aside(ctx, event, exc, attempts), gate=gate)
    assert commit(msg("e1", "m1")) is True                                   # plain
    assert commit(msg("e2", "m2", user="carol")) is True                     # a first sender: the transaction
    assert commit(msg("e3", "m3", "@steward help", addressed=True)) is True  # a command: its decision's transaction
    assert commit(msg("e4", "m4")) is True                                   # plain again: the gate is taken again
    assert paths.taken == {"plain": 2, "transaction": 1, "session": 1}
    assert held_after == ([True, False, False, True] if early else [True, True, True, True])
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)      # and free once the leaders are done
    os.close(other)
