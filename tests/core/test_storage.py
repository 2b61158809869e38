"""Storage on SQLite and PostgreSQL: migrations match the models, the audit log is append-only,
de-duplication holds, and a failed use case leaves nothing half-written."""
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError

from core.db.models import AuditEntry, Base, Case, InboundEvent, Person
from core.events import MessagePosted
from core.kernel import audit
from core.kernel.inbound import ingest
from steward.features import FEATURES  # noqa: F401  (every feature's tables on Base.metadata)
from webhooks.console import models as console_models  # noqa: F401  (the console's tables)


def test_migrations_match_the_models(container):
    with container.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_audit_log_is_append_only(container, clock):
    with container.sessions.begin() as s:
        audit.record(s, at=clock.now(), actor="test", action="x")
    with pytest.raises(DatabaseError):
        with container.sessions.begin() as s:
            s.execute(update(AuditEntry).values(action="forged"))
    with pytest.raises(DatabaseError):
        with container.sessions.begin() as s:
            s.execute(text("DELETE FROM audit_log"))
    with container.sessions() as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.actor == "test")) == "x"


def test_inbound_event_unique(container, clock):
    with pytest.raises(IntegrityError):
        with container.sessions.begin() as s:
            s.add_all([InboundEvent(platform="slack", event_id="Ev1", kind="x", received_at=clock.now()),
                       InboundEvent(platform="slack", event_id="Ev1", kind="x", received_at=clock.now())])


def test_a_failing_use_case_writes_nothing(container, clock):
    """A decision that fails after the de-duplication and archive rows were written: the transaction rolls
    back as a whole (the content detectors are a port of the core context: a failing one stands in)."""
    working = container.ctx.detectors

    def boom(ctx, s, group_id, account_id, event):
        s.flush()
        raise OSError(28, "No space left on device")

    container.ctx.detectors = boom
    with pytest.raises(OSError):
        ingest(container.ctx, MessagePosted(platform="sandbox", event_id="e1", chat_id="new-hires",
                                            user_id="zed", message_id="m1", text="hi"))
    container.ctx.detectors = working
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 0
    # ... and the retried delivery is processed normally afterwards.
    assert ingest(container.ctx, MessagePosted(platform="sandbox", event_id="e1", chat_id="new-hires",
                                               user_id="zed", message_id="m1", text="hi"))


def test_cross_platform_count_follows_the_person(container, clock):
    """One person, a Slack account and a sandbox account: a warning on one counts on the other."""
    from core.discipline.cases import Discipline, Violation
    from core.kernel.directory import account_for, group_for, link_account

    with container.sessions.begin() as s:
        group = group_for(s, "sandbox", "new-hires")
        bob_sandbox = account_for(s, "sandbox", "bob", clock.now())
        bob_slack = account_for(s, "slack", "U0BOB", clock.now())
        link_account(s, bob_slack, bob_sandbox.person)
        s.flush()
        d = Discipline(container.ctx, s)
        first = d.report(Violation(group, bob_slack, "R8.1.2", "ads", "ads", "detector:ads", True))
        second = d.report(Violation(group, bob_sandbox, "R8.1.2", "ads", "ads", "detector:ads", True))
        assert (first.outcome, second.outcome) == ("warning", "removal")
        assert first.person_id == second.person_id


def test_person_rows_are_not_duplicated_by_config_sync(container, clock):
    from core.kernel.config_sync import sync_config

    with container.sessions() as s:
        before = s.scalar(select(func.count()).select_from(Person))
    with container.sessions.begin() as s:
        sync_config(s, container.config, clock.now())
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == before
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_the_cursor_kept_for_the_hot_statements_dies_with_its_connection(postgres_url):
    """PostgreSQL's hot statements reuse one cursor per driver connection; a connection the pool lets go of
    (recycled, invalidated, disposed) must not be held alive by it."""
    import gc
    import weakref

    from core.db.session import make_engine
    from core.db.upsert import pg_rows

    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert pg_rows(raw, "SELECT 1 + %s", (1,)) == [(2,)]
        assert pg_rows(raw, "SELECT 2 + %s", (1,)) == [(3,)]    # the same cursor, again
        gone = weakref.ref(raw)
        del raw
    engine.dispose()
    gc.collect()
    assert gone() is None


def test_the_plain_write_stores_values_exactly_as_given(db_url):
    """insert_all's rows reach the table unchanged on both databases: member text as typed (CJK, emoji, quotes,
    backslashes, a NUL-free control character, markup), UTC times to the microsecond (one given in another
    zone), nested job payloads with non-string keys, NULLs and booleans (PostgreSQL's rows travel as one
    JSON text per table)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import select

    from core.db.models import ArchivedMessage, InboundEvent, ScheduledJob
    from core.db.session import make_engine
    from core.db.upsert import Rows, insert_all, outside_transaction

    engine = make_engine(db_url)
    at = datetime(2026, 12, 7, 6, 44, 40, 123456, tzinfo=timezone.utc)
    east = at.astimezone(timezone(timedelta(hours=8)))
    texts = ['今天的作業什麼時候交？ "R&D" \\ <b>x</b> 🎉\t\u200b', "", "a" * 5000]
    messages = [dict(platform="slack", chat_id="C1", message_id=f"m{i}", group_id=None, person_id=None,
                     user_id="U1", kind="text", text=text, thread_id=None if i else "t0", direct=bool(i),
                     from_bot=False, sent_at=east if i == 1 else at) for i, text in enumerate(texts)]
    payload = {"text": texts[0], "mentions": ["U2"], "nested": {"n": [1, 2.5, None, True]}, 7: "seven",
               "size": 2 ** 70}       # beyond orjson's 64 bits (a file's size as a platform sent it, say)
    try:
        with outside_transaction(engine) as (conn, dialect):
            new = insert_all(conn, dialect, [
                Rows(InboundEvent, [dict(platform="slack", event_id="Ev1", kind="MessagePosted", received_at=at)],
                     ("platform", "event_id"), ignore=False),
                Rows(ArchivedMessage, messages, ("platform", "chat_id", "message_id"), keep_order=True),
                Rows(ScheduledJob, [dict(key="k1", kind="training.watch_message", payload=payload, due_at=east,
                                         status="pending", attempts=0, locked_until=None, last_error=None,
                                         created_at=at)], ("key",))])
        assert [len(part) for part in new] == [1, 3, 1]
        with engine.connect() as c:
            stored = c.execute(select(ArchivedMessage.message_id, ArchivedMessage.text, ArchivedMessage.sent_at,
                                      ArchivedMessage.thread_id, ArchivedMessage.direct)
                               .order_by(ArchivedMessage.id)).all()
            job = c.execute(select(ScheduledJob.payload, ScheduledJob.due_at)).one()
            received = c.scalar(select(InboundEvent.received_at))
        assert [(m, t, s, th, d) for m, t, s, th, d in stored] == [
            (f"m{i}", text, at, None if i else "t0", bool(i)) for i, text in enumerate(texts)]
        assert job.payload == {**{k: v for k, v in payload.items() if k != 7}, "7": "seven"}
        assert job.due_at == at and received == at
        # a whole second is stored as any other statement binds it, so a range that starts there finds the row
        whole = at.replace(microsecond=0) + timedelta(hours=1)
        with outside_transaction(engine) as (conn, dialect):
            insert_all(conn, dialect, [Rows(ArchivedMessage, [{**messages[0], "message_id": "m9", "sent_at": whole}],
                                            ("platform", "chat_id", "message_id"))])
        with engine.connect() as c:
            assert c.scalar(select(ArchivedMessage.message_id).where(ArchivedMessage.sent_at >= whole)) == "m9"
            assert c.scalar(select(ArchivedMessage.message_id).where(ArchivedMessage.sent_at == whole)) == "m9"
    finally:
        engine.dispose()


def test_sqlite_whole_seconds_written_before_get_their_fraction(tmp_path):
    """Migration sqlite_whole_seconds_01: a whole second stored without ".000000" (as the batch statements
    wrote it) gets the fraction SQLAlchemy binds; a value with a fraction is left as it is."""
    import sqlite3
    from datetime import datetime, timezone

    from sqlalchemy import select

    from core.db.migrate import upgrade
    from core.db.models import InboundEvent
    from core.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "case_per_message_01")
    raw = sqlite3.connect(tmp_path / "old.db")
    raw.execute("INSERT INTO inbound_events (platform, event_id, kind, received_at) VALUES "
                "('slack', 'whole', 'MessagePosted', '2026-12-07 09:00:00'), "
                "('slack', 'part', 'MessagePosted', '2026-12-07 09:00:01.250000')")
    raw.commit()
    upgrade(engine)
    assert raw.execute("SELECT event_id, received_at FROM inbound_events ORDER BY received_at").fetchall() == [
        ("whole", "2026-12-07 09:00:00.000000"), ("part", "2026-12-07 09:00:01.250000")]
    with engine.connect() as c:
        nine = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)
        assert c.scalars(select(InboundEvent.event_id).where(InboundEvent.received_at >= nine)
                         .order_by(InboundEvent.received_at)).all() == ["whole", "part"]
    raw.close()
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path):
    """An empty database (a PostgreSQL schema of the test's own), for migrating step by step."""
    from core.db.session import make_engine

    url = f"sqlite:///{tmp_path}/old.db" if request.param == "sqlite" else request.getfixturevalue("empty_postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_fewer_indexes_per_message_keeps_every_delivery_and_message_both_ways(empty_database):
    """Migration fewer_indexes_01 and back: deliveries keep their key (a redelivery is still refused), the
    archive's two indexes become one on (group_id, sent_at) and come back on the way down."""
    from alembic import command
    from sqlalchemy import inspect

    from core.db.migrate import alembic_config, upgrade

    engine = empty_database
    upgrade(engine, "sqlite_whole_seconds_01")
    delivery = text("INSERT INTO inbound_events (platform, event_id, kind, received_at) "
                    "VALUES ('slack', :event, 'MessagePosted', '2026-12-07 09:00:00.000000')")
    with engine.begin() as conn:
        for event in ("Ev1", "Ev2"):
            conn.execute(delivery, {"event": event})
        conn.execute(text("INSERT INTO messages (platform, chat_id, message_id, user_id, kind, text, direct, "
                          "from_bot, sent_at) VALUES ('slack', 'C1', '1.1', 'U1', 'text', '早上好', false, false, "
                          "'2026-12-07 09:00:00.000000')"))

    def state():
        with engine.connect() as conn:
            events = conn.execute(text("SELECT platform, event_id FROM inbound_events ORDER BY event_id")).all()
            texts = conn.execute(text("SELECT text FROM messages")).scalars().all()
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("messages")}
        return [tuple(e) for e in events], texts, indexes

    for revision in ("head", "sqlite_whole_seconds_01", "head"):
        if revision == "head":
            upgrade(engine)
        else:
            command.downgrade(alembic_config(engine), revision)
        events, texts, indexes = state()
        assert events == [("slack", "Ev1"), ("slack", "Ev2")] and texts == ["早上好"]
        old = {"ix_messages_group_id", "ix_messages_sent_at"}
        assert (indexes & (old | {"ix_messages_group_sent"})) == ({"ix_messages_group_sent"} if revision == "head"
                                                                   else old)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(delivery, {"event": "Ev1"})
    pk = inspect(engine).get_pk_constraint("inbound_events")
    assert pk["constrained_columns"] == ["platform", "event_id"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "inbound_events" in repr(d) or "messages" in repr(d)] == []


def test_sqlite_datetimes_are_written_as_sqlalchemy_writes_them():
    """The batch statements' own datetime writer for SQLite gives SQLAlchemy's text for any aware time, in any
    zone, to the microsecond (core/db/upsert.py uses it only where its probes agree)."""
    from datetime import datetime, timedelta, timezone

    from hypothesis import given, settings
    from hypothesis import strategies as st
    from sqlalchemy.dialects import sqlite

    from core.db.models import ArchivedMessage
    from core.db.upsert import _sqlite_utc

    column_type = ArchivedMessage.__table__.c.sent_at.type
    dialect = sqlite.pysqlite.dialect()
    sqlalchemys = column_type.dialect_impl(dialect).bind_processor(dialect)
    zones = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60))

    @settings(max_examples=300, deadline=None)
    @given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 30), timezones=zones))
    def same(value):
        assert _sqlite_utc(value) == sqlalchemys(value)

    same()
    assert _sqlite_utc(None) is None


def test_fewer_indexes_per_message_finishes_after_an_interrupted_run(empty_postgres_url):
    """PostgreSQL builds the new indexes CONCURRENTLY, outside the migration's transaction, so a run that
    stops after them (a lock_timeout, a node killed) leaves them behind; one build that failed leaves its
    index invalid. Run again, the migration keeps a valid index, builds an invalid one again, and finishes."""
    from sqlalchemy import inspect

    from core.db.migrate import upgrade
    from core.db.session import make_engine

    engine = make_engine(empty_postgres_url)
    try:
        upgrade(engine, "sqlite_whole_seconds_01")
        with engine.begin() as conn:
            for event in ("Ev1", "Ev2"):
                conn.execute(text("INSERT INTO inbound_events (platform, event_id, kind, received_at) "
                                  "VALUES ('slack', :e, 'MessagePosted', now())"), {"e": event})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CREATE INDEX CONCURRENTLY ix_messages_group_sent ON messages (group_id, sent_at)"))
            with pytest.raises(IntegrityError):     # two rows share a kind: the build fails, its index stays invalid
                conn.execute(text("CREATE UNIQUE INDEX CONCURRENTLY pk_inbound_events_key ON inbound_events (kind)"))
            assert conn.execute(text("SELECT indisvalid FROM pg_index "
                                     "WHERE indexrelid = to_regclass('pk_inbound_events_key')")).scalar() is False
        upgrade(engine)
        inspector = inspect(engine)
        assert inspector.get_pk_constraint("inbound_events")["constrained_columns"] == ["platform", "event_id"]
        assert {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("messages")}.get(
            "ix_messages_group_sent") == ["group_id", "sent_at"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                                     "WHERE c.relname = 'inbound_events' AND NOT i.indisvalid")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM inbound_events")).scalar() == 2
    finally:
        engine.dispose()


def test_message_jobs_migration_keeps_every_pending_job_both_ways(empty_database):
    """Migration message_jobs_01 and back: messages gain `job` and a partial index holding only the messages
    whose job is pending; on the way down, pending jobs become scheduled jobs, so none is lost."""
    from alembic import command
    from sqlalchemy import inspect

    from core.db.migrate import alembic_config, upgrade

    engine = empty_database
    upgrade(engine, "fewer_indexes_01")
    insert = text("INSERT INTO messages (platform, chat_id, message_id, user_id, kind, text, direct, from_bot, "
                  "sent_at) VALUES ('slack', 'C1', :m, 'U1', 'text', '作业什么时候交？', false, false, "
                  "'2026-12-07 09:00:00.000000')")
    with engine.begin() as conn:
        conn.execute(insert, {"m": "1.1"})
    upgrade(engine)
    assert "ix_messages_job" in {ix["name"] for ix in inspect(engine).get_indexes("messages")}
    with engine.begin() as conn:
        conn.execute(insert, {"m": "1.2"})
        conn.execute(text("UPDATE messages SET job = :job WHERE message_id = '1.2'"),
                     {"job": '{"kind":"training.watch_message","payload":{"message":"1.2","名":"值"}}'})
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "messages" in repr(d)] == []
    command.downgrade(alembic_config(engine), "fewer_indexes_01")
    assert "job" not in {c["name"] for c in inspect(engine).get_columns("messages")}
    with engine.connect() as conn:
        jobs = conn.execute(text("SELECT kind, payload, status, attempts FROM scheduled_jobs")).all()
        texts = conn.execute(text("SELECT text FROM messages ORDER BY message_id")).scalars().all()
    assert [(k, p if isinstance(p, dict) else json.loads(p), s, a) for k, p, s, a in jobs] == [
        ("training.watch_message", {"message": "1.2", "名": "值"}, "pending", 0)]
    assert texts == ["作业什么时候交？"] * 2
    upgrade(engine)
    assert "job" in {c["name"] for c in inspect(engine).get_columns("messages")}
