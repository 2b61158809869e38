"""Shared fixtures: a migrated database on SQLite and (when reachable) PostgreSQL, a frozen clock,
and a container wired with the sandbox connector."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import connectors.registry  # noqa: F401  (registers the messengers with the core: core/platforms.py)
from core.clock import FrozenClock
from core.config import parse_config
from core.db.migrate import upgrade
from core.db.session import make_engine

PG_URL = os.environ.get("STEWARD_TEST_POSTGRES_URL")
REQUIRE_SERVICES = os.environ.get("STEWARD_TEST_REQUIRE_SERVICES") == "1"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
#: a deployment whose only messenger is the sandbox is a playground: build_container switches it on with
#: this token, and the playground's tests post from this machine with it (connectors/sandbox/verify.py)
PLAYGROUND_TOKEN = "playground-token-for-tests-only"
LOCAL = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_STEWARD_CSRF": PLAYGROUND_TOKEN}

SANDBOX_CONFIG = """
locale: en
templates:
  new-hire:
    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}
  management:
    discipline: {warnings_before_removal: 2, removal: confirm, warning_expiry_days: 365}
groups:
  - platform: sandbox
    chat_id: new-hires
    name: New hires
    kind: new-hire
    training: onboarding
    lead: sandbox:lily
    admins: [sandbox:adam]
    instructors: [sandbox:ian]
    members: [sandbox:alice, sandbox:bob]
  - platform: sandbox
    chat_id: managers
    name: Managers
    kind: management
    lead: sandbox:lily
    admins: [sandbox:adam]
    members: [sandbox:dave]
roles:
  admin: [sandbox:adam]
  hr: [sandbox:hannah]
"""


def _postgres_available() -> str | None:
    if not PG_URL:
        return None
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return PG_URL
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI but unreachable: {exc}")
        return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate once, copy per test: every test starts from the real migrated schema."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def _own_schema(prefix: str):
    """A URL of STEWARD_TEST_POSTGRES_URL whose search_path is a new, empty schema, dropped afterwards (skips
    the test without PostgreSQL)."""
    url = _postgres_available()
    if url is None:
        pytest.skip("PostgreSQL not available: set STEWARD_TEST_POSTGRES_URL (CI does)")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A schema of this test run's own, migrated, so parallel runs on one server never meet."""
    with _own_schema("steward_test") as scoped:
        engine = make_engine(scoped)
        upgrade(engine)
        engine.dispose()
        yield scoped


@pytest.fixture
def empty_postgres_url() -> str:
    """A PostgreSQL schema of the test's own with nothing in it (for migrating step by step)."""
    with _own_schema("steward_empty") as scoped:
        yield scoped


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path, sqlite_template) -> str:
    if request.param == "sqlite":
        path = tmp_path / "steward.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'alembic_version'"))]
        # the audit log refuses TRUNCATE (docs/audit-log.md); the tests own the schema, so they may lift it
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "steward.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def sandbox_config():
    return parse_config(SANDBOX_CONFIG)


def build_container(db_url: str, clock, config, extra_env: dict[str, str] | None = None):
    from connectors import registry
    from core.kernel.config_sync import sync_config
    from steward.container import build, platforms_wanted

    env = {"DATABASE_URL": db_url, **(extra_env or {})}
    if "STEWARD_PLAYGROUND" not in env and all(not registry.manifest(p).real
                                               for p in platforms_wanted(config, env)):
        env.update(STEWARD_PLAYGROUND="1", STEWARD_PLAYGROUND_TOKEN=PLAYGROUND_TOKEN)
    env.setdefault("STEWARD_FILES_DIR", tempfile.mkdtemp(prefix="steward-files-"))   # never the working directory
    container = build(env, clock=clock, config=config)
    with container.sessions.begin() as s:
        sync_config(s, container.config, clock.now())
    started(container)
    return container


def started(container) -> None:
    """What a starting Steward's worker does first: the start-up jobs the configuration sync queued
    (discovery of every group's members, the directory lookups of new accounts), then their deliveries."""
    from steward.worker import drain
    drain(container)


@pytest.fixture
def container(db_url, clock, sandbox_config):
    c = build_container(db_url, clock, sandbox_config)
    yield c
    c.engine.dispose()


@pytest.fixture
def client(container):
    """A test client of the whole web app over `container`."""
    from webhooks import create_app
    app = create_app(container)
    app.testing = True
    return app.test_client()


@contextmanager
def chromium():
    """Debian's Chromium through Playwright, headless: skipped without it, a failure in CI (.ci/run installs
    it). The browser tests of the playground and the console share it."""
    import shutil

    binary = (os.environ.get("STEWARD_TEST_CHROMIUM") or shutil.which("chromium")
              or shutil.which("chromium-browser"))
    if not binary:
        if os.environ.get("STEWARD_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium binary found (install Debian's chromium to run the browser test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            yield browser
        finally:
            browser.close()
