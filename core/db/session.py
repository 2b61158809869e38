"""Engines and sessions. SQLite runs in WAL mode with immediate transactions so the web threads
and the embedded worker never dead-lock on a lock upgrade; PostgreSQL is used as is. The commit gate
takes turns between a machine's processes for the group commit."""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.db.upsert import driver_errors

log = logging.getLogger("steward.db")

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


class CommitGate:
    """One group-commit leader at a time among the machine's processes: the leader takes this exclusive
    flock *before* it takes its batch, and what queued in its process meanwhile rides in that batch. The
    kernel wakes a waiting leader the moment the holder lets go; a process that dies lets go with it.

    - SQLite (`<database>-writer.lock` beside the file) allows one writer at a time anyway, and its own
      wait for the lock polls with growing sleeps (1, 2, 5 ... 100 ms): two web processes committing in
      turn left one asleep while the other took the lock again and again.
    - PostgreSQL (a lock file in the temporary directory named after the database): the machine's web
      processes share its cores, so committing in turn costs them no throughput, and each batch carries
      more events: 3.1-3.2 rather than 1.9 per transaction under `make bench`'s load (docs/scale.md).
      Held only while the batch is on the plain path (one statement): a batch that takes a transaction
      of several round trips (a first sender, a command, a ladder step) lets go as it begins it
      (`let_go_of_gate`), so the other processes' leaders never wait on those. Other machines keep their
      own gates; the database orders what they write. `required=False`: a lock file that cannot be
      opened (a read-only temporary directory), a symbolic link, or a file another user owns (it could
      hold the lock forever) costs the gate, with a warning, not the commit."""

    def __init__(self, path: str, required: bool = True, early: bool = False) -> None:
        self.path, self.required, self.early = path, required, early
        self._fd: int | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:                      # one leader per process at a time anyway
            fd = self._open()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            _HELD.gate = (self, fd)
            try:
                yield
            finally:
                if getattr(_HELD, "gate", None) is not None:
                    _HELD.gate = None
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int | None:
        if self._fd is None or self._pid != os.getpid():      # opened after a fork, once per process
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | (0 if self.required else os.O_NOFOLLOW), 0o600)
                if not self.required and os.fstat(fd).st_uid != os.getuid():
                    # a shared temporary directory: a file someone else made there could be held forever
                    os.close(fd)
                    raise PermissionError("the file belongs to another user")
                self._fd, self._pid = fd, os.getpid()
            except OSError as exc:
                if self.required:
                    raise
                log.warning("the commit gate %s cannot be used (%s); committing without it", self.path, exc)
                self._fd, self._pid = -1, os.getpid()
        return None if self._fd < 0 else self._fd


_HELD = threading.local()     # the gate this thread holds as a group commit's leader, and its file


def let_go_of_gate() -> None:
    """The batch of this thread's leader leaves the plain path (core/kernel/inbound.py): it takes a transaction
    of several round trips (a ladder step, a command), so a PostgreSQL gate is let go now for the other
    processes' leaders. SQLite's stays held: one writer at a time is SQLite's own rule."""
    held = getattr(_HELD, "gate", None)
    if held is not None and held[0].early:
        _HELD.gate = None
        fcntl.flock(held[1], fcntl.LOCK_UN)


def commit_gate(engine: Engine) -> CommitGate | None:
    """The gate for a SQLite file or a PostgreSQL database; None for in-memory SQLite (one process)."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        # named by where the rows go (a schema chosen in the URL's options is a database of its own here),
        # never by the password
        options = sorted((k, str(v)) for k, v in url.query.items() if k != "password")
        where = f"{url.host}:{url.port or 5432}/{url.database}?{options}"
        digest = hashlib.sha256(where.encode()).hexdigest()[:16]
        return CommitGate(os.path.join(tempfile.gettempdir(), f"steward-{digest}-commit.lock"), required=False,
                          early=True)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return CommitGate(f"{url.database}-writer.lock")
