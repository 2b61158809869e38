"""Storage on SQLite and PostgreSQL: migrations match the models, the audit log is append-only,
de-duplication holds, and a failed use case leaves nothing half-written."""
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
