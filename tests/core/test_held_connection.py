"""The group commit's leader keeps one connection (core.db.session.HeldConnection): the same connection
batch after batch, commits visible to everyone, follow-ups after the real commit, and a new connection
once the database dropped the old one, in a forked process, or after engine.dispose()."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import event, text

from core.db.session import HeldConnection, make_engine


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS held_probe (n INTEGER PRIMARY KEY)"))
        conn.execute(text("DELETE FROM held_probe"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE held_probe"))
    engine.dispose()


def driver_of(session):
    return session.connection().connection.driver_connection


def closed(dbapi_connection) -> bool:
    try:
        dbapi_connection.cursor().close()
    except Exception:       # sqlite3.ProgrammingError, psycopg.OperationalError: closed
        return True
    return False


def count(engine) -> int:
    with engine.connect() as conn:        # another connection: only what is committed
        return conn.execute(text("SELECT count(*) FROM held_probe")).scalar()


def test_batches_share_one_connection_and_commit_for_everyone(engine):
    held, seen, after = HeldConnection(engine), set(), []
    for n in range(3):
        with held() as s, s.begin():
            seen.add(id(driver_of(s)))
            s.execute(text("INSERT INTO held_probe VALUES (:n)"), {"n": n})
            event.listen(s, "after_commit", lambda _s: after.append(count(engine)), once=True)
    assert len(seen) == 1
    assert after == [1, 2, 3]          # each follow-up ran after its own commit, seen from outside
    with pytest.raises(RuntimeError), held() as s, s.begin():
        s.execute(text("INSERT INTO held_probe VALUES (99)"))
        raise RuntimeError("a batch fails")
    assert count(engine) == 3           # rolled back
    with held() as s, s.begin():         # and the connection serves the next batch
        assert id(driver_of(s)) in seen


def test_a_dropped_connection_is_replaced(engine):
    held = HeldConnection(engine)
    with pytest.raises(Exception), held() as s, s.begin():
        first = driver_of(s)
        s.connection().invalidate()      # what SQLAlchemy does when the database drops a connection
    with held() as s, s.begin():
        assert driver_of(s) is not first
        s.execute(text("INSERT INTO held_probe VALUES (1)"))
    assert count(engine) == 1


def test_postgres_terminating_the_backend_fails_one_batch_and_the_next_reconnects(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: a server-side disconnect")
    held = HeldConnection(engine)
    with held() as s, s.begin():
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
    with engine.begin() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(Exception), held() as s, s.begin():
        s.execute(text("INSERT INTO held_probe VALUES (1)"))
    with held() as s, s.begin():
        assert s.execute(text("SELECT pg_backend_pid()")).scalar() != pid
        s.execute(text("INSERT INTO held_probe VALUES (2)"))
    assert count(engine) == 1


def test_dispose_closes_it(engine):
    held = HeldConnection(engine)
    with held() as s, s.begin():
        first = driver_of(s)
    engine.dispose()
    assert closed(first)
    with held() as s, s.begin():
        assert driver_of(s) is not first


def test_a_forked_process_opens_its_own_and_leaves_the_parents_alone(engine):
    held = HeldConnection(engine)
    with held() as s, s.begin():
        parent = driver_of(s)
    pid = os.fork()
    if pid == 0:                         # the child: a connection of its own, the parent's left open
        try:
            with held() as s, s.begin():
                ok = driver_of(s) is not parent and not closed(parent)
                s.execute(text("INSERT INTO held_probe VALUES (7)"))
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with held() as s, s.begin():         # the parent's connection still works
        assert driver_of(s) is parent
        assert s.execute(text("SELECT count(*) FROM held_probe")).scalar() == 1


def test_an_old_connection_is_recycled_before_a_batch_finds_it_dropped(engine):
    held = HeldConnection(engine, recycle=-1)     # every call: older than that
    with held() as s, s.begin():
        first = driver_of(s)
    with held() as s, s.begin():
        assert driver_of(s) is not first
        s.execute(text("INSERT INTO held_probe VALUES (1)"))
    assert closed(first) and count(engine) == 1
