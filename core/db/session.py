"""Engines and sessions. SQLite runs in WAL mode with immediate transactions so the web threads
and the embedded worker never dead-lock on a lock upgrade; PostgreSQL is used as is."""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.db.upsert import driver_errors

DEFAULT_URL = "sqlite:///steward.db"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        # psycopg 3 is the driver we ship; accept plain postgresql:// URLs.
        parsed = parsed.set(drivername="postgresql+psycopg")
    # pool_recycle instead of pool_pre_ping: no extra round trip per request on the hot path;
    # a connection dropped by the server fails one transaction, which the platform retries.
    return create_engine(parsed, pool_recycle=1800, pool_size=10, max_overflow=10)


def _sqlite_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # INSERT OR REPLACE deletes the row it replaces; with recursive triggers that delete fires the audit
    # log's BEFORE DELETE trigger, which refuses it (docs/audit-log.md)
    cur.execute("PRAGMA recursive_triggers=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn) -> None:
    # straight to the driver: this runs for every transaction, and SQLAlchemy's execution path (events,
    # result set-up) costs more than the statement itself; a locked file still fails as SQLAlchemy's error
    raw = conn.connection.driver_connection
    with driver_errors(conn.dialect, "BEGIN IMMEDIATE", raw):
        raw.execute("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class WriterGate:
    """SQLite allows one writer at a time, and its own wait for the lock polls with growing sleeps (1, 2,
    5 ... 100 ms): two web processes committing in turn left one asleep while the other took the lock
    again and again. The group commit's leader takes this exclusive flock on `<database>-writer.lock`
    *before* it takes its batch: the kernel wakes it as soon as the other process has committed, and what
    queued meanwhile rides in its batch."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:                      # one leader per process at a time anyway
            if self._fd is None or self._pid != os.getpid():    # opened after a fork, once per process
                self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def writer_gate(engine: Engine) -> WriterGate | None:
    """The gate for a SQLite file; None for PostgreSQL (row locks, many writers) and in-memory SQLite."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return WriterGate(f"{url.database}-writer.lock")
