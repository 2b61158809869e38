"""Alembic, driven from code: `steward db upgrade` and the tests use the same migrations."""
from __future__ import annotations

import logging
import time
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("core.db").joinpath("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


log = logging.getLogger("steward.db")

#: the PostgreSQL advisory lock that `upgrade` holds (an arbitrary constant: "steward" as a number)
MIGRATION_LOCK = 0x73746577617264
LOCK_POLL_S = 0.2      # how often a node waiting for another's migration tries the lock


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision`. On PostgreSQL, under an advisory lock: every node may run `steward db upgrade`
    at once on start; the first migrates, the others wait for it and then find nothing left to do."""
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as lock:
        # tried, not waited for in one statement: a node blocked in pg_advisory_lock keeps a snapshot open,
        # and a migration building an index CONCURRENTLY waits for every snapshot older than its build
        # (while the node migrating holds the lock: neither would ever go on)
        said = time.monotonic()
        while not lock.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK}).scalar():
            lock.commit()
            if time.monotonic() - said >= 10:
                log.info("waiting for another node's migration to finish")
                said = time.monotonic()
            time.sleep(LOCK_POLL_S)
        try:
            lock.commit()       # hold the session-level lock on an idle connection, not in a transaction
            command.upgrade(alembic_config(engine), revision)
        finally:
            try:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                lock.commit()
            except Exception:
                lock.invalidate()       # closed, not pooled: the server lets go of the lock with the session
                raise


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def known_revisions(engine: Engine) -> frozenset[str]:
    """Every revision this code's migrations know. A database at one they do not know was migrated by a newer
    version, whose migrations keep this one running (README, "Upgrading")."""
    return frozenset(r.revision for r in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions())
