"""Group commit (core/kernel/group_commit.py), the default way webhooks store events: concurrent callers share
transactions, each returns only once its event is committed, and a poison message is set aside alone."""
from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from core.db.failures import database_away
from core.db.models import ArchivedMessage, AuditEntry, DeadEvent, InboundEvent, OutboxItem
from core.events import MessagePosted
from core.kernel.dead_events import set_aside
from core.kernel.group_commit import GroupCommit
from core.kernel.inbound import ingest, ingest_many
from tests.poison import POISON, poison


def msg(n: int, text: str = "hello", user: str = "alice", **kw) -> MessagePosted:
    return MessagePosted(platform="sandbox", event_id=f"ev{n}", chat_id="new-hires", user_id=user,
                         message_id=f"m{n}", text=text, **kw)


def count(container, model, *where) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def stored(container, event_id: str) -> bool:
    """Seen from another connection: committed, not merely written in an open transaction."""
    return count(container, InboundEvent, InboundEvent.event_id == event_id) == 1


def held_first_batch(container, callers: int) -> GroupCommit:
    """A group commit whose first transaction waits until every other caller has queued, so the rest
    must share the next one (no timing involved)."""
    ctx, first = container.ctx, threading.Event()

    def handle(events):
        if not first.is_set():
            first.set()
            while commit.pending() < callers - 1:
                threading.Event().wait(0.001)
        return ingest_many(ctx, events)

    commit = GroupCommit(handle, lambda event, exc, attempts: set_aside(ctx, event, exc, attempts))
    return commit


def run_concurrently(commit: GroupCommit, events, container) -> dict[str, object]:
    results, errors = {}, []

    def call(event):
        try:
            results[event.event_id + str(id(event))] = (event.event_id, commit(event), stored(container, event.event_id))
        except Exception as exc:       # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(e,)) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    return results


def test_a_lone_event_commits_at_once_in_its_own_transaction(container):
    commit = container.group_commit
    assert commit(msg(1)) is True
    assert stored(container, "ev1")
    assert (commit.stats.batches, commit.stats.events) == (1, 1)
    assert commit(msg(1)) is False          # a redelivery: de-duplicated
    assert count(container, ArchivedMessage) == 1


def test_a_failing_metrics_hook_changes_no_events_fate(container):
    """The hook is told of every transaction; when it raises (a metrics file it cannot write), a committed
    event is still answered as committed and nothing is set aside."""
    def broken(events):
        raise OSError("metrics directory gone")

    commit = container.group_commit
    commit.observe = broken
    assert commit(msg(1)) is True and stored(container, "ev1")
    assert (commit.stats.batches, commit.stats.set_aside) == (1, 0) and count(container, DeadEvent) == 0


def test_concurrent_requests_share_transactions_and_return_only_once_committed(container):
    events = [msg(n, f"message {n}", user=("alice", "bob", "nina")[n % 3]) for n in range(20)]
    events += [msg(3), msg(7)]             # redeliveries racing their first delivery
    commit = held_first_batch(container, len(events))
    results = run_concurrently(commit, events, container)
    assert len(results) == len(events)
    assert all(durable for _, _, durable in results.values())     # committed before the caller went on
    firsts = sorted(event_id for event_id, first, _ in results.values() if first)
    assert firsts == sorted(f"ev{n}" for n in range(20))          # each delivery counted once
    assert count(container, ArchivedMessage) == 20
    # the first transaction held one event; every other caller queued meanwhile and shared the second
    assert (commit.stats.batches, commit.stats.largest, commit.stats.events) == (2, len(events) - 1, len(events))


@pytest.fixture
def poisoned(container):
    poison(container)
    return container


def test_a_poison_message_is_set_aside_and_its_batch_mates_are_stored(poisoned):
    c = poisoned
    events = [msg(n, f"fine {n}") for n in range(10)]
    events.insert(6, msg(99, f"search {POISON}"))
    commit = held_first_batch(c, len(events))
    told_of: list[int | None] = []
    commit.observe = told_of.append
    results = run_concurrently(commit, events, c)
    assert all(durable for _, _, durable in results.values())     # the poison's delivery too: set aside
    assert count(c, ArchivedMessage) == 10 and count(c, ArchivedMessage, ArchivedMessage.message_id == "m99") == 0
    assert commit.stats.set_aside == 1
    # what the metrics were told: the size of every committed transaction (the ten fine events; the poison was
    # set aside, not committed) and every rollback of the splits that isolated the poison
    assert sum(n for n in told_of if n is not None) == 10 == commit.stats.events
    assert told_of.count(None) == commit.stats.failed_batches >= 2
    with c.sessions() as s:
        dead = s.scalars(select(DeadEvent)).one()
        assert (dead.platform, dead.event_id, dead.kind, dead.chat_id) == ("sandbox", "ev99", "MessagePosted", "new-hires")
        assert dead.event["text"] == f"search {POISON}"          # kept exactly as received, for a replay
        assert "Expression tree is too large" in dead.error or "DataError" in dead.error
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "event.set_aside")) == 1
        told = [o.action for o in s.scalars(select(OutboxItem).where(OutboxItem.idempotency_key.like("dead:%")))]
    assert [(a["type"], a["user_id"]) for a in told] == [("private", "adam")]     # the group's admin
    assert "ev99" in told[0]["text"]
    # the platform's redelivery of the poison is a duplicate now: answered, nothing more set aside
    assert c.group_commit(msg(99, f"search {POISON}")) is False
    assert count(c, DeadEvent) == 1


def test_a_lone_poison_message_is_tried_alone_then_set_aside(poisoned):
    c = poisoned
    assert c.group_commit(msg(1, POISON)) is None
    assert c.group_commit.stats.failed_batches == 2 and c.group_commit.stats.set_aside == 1
    assert c.group_commit(msg(2, "and life goes on")) is True
    assert count(c, DeadEvent) == 1 and count(c, ArchivedMessage) == 1


def test_a_set_aside_event_is_replayed_once_its_cause_is_fixed(poisoned):
    from core.kernel.dead_events import replay
    from steward.features import all_features

    c = poisoned
    c.group_commit(msg(1, POISON))
    assert replay(c.ctx, lambda e: ingest(c.ctx, e)) == (0, 1)      # still failing: stays set aside
    with c.sessions() as s:
        assert s.scalars(select(DeadEvent.attempts)).one() == 3
    c.ctx.features = all_features()                                  # the cause, fixed
    assert replay(c.ctx, lambda e: ingest(c.ctx, e)) == (1, 0)
    assert count(c, DeadEvent) == 0 and count(c, ArchivedMessage, ArchivedMessage.message_id == "m1") == 1


def test_while_the_database_is_away_every_caller_gets_the_error_and_nothing_is_set_aside(tmp_path, clock,
                                                                                          sandbox_config):
    from steward.container import build

    unopenable = tmp_path / "a directory, not a database file"     # "unable to open database file"
    unopenable.mkdir()
    away = build({"DATABASE_URL": f"sqlite:///{unopenable}", "STEWARD_FILES_DIR": str(tmp_path)},
                 clock=clock, config=sandbox_config)
    try:
        with pytest.raises(OperationalError) as raised:
            away.group_commit(msg(1))
        assert database_away(raised.value)
        assert away.group_commit.stats.set_aside == 0 and away.group_commit.stats.batches == 0
    finally:
        away.engine.dispose()


def test_the_database_away_is_told_from_a_statement_that_fails(tmp_path):
    """Real errors from SQLite: limits of one statement and constraint violations are the statement's fault;
    a file that cannot be opened or is locked means the database is away."""
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))

    def error(statement, **params):
        with pytest.raises(Exception) as raised, engine.begin() as conn:
            conn.execute(statement, params)
        return raised.value

    deep = error(text("SELECT " + " + ".join(["1"] * 1200)))
    duplicate = error(text("INSERT INTO t VALUES (1)"))
    assert "Expression tree is too large" in str(deep) and not database_away(deep)
    assert isinstance(duplicate, IntegrityError) and not database_away(duplicate)
    assert not database_away(ValueError("a bug in a handler"))

    missing = create_engine(f"sqlite:///{tmp_path}/no/such/dir.db")
    with pytest.raises(OperationalError) as raised, missing.connect():
        pass
    assert database_away(raised.value)
    locker = sqlite3.connect(f"{tmp_path}/t.db")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        waiting = create_engine(f"sqlite:///{tmp_path}/t.db", connect_args={"timeout": 0})
        with pytest.raises(OperationalError) as raised, waiting.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        assert "locked" in str(raised.value) and database_away(raised.value)
    finally:
        locker.rollback()
        locker.close()


def test_a_search_of_1200_words_is_answered(container):
    """Issue 12 finding 3: the statement once grew with every word past SQLite's limits; now the terms are
    bounded and the search answers."""
    words = " ".join(f"word{n}" for n in range(1200))
    for n, command in enumerate(("search", "materials")):
        event = MessagePosted(platform="sandbox", event_id=f"dm{n}", chat_id="dm-alice", user_id="alice",
                              message_id=f"dm{n}", text=f"{command} {words}", is_direct=True)
        assert container.group_commit(event) is True
    assert count(container, DeadEvent) == 0
    assert count(container, OutboxItem, OutboxItem.platform == "sandbox") == 2


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_leader_takes_the_commit_gate_that_other_processes_wait_on(tmp_path, monkeypatch, database):
    """Another process (here: another open file, as a second web process has) cannot take the gate while a
    leader commits, and can the moment it is done. The gate needs no connection: PostgreSQL's lock file is
    named from the URL alone."""
    import fcntl
    import os
    import tempfile

    from core.db.session import CommitGate, commit_gate, make_engine

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert commit_gate(make_engine("sqlite://")) is None
    url = f"sqlite:///{tmp_path}/steward.db" if database == "sqlite" else "postgresql://steward@db.internal/steward"
    gate = commit_gate(make_engine(url))
    assert isinstance(gate, CommitGate) and gate.path.startswith(str(tmp_path))
    other = os.open(gate.path, os.O_RDWR | os.O_CREAT)
    seen = []

    def handle(events):
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        seen.extend(events)
        return [True] * len(events)

    commit = GroupCommit(handle, lambda event, exc, attempts: None, gate=gate)
    assert commit("e1") is True and seen == ["e1"]
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)      # free again
    os.close(other)


def test_a_postgres_gate_is_one_per_database_and_never_names_the_password(tmp_path, monkeypatch, caplog):
    """Processes writing the same database (the same schema) share a gate, other databases and schemas have
    their own; the password changes nothing and shows nowhere. A lock file that cannot be opened costs the
    gate, with a warning, not the commit."""
    import tempfile

    from core.db.session import commit_gate, make_engine

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    caplog.set_level(logging.WARNING, logger="steward.db")     # whatever an earlier test left the root's level at

    def path(url):
        return commit_gate(make_engine(url)).path

    same = path("postgresql://steward:s3cret-Pa55@db.internal:5432/steward")
    assert same == path("postgresql+psycopg://steward:other@db.internal/steward")
    assert "s3cret" not in same and "db.internal" not in same
    assert len({same, path("postgresql://steward@db.internal/steward2"), path("postgresql://steward@db2/steward"),
                path("postgresql://steward@db.internal/steward?options=-csearch_path%3Dother")}) == 4
    assert path("postgresql://u@h/d?password=a") == path("postgresql://u@h/d?password=b")

    gate = commit_gate(make_engine("postgresql://steward@db.internal/steward"))
    gate.path = str(tmp_path / "no-such-directory" / "commit.lock")
    commit = GroupCommit(lambda events: [True] * len(events), lambda event, exc, attempts: None, gate=gate)
    assert commit("e1") is True and commit("e2") is True
    assert sum("cannot be used" in r.getMessage() for r in caplog.records) == 1     # said once, not per batch


def test_a_postgres_gate_in_the_shared_temporary_directory_is_never_someone_elses(tmp_path, caplog):
    """Anyone may make files in /tmp: a symbolic link planted where the lock file goes, or a lock file another
    user made (and could hold forever), is not used; the commit goes on without the gate, said once."""
    import os

    from core.db.session import CommitGate

    caplog.set_level(logging.WARNING, logger="steward.db")
    target = tmp_path / "elsewhere"
    target.write_text("not a lock")
    (tmp_path / "link.lock").symlink_to(target)
    owned = tmp_path / "theirs.lock"
    owned.write_text("")
    gates = [CommitGate(str(tmp_path / "link.lock"), required=False, early=True)]
    if os.getuid() == 0:                   # only root can give a file to another user
        os.chown(owned, 65534, 65534)
        gates.append(CommitGate(str(owned), required=False, early=True))
    for gate in gates:
        commit = GroupCommit(lambda events: [True] * len(events), lambda event, exc, attempts: None, gate=gate)
        assert commit("e1") is True and commit("e2") is True
        assert gate._open() is None
    assert sum("cannot be used" in r.getMessage() for r in caplog.records) == len(gates)
    assert target.read_text() == "not a lock"


def test_errors_of_statements_sent_straight_to_the_driver_are_told_apart_too(sqlite_url):
    """The hot statements bypass SQLAlchemy's execution (core/db/upsert.py); their driver errors are raised as
    SQLAlchemy's, so a database that cannot be written is away (503, retried) and a bad row is the
    statement's fault (set aside), as for any other statement."""
    from datetime import datetime, timezone

    from sqlalchemy.orm import Session

    from core.db.session import make_engine
    from core.db.upsert import insert_many_ignore

    path = sqlite_url.removeprefix("sqlite:///")
    row = dict(platform="x", event_id="e1", kind="k", received_at=datetime.now(timezone.utc))
    read_only = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(OperationalError) as raised, Session(read_only) as s, s.begin():
        insert_many_ignore(s, InboundEvent, [row], ("platform", "event_id"))
    assert "readonly" in str(raised.value) and database_away(raised.value)
    with pytest.raises(IntegrityError) as raised, Session(make_engine(sqlite_url)) as s, s.begin():
        insert_many_ignore(s, InboundEvent, [{**row, "kind": None}], ("platform", "event_id"))
    assert not database_away(raised.value)


def test_a_gate_that_fails_passes_the_lead_on(container):
    """SQLite's commit gate (a file lock) can fail before the leader takes its batch: its caller gets the
    error (a 503; the platform retries) and the next caller still commits."""
    ctx, fails = container.ctx, [OSError("the lock file cannot be opened")]

    @contextmanager
    def gate():
        if fails:
            raise fails.pop()
        yield

    commit = GroupCommit(lambda events: ingest_many(ctx, events),
                         lambda event, exc, attempts: set_aside(ctx, event, exc, attempts), gate=gate)
    with pytest.raises(OSError):
        commit(msg(1))
    assert commit.pending() == 0
    done = []
    worker = threading.Thread(target=lambda: done.append(commit(msg(2))), daemon=True)
    worker.start()
    worker.join(10)
    assert done == [True] and stored(container, "ev2") and not stored(container, "ev1")
