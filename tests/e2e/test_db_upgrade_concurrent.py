"""`steward db upgrade` from every node at once: one migrates under the advisory lock, the others wait and
find nothing left to do; and processes starting at once sync steward.yaml in turn."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from core.db.migrate import current_revision, head_revision
from core.db.session import make_engine
from tests.conftest import SANDBOX_CONFIG

pytestmark = pytest.mark.postgres
NODES = 3


def _env(url: str, tmp_path) -> dict[str, str]:
    config = tmp_path / "steward.yaml"
    config.write_text(SANDBOX_CONFIG, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "DATABASE_URL", "SLACK_", "WECOM_",
                                                                     "DINGTALK_"))}
    env.update({"DATABASE_URL": url, "STEWARD_CONFIG": str(config), "STEWARD_FILES_DIR": str(tmp_path / "files")})
    return env


def _at_once(args: list[str], env: dict[str, str], cwd) -> list[tuple[int, str]]:
    procs = [subprocess.Popen([sys.executable, "-c", "from steward.cli import main; main()", *args], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(NODES)]
    return [(p.wait(timeout=180), p.stdout.read().decode()) for p in procs]


def test_upgrade_from_every_node_at_once(empty_postgres_url, tmp_path):
    env = _env(empty_postgres_url, tmp_path)
    results = _at_once(["db", "upgrade"], env, tmp_path)
    assert all(code == 0 for code, _ in results), results
    engine = make_engine(empty_postgres_url)
    try:
        assert current_revision(engine) == head_revision(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()



def test_processes_starting_at_once_sync_the_config_in_turn(empty_postgres_url, sandbox_config, clock):
    """Every web process syncs steward.yaml when it starts; two inserting the same new group must not fail."""
    import threading

    from core.db.migrate import upgrade
    from core.db.session import make_sessionmaker
    from core.kernel.config_sync import sync_config

    engine = make_engine(empty_postgres_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    start, errors = threading.Barrier(NODES), []

    def node() -> None:
        start.wait()
        try:
            with sessions.begin() as s:
                sync_config(s, sandbox_config, clock.now())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=node) for _ in range(NODES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors, errors
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM groups")).scalar() == len(sandbox_config.groups)
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["the session dies", "the statement fails"])
def test_a_lock_that_cannot_be_let_go_is_not_kept(empty_postgres_url, how):
    """Letting go of the migration lock fails: its session died (the server restarted, the network cut it), or
    the unlock failed while the session lives on. `upgrade` says so, and the lock does not outlive it: the
    server lets go of a session's advisory lock only when the session ends, so a connection still holding it
    must be closed, never pooled (every node's next upgrade would wait on it for ever)."""
    from sqlalchemy import event

    from core.db.migrate import MIGRATION_LOCK, upgrade

    engine, other = make_engine(empty_postgres_url), make_engine(empty_postgres_url)
    upgrade(engine)                                # nothing left to migrate below: the lock is the point

    def cut(conn, cursor, statement, *args):
        if "pg_advisory_unlock" not in statement:
            return
        if how == "the statement fails":
            raise RuntimeError("the unlock failed")
        with other.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"),
                           {"pid": conn.connection.driver_connection.info.backend_pid})

    event.listen(engine, "before_cursor_execute", cut)
    try:
        with pytest.raises(Exception) as raised:
            upgrade(engine)
        assert how != "the statement fails" or "the unlock failed" in str(raised.value)
        event.remove(engine, "before_cursor_execute", cut)
        with other.connect() as conn:              # free for the next node's migration
            assert conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK}).scalar()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            conn.commit()
        upgrade(engine)                            # and the pool hands out no dead connection
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()
        other.dispose()
