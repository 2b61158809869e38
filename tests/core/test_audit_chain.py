"""The audit log is tamper-evident (issue 12, finding 7): each attack on it is refused by the database where
it can refuse, and otherwise `steward audit verify` exits 1 naming the first broken or missing entry."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from core.db.migrate import upgrade
from core.db.models import AuditEntry, OutboxItem, ScheduledJob
from core.db.session import make_engine
from core.kernel import audit, audit_anchor
from core.kernel.scheduler import run_due
from steward.cli import main
from tests.conftest import SANDBOX_CONFIG


@pytest.fixture
def cli_env(sqlite_url, tmp_path):
    cfg = tmp_path / "steward.yaml"
    cfg.write_text(SANDBOX_CONFIG)
    return {"DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR"}


def verify(env, *args):
    return CliRunner().invoke(main, ["audit", "verify", *args], env=env, catch_exceptions=False)


def write_entries(url, clock, n=5):
    engine = make_engine(url)
    from sqlalchemy.orm import sessionmaker
    with sessionmaker(engine).begin() as s:
        for i in range(n):
            audit.record(s, at=clock.now() + timedelta(seconds=i), actor=f"person:{i}", action="case.warning",
                         clause="R8.2.1", group_id=1, person_id=i, case_number=f"C{i:06d}", reason=("spam", i))
    engine.dispose()


def attacker(url) -> sqlite3.Connection:
    """A plain sqlite3 connection, as someone with the database file would open it (no pragmas of ours)."""
    return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)


def test_an_untouched_log_verifies_and_shows_its_head(cli_env, sqlite_url, clock):
    write_entries(sqlite_url, clock)
    result = verify(cli_env)
    assert result.exit_code == 0, result.output
    assert "OK: 5 entries, head seq=5 hash=" in result.output
    head = result.output.split("hash=")[1].strip()
    assert verify(cli_env, "--anchor", f"5:{head}").exit_code == 0


def test_the_chain_is_a_chain(container, clock):
    with container.sessions.begin() as s:
        first = audit.record(s, at=clock.now(), actor="a", action="x")
        second = audit.record(s, at=clock.now(), actor="b", action="y", detail_key=[1, 2])
    with container.sessions() as s:
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [r.seq for r in rows][-2:] == [first.seq, first.seq + 1] and second.prev_hash == first.hash
    assert audit.verify(rows).ok


def test_a_rewritten_row_is_named(cli_env, sqlite_url, clock):
    write_entries(sqlite_url, clock)
    db = attacker(sqlite_url)
    with pytest.raises(sqlite3.DatabaseError):               # the trigger refuses the UPDATE
        db.execute("UPDATE audit_log SET action = 'forged' WHERE seq = 3")
    db.execute("DROP TRIGGER audit_log_no_update")           # so the attacker drops it first
    db.execute("UPDATE audit_log SET actor = 'person:99' WHERE seq = 3")
    db.close()
    result = verify(cli_env)
    assert result.exit_code == 1
    assert "seq=3 was rewritten" in result.output and "intact up to seq=2" in result.output


def test_a_rewrite_that_recomputes_the_hashes_is_caught_by_the_anchor(cli_env, sqlite_url, clock):
    write_entries(sqlite_url, clock)
    head = verify(cli_env).output.split("hash=")[1].strip()
    db = attacker(sqlite_url)
    db.execute("DROP TRIGGER audit_log_no_update")
    rows = db.execute("SELECT id, seq, at, actor, action, clause, group_id, person_id, case_number, detail "
                      "FROM audit_log ORDER BY seq").fetchall()
    import json
    prev = audit.GENESIS
    for id_, seq, at, actor, action, clause, gid, pid, case, detail in rows:   # forge the whole chain
        actor = "person:99" if seq == 3 else actor
        fields = {"seq": seq, "at": at.replace(" ", "T") + ("" if "." in at else ".000000") + "Z", "actor": actor,
                  "action": action, "clause": clause, "group_id": gid, "person_id": pid, "case_number": case,
                  "detail": json.loads(detail)}
        digest = audit.entry_hash(fields, prev)
        db.execute("UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE id = ?", (actor, prev, digest, id_))
        prev = digest
    db.close()
    assert verify(cli_env).exit_code == 0                     # a consistent forgery…
    result = verify(cli_env, "--anchor", f"5:{head}")         # …but not what the admins were sent
    assert result.exit_code == 1 and "seq=5 differs from the anchored head hash" in result.output


def test_a_deleted_row_is_named(cli_env, sqlite_url, clock):
    write_entries(sqlite_url, clock)
    db = attacker(sqlite_url)
    with pytest.raises(sqlite3.DatabaseError):
        db.execute("DELETE FROM audit_log WHERE seq = 2")
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE seq = 2")
    db.close()
    result = verify(cli_env)
    assert result.exit_code == 1 and "entry seq=2 is missing (deleted)" in result.output


def test_deleting_the_newest_entries_is_caught_by_the_anchor(cli_env, sqlite_url, clock):
    write_entries(sqlite_url, clock)
    head = verify(cli_env).output.split("hash=")[1].strip()
    db = attacker(sqlite_url)
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute("DELETE FROM audit_log WHERE seq >= 4")
    db.close()
    assert verify(cli_env).exit_code == 0
    result = verify(cli_env, "--anchor", f"5:{head}")
    assert result.exit_code == 1 and "anchored entry seq=5 is missing" in result.output


def test_insert_or_replace_is_refused_by_steward_and_named_when_done_around_it(cli_env, sqlite_url, clock):
    write_entries(sqlite_url, clock)
    engine = make_engine(sqlite_url)                          # Steward's own connections: recursive triggers
    with pytest.raises(DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("INSERT OR REPLACE INTO audit_log (id, at, actor, action, detail) "
                              "SELECT id, at, 'person:99', action, detail FROM audit_log WHERE seq = 2"))
    engine.dispose()
    assert verify(cli_env).exit_code == 0
    db = attacker(sqlite_url)                                 # a connection without the pragma gets through…
    db.execute("INSERT OR REPLACE INTO audit_log (id, at, actor, action, detail) "
               "SELECT id, at, 'person:99', action, detail FROM audit_log WHERE seq = 2")
    db.close()
    result = verify(cli_env)                                  # …and the chain names what it did
    assert result.exit_code == 1 and "seq=2 is missing" in result.output


def test_a_row_slipped_in_around_the_application_is_named(cli_env, sqlite_url, clock):
    write_entries(sqlite_url, clock)
    db = attacker(sqlite_url)
    db.execute("INSERT INTO audit_log (at, actor, action, detail) VALUES ('2026-11-02 09:00:00', 'cli', 'x', '{}')")
    db.close()
    result = verify(cli_env)
    assert result.exit_code == 1 and "is not chained" in result.output


def test_the_migration_chains_the_entries_already_there(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0007")
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(text("INSERT INTO audit_log (at, actor, action, clause, detail) "
                              "VALUES (:at, 'system', 'case.warning', 'R8.2.1', :d)"),
                         {"at": (clock.now() + timedelta(seconds=i)).replace(tzinfo=None), "d": '{"n": %d}' % i})
    upgrade(engine)
    from sqlalchemy.orm import sessionmaker
    with sessionmaker(engine).begin() as s:
        audit.record(s, at=clock.now(), actor="system", action="after")
    with sessionmaker(engine)() as s:
        verdict = audit.verify(audit.chain(s))
    engine.dispose()
    assert verdict.ok and verdict.count == 4 and verdict.head_seq == 4


def test_the_head_is_posted_to_the_organisations_admins(container, clock):
    with container.sessions.begin() as s:
        audit.record(s, at=clock.now(), actor="system", action="x")
    audit_anchor.ensure_scheduled(container.ctx)
    audit_anchor.ensure_scheduled(container.ctx)              # every worker asks: one job stands
    clock.advance(hours=container.config.audit.anchor_every_hours, seconds=1)
    assert run_due(container.ctx, {audit_anchor.JOB: audit_anchor.anchor}) == 1
    with container.sessions() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "audit.anchored"))
        sent = [row.action for row in s.scalars(select(OutboxItem).where(OutboxItem.idempotency_key.like("audit.anchor:%")))]
        pending = s.scalar(select(func.count()).select_from(ScheduledJob).where(ScheduledJob.kind == audit_anchor.JOB,
                                                                                 ScheduledJob.status == "pending"))
    assert [a["user_id"] for a in sent] == ["adam"]           # the organisation-wide admin
    assert f"{entry.seq}:{entry.hash}" in sent[0]["text"] and pending == 1   # and the next one is scheduled


def test_postgres_refuses_truncate(postgres_url, clock):
    """PostgreSQL: UPDATE, DELETE and TRUNCATE are refused by triggers (the app role cannot drop them:
    docs/audit-log.md)."""
    engine = make_engine(postgres_url)
    from sqlalchemy.orm import sessionmaker
    with sessionmaker(engine).begin() as s:
        audit.record(s, at=clock.now(), actor="system", action="x")
    for statement in ("TRUNCATE audit_log", "DELETE FROM audit_log", "UPDATE audit_log SET actor = 'forged'"):
        with pytest.raises(DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    with sessionmaker(engine)() as s:
        assert audit.verify(audit.chain(s)).ok
    engine.dispose()


def test_concurrent_writers_keep_one_chain(db_url, clock):
    """Writers in parallel transactions still make one chain: the chain's lock orders them."""
    import threading

    from sqlalchemy.orm import sessionmaker
    engine = make_engine(db_url)
    sessions = sessionmaker(engine)

    def writer(n: int) -> None:
        for i in range(8):
            with sessions.begin() as s:
                audit.record(s, at=clock.now(), actor=f"writer:{n}", action="x", i=i)
                audit.record(s, at=clock.now(), actor=f"writer:{n}", action="y", i=i)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with sessions() as s:
        verdict = audit.verify(audit.chain(s))
    engine.dispose()
    assert verdict.ok, verdict.problem
    assert verdict.count == 64
