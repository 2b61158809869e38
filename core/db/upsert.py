"""INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL: one round trip, no exception path (or, asked,
a plain INSERT, which fails when a unique key holds a row already).

This is the hot path of every inbound event (de-duplication, the archive, the jobs a message schedules),
so the statement is rendered once per (dialect, table, columns) and sent straight to the driver's
connection inside the session's transaction, with each value converted as its column type's bind
processor would (a UTC datetime made naive, JSON serialised): SQLAlchemy's execution path (compiled
cache lookup, execution context, result set-up, events) cost several times the statement itself.
"""
from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Iterator, NamedTuple

import orjson
from sqlalchemy import JSON, Table, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.db.types import UTCDateTime, naive_utc

_DRIVER = "steward.driver_connection"


class driver_errors:
    """The driver's own errors raised as SQLAlchemy raises them for any other statement (OperationalError,
    IntegrityError ..., with `connection_invalidated` for a lost connection): core/db/failures.py then
    tells an outage (retry, 503) from a failing statement (set aside), as for every other statement.
    A class rather than a generator: it wraps every statement of the hot path."""

    __slots__ = ("dialect", "statement", "conn", "lost")

    def __init__(self, dialect, statement: str, conn: Any = None, lost: bool = False) -> None:
        """`lost`: every error means the connection is unusable (making or setting one up)."""
        self.dialect, self.statement, self.conn, self.lost = dialect, statement, conn, lost

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, _tb) -> None:
        dialect = self.dialect
        if exc is not None and isinstance(exc, dialect.loaded_dbapi.Error):
            lost = self.lost or dialect.is_disconnect(exc, self.conn, None)
            raise DBAPIError.instance(self.statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect,
                                      connection_invalidated=lost) from exc


def pg_rows(conn: Any, sql: str, params: Any) -> list:
    """PostgreSQL: run a statement on the driver's connection and fetch its rows, through one cursor kept on
    the connection. psycopg's `Connection.execute` makes a new cursor for every statement, about 25 of the
    130 µs of CPU a statement costs the web process here. The cursor lives and dies with its connection (a
    reconnect brings a new one); a connection serves one transaction, in one thread, at a time."""
    cursor = getattr(conn, _CURSOR, None)
    if cursor is None or cursor.closed:
        cursor = conn.cursor()
        setattr(conn, _CURSOR, cursor)
    cursor.execute(sql, params)
    return cursor.fetchall()


_CURSOR = "_steward_cursor"


def driver(session: Session) -> tuple[Any, Any]:
    """The driver's connection under the session's transaction (begun if need be), and the dialect."""
    pinned = session.info.get(_DRIVER)
    if pinned is not None:
        return pinned
    connection = session.connection()
    return connection.connection.driver_connection, connection.dialect


@contextmanager
def pinned(session: Session) -> Iterator[None]:
    """Within one transaction, `driver` answers without asking the session each time (its bookkeeping
    costs more than a statement): for a caller that begins and ends the transaction around it."""
    session.info[_DRIVER] = driver(session)
    try:
        yield
    finally:
        session.info.pop(_DRIVER, None)


def insert_ignore(session: Session, model: type, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds it; True when a row was inserted."""
    key = tuple(c.name for c in model.__table__.primary_key.columns)
    return bool(insert_many_ignore(session, model, [values], key))


def insert_many_ignore(session: Session, model: type, rows: list[dict[str, Any]],
                       key: tuple[str, ...], keep_order: bool = False) -> set[tuple]:
    """Insert the rows no unique constraint already holds; returns the `key` columns' values of the rows
    inserted. Rows repeating a key within `rows` count once. Every row names the same columns.

    PostgreSQL inserts them in the order of `key` unless `keep_order` (ids then follow `rows`)."""
    if not rows:
        return set()
    conn, dialect = driver(session)
    return insert_rows(conn, dialect, model, rows, key, keep_order)


def insert_rows(conn: Any, dialect, model: type, rows: list[dict[str, Any]], key: tuple[str, ...],
                keep_order: bool = False, ignore: bool = True, computed: tuple = ()) -> set[tuple]:
    """`insert_many_ignore` on a driver connection (in a transaction or not: on its own the statement is
    one)."""
    table, columns = model.__table__, tuple(rows[0])
    if dialect.name == "postgresql":
        return _postgres_recordset(conn, dialect, table, rows, columns, key, keep_order, ignore, computed)
    # SQLite: a multi-row VALUES, whose rows are inserted in order
    convert = _sqlite_converters(dialect, table, columns)
    values = [c(row[name]) if c else row[name] for row in rows for name, c in zip(columns, convert)]
    new, width = set(), len(columns)
    for start in range(0, len(rows), SQLITE_ROWS):     # one statement per chunk, not per row
        count = min(SQLITE_ROWS, len(rows) - start)
        chunk = values[start * width:(start + count) * width]
        sql = _sqlite_statement(dialect, table, columns, key, count, ignore, computed)
        with driver_errors(dialect, sql, conn):
            new.update(map(tuple, conn.execute(sql, chunk)))
    return new


_IGNORE = "ON CONFLICT DO NOTHING "

# Rows per SQLite statement: each statement is a call that lets go of the GIL, a chance for another of the
# process's threads to take it (two context switches); the statements are cached per row count.
SQLITE_ROWS = 64


@lru_cache(maxsize=None)
def _sqlite_converters(dialect, table: Table, columns: tuple[str, ...]):
    return tuple(_bind(dialect, table, name) for name in columns)


def _bind(dialect, table: Table, name: str) -> Callable[[Any], Any] | None:
    """The column's bind processor as SQLAlchemy runs it: the type adapted to the dialect first. The type's
    own processor skips the dialect's part: SQLite's datetimes then went to sqlite3's deprecated default
    adapter, which writes a whole second without ".000000", so the stored text compared as earlier than
    the same time bound by any other statement."""
    column_type = table.c[name].type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite" and all(
            process(probe) == _sqlite_utc(probe) for probe in _PROBES):
        return _sqlite_utc      # the same text, by datetime's own C code rather than a format over a dict
    return process


def _sqlite_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is timezone.utc:    # the clock's own: the text less its "+00:00", no datetime made
        return value.isoformat(" ", "microseconds")[:-6]
    return naive_utc(value).isoformat(" ", "microseconds")


_PROBES = (datetime(2026, 12, 7, 9, tzinfo=timezone.utc), datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
           datetime(2026, 12, 7, 17, 0, 1, 250000, tzinfo=timezone(timedelta(hours=8))))


@lru_cache(maxsize=1024)
def _sqlite_statement(dialect, table: Table, columns: tuple[str, ...], key: tuple[str, ...], count: int,
                      ignore: bool = True, computed: tuple = ()) -> str:
    q = dialect.identifier_preparer.quote
    row = f"({', '.join('?' * len(columns))})"
    values = f"VALUES {', '.join([row] * count)}"
    if computed:     # SQLite's upsert after INSERT ... SELECT needs a WHERE to parse
        refs = {name: f"r.column{i + 1}" for i, name in enumerate(columns)}
        values = f"SELECT {_select_list(columns, refs, computed)} FROM ({values}) AS r WHERE true"
    return (f"INSERT INTO {q(table.name)} ({', '.join(map(q, columns))}) {values} "
            f"{_IGNORE if ignore else ''}RETURNING {', '.join(map(q, key))}")


def _select_list(columns: tuple[str, ...], refs: dict[str, str], computed: tuple) -> str:
    """Each column's value from the row (`refs`), or, for a `computed` one, its SQL expression over the row's
    values ("{name}" standing for the row's value of a column)."""
    exprs = dict(computed)
    return ", ".join(exprs[name].format(**refs) if name in exprs else refs[name] for name in columns)


def insert_many_ignore_reading(session: Session, model: type, rows: list[dict[str, Any]], key: tuple[str, ...],
                               query: str, params: dict[str, Any]) -> tuple[set[tuple], list[dict]] | None:
    """PostgreSQL: `insert_many_ignore` and a read-only `query` (named %(params)s, not `rows`) in one
    statement, so one round trip instead of two; returns the keys inserted and the query's rows as dicts.
    The query sees the database as the statement began (not these rows). None on another database."""
    conn, dialect = driver(session)
    if dialect.name != "postgresql" or not rows:
        return None
    table, columns = model.__table__, tuple(rows[0])
    insert, convert = _recordset_statement(dialect, table, columns, key)
    nulls = ", ".join("NULL" for _ in key)
    sql = (f"WITH inserted AS ({insert}) SELECT NULL::json, {', '.join(key)} FROM inserted "
           f"UNION ALL SELECT row_to_json(q), {nulls} FROM ({query}) AS q")
    new, read = set(), []
    with driver_errors(dialect, sql, conn):
        result = pg_rows(conn, sql, {"rows": _recordset_payload(rows, columns, key, convert, False), **params})
    for row in result:
        if row[0] is None:
            new.add(tuple(row[1:]))
        else:
            read.append(row[0])
    return new, read


def _postgres_recordset(conn, dialect, table: Table, rows: list[dict[str, Any]], columns: tuple[str, ...],
                        key: tuple[str, ...], keep_order: bool, ignore: bool = True, computed: tuple = ()) -> set[tuple]:
    """PostgreSQL: the rows as one JSON parameter, unpacked by json_populate_recordset, so the statement
    text is the same for any number of rows (psycopg prepares it; a multi-row VALUES with hundreds of
    placeholders would be parsed again on every batch). The rows go in the order of their key, so two
    transactions inserting overlapping keys take the unique index's locks in the same order: two batches
    holding a key each and waiting for the other's was a deadlock (PostgreSQL aborts one, it is retried).
    The archive keeps its order (its ids are the order messages arrived); a redelivery waits on the
    de-duplication's key first."""
    sql, convert = _recordset_statement(dialect, table, columns, key, ignore=ignore, computed=computed)
    payload = _recordset_payload(rows, columns, key, convert, keep_order)
    with driver_errors(dialect, sql, conn):
        return {tuple(row) for row in pg_rows(conn, sql, {"rows": payload})}


def _recordset_payload(rows: list[dict[str, Any]], columns: tuple[str, ...], key: tuple[str, ...], convert,
                       keep_order: bool) -> str:
    """The rows as the JSON text json_populate_recordset reads: only the columns with a converter (`convert`:
    (column, function) pairs; a UTC datetime made naive) are copied and converted. orjson, not the standard
    library's json: on the hot path it encodes a batch's rows about nine times faster (measured here: 1.4
    against 12.3 µs for two archived messages), and it writes datetimes, nested job payloads and text as
    json.dumps(ensure_ascii=False) did, so the database reads the same values."""
    if len(rows) > 1 and not keep_order:
        rows = sorted(rows, key=lambda row: tuple(_sortable(row[name]) for name in key))
    if convert:
        rows = [{**row, **{name: c(row[name]) for name, c in convert}} for row in rows]
    try:
        return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        # what orjson does not write (an integer beyond 64 bits in an event set aside, say): the standard
        # library writes it, so such a row is stored as it always was rather than failing its batch
        return json.dumps(rows, ensure_ascii=False, default=_json_default)


@lru_cache(maxsize=None)
def _recordset_statement(dialect, table: Table, columns: tuple[str, ...], key: tuple[str, ...], param: str = "rows",
                         ignore: bool = True, computed: tuple = ()):
    q = dialect.identifier_preparer.quote
    names, name = ", ".join(map(q, columns)), q(table.name)
    selected = _select_list(columns, {c: f"r.{q(c)}" for c in columns}, computed)
    sql = (f"INSERT INTO {name} ({names}) SELECT {selected} "
           f"FROM json_populate_recordset(NULL::{name}, CAST(%({param})s AS json)) AS r "
           f"{_IGNORE if ignore else ''}RETURNING {', '.join(map(q, key))}")
    return sql, tuple((name, c) for name in columns if (c := _converter(dialect, table, name)) is not None)


class Rows(NamedTuple):
    """Rows for one table, for `insert_all`: inserted unless a unique constraint holds them already, or, not
    `ignore`, all new: a row a unique constraint holds already fails the whole (IntegrityError). `computed`:
    (column, SQL expression) pairs whose value the database works out as it writes (see `_select_list`).
    A named tuple, not a frozen dataclass: a batch makes several, and a frozen dataclass costs four times as
    much to make."""
    model: type
    rows: list[dict[str, Any]]
    key: tuple[str, ...]
    keep_order: bool = False
    ignore: bool = True
    computed: tuple[tuple[str, str], ...] = ()


def insert_all(conn: Any, dialect, parts: list[Rows]) -> list[set[tuple]]:
    """Several tables' `insert_rows`, atomically; returns each part's keys inserted (on PostgreSQL as text:
    the keys Steward writes this way are text). PostgreSQL: one
    statement (each INSERT a data-modifying WITH query), so one round trip, and on a connection of
    `outside_transaction` (autocommit) its own transaction with no BEGIN or COMMIT to send. SQLite: the
    INSERTs in turn, inside BEGIN IMMEDIATE ... COMMIT unless the connection is in a transaction already."""
    present = [part for part in parts if part.rows]
    if not present:
        return [set() for _ in parts]
    if dialect.name != "postgresql":
        own = not conn.in_transaction
        if own:
            with driver_errors(dialect, "BEGIN IMMEDIATE", conn):
                conn.execute("BEGIN IMMEDIATE")
        try:
            new = [insert_rows(conn, dialect, p.model, p.rows, p.key, p.keep_order, p.ignore, p.computed)
                   if p.rows else set()
                   for p in parts]
            if own:
                with driver_errors(dialect, "COMMIT", conn):
                    conn.execute("COMMIT")
        except BaseException:
            if own and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return new
    shape = tuple((p.model.__table__, tuple(p.rows[0]), p.key, p.ignore, p.computed) for p in present)
    sql, converters = _all_statement(dialect, shape)
    params = {f"rows{i}": _recordset_payload(p.rows, columns, p.key, convert, p.keep_order)
              for i, (p, (_, columns, *_), convert) in enumerate(zip(present, shape, converters))}
    with driver_errors(dialect, sql, conn):
        result = pg_rows(conn, sql, params)
    found: list[set[tuple]] = [set() for _ in present]
    for i, *key in result:
        found[i].add(tuple(key[:len(present[i].key)]))
    by_part = iter(found)
    return [next(by_part) if p.rows else set() for p in parts]


@lru_cache(maxsize=64)
def _all_statement(dialect, shape: tuple) -> tuple[str, tuple]:
    """The keys come back as text columns, padded with NULLs to the widest key (a JSON column would be
    parsed by json.loads, row by row, in Python)."""
    withs, selects, converters = [], [], []
    width = max(len(key) for _, _, key, _, _ in shape)
    q = dialect.identifier_preparer.quote
    for i, (table, columns, key, ignore, computed) in enumerate(shape):
        insert, convert = _recordset_statement(dialect, table, columns, key, f"rows{i}", ignore, computed)
        withs.append(f"i{i} AS ({insert})")
        values = [f"CAST({q(name)} AS text)" for name in key] + ["NULL"] * (width - len(key))
        selects.append(f"SELECT {i}, {', '.join(values)} FROM i{i}")
        converters.append(convert)
    return f"WITH {', '.join(withs)} {' UNION ALL '.join(selects)}", tuple(converters)


@contextmanager
def outside_transaction(engine) -> Iterator[tuple[Any, Any]]:
    """A driver connection outside any transaction, for statements that are each their own (PostgreSQL's
    autocommit, kept on while the connection is set aside; Steward's SQLite connections send BEGIN by
    hand), and the dialect.

    The connection is set aside for the next call, whichever thread makes it (checking one out of the pool
    and back cost a batch of ordinary chat more than its statement): at most KEEPERS in a process, so they
    never take the pool's every connection; given back should the call fail, should the pool have retired
    its connections since, and after KEEP_SECONDS (the engine's pool_recycle). No thread owns one, so a
    thread that ends leaves nothing behind. A connection that cannot be had is an outage, raised as
    SQLAlchemy raises it (core/db/failures.py `database_away`: the webhook answers 503 and the platform
    retries), not a failing event. A connection the database dropped is discarded, and with it the pool's
    older ones, as SQLAlchemy does on a disconnect (they went with the same restart)."""
    dialect, kept = engine.dialect, _take(engine)
    if kept is None:
        with driver_errors(dialect, "connect", None, lost=True):
            proxy = engine.raw_connection()
            if dialect.name == "postgresql":
                if not event.contains(engine, "reset", _autocommit_off):
                    event.listen(engine, "reset", _autocommit_off)
                proxy.driver_connection.autocommit = True
        kept = _Kept(engine, dialect, proxy, time.time())
    proxy = kept.proxy
    conn = proxy.driver_connection
    try:
        yield conn, dialect
    except BaseException as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated and proxy.is_valid:
            engine.pool._invalidate(proxy, exc)     # what SQLAlchemy's Connection does on a disconnect
        _give_back(dialect, proxy, conn)
        raise
    if _idle(dialect, conn):
        _set_aside(kept)
    else:
        _give_back(dialect, proxy, conn)


class _Kept(NamedTuple):
    engine: Any         # its pool refers to it anyway: a set-aside connection keeps its engine alive
    dialect: Any
    proxy: Any
    since: float


KEEP_SECONDS = 1800
# Connections set aside in a process, whatever their engine (the group commit's leader and a spool's thread
# need no more): a process with many engines (the tests, a CLI run beside the server) holds no more than
# these, and the oldest goes back to its pool when another is set aside.
KEEPERS = 2
_aside: list[_Kept] = []
_aside_lock = threading.Lock()
# A forked child's copies of its parent's set-aside connections: the parent's sessions on the server, on
# sockets the two processes share. The child never uses them nor hands them to its pool (a session of the
# child's would then talk on the parent's socket); it holds them here instead.
_inherited: list[_Kept] = []


def _after_fork_in_child() -> None:
    global _aside_lock
    _aside_lock = threading.Lock()       # a thread of the parent may have held it as the process forked
    _inherited.extend(_aside)
    _aside.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _take(engine) -> _Kept | None:
    with _aside_lock:
        for i in range(len(_aside) - 1, -1, -1):      # the newest first
            kept = _aside[i]
            if kept.engine is engine:
                del _aside[i]
                if _fresh(engine, kept.proxy, kept.since):
                    return kept
                _give_back(kept.dialect, kept.proxy, kept.proxy.driver_connection)
    return None


def _set_aside(kept: _Kept) -> None:
    with _aside_lock:
        _aside.append(kept)
        while len(_aside) > KEEPERS:
            oldest = _aside.pop(0)
            _give_back(oldest.dialect, oldest.proxy, oldest.proxy.driver_connection)


def _fresh(engine, proxy, since: float) -> bool:
    """Still the engine's pool's (not one `engine.dispose()` replaced), not retired since, not too old."""
    return (proxy.is_valid and getattr(proxy, "_pool", None) is engine.pool
            and since > getattr(engine.pool, "_invalidate_time", 0) and time.time() - since < KEEP_SECONDS)


def _idle(dialect, conn) -> bool:
    if dialect.name == "postgresql":
        return not conn.closed and conn.pgconn.transaction_status == 0      # libpq's PQTRANS_IDLE
    return not conn.in_transaction


def _give_back(dialect, proxy, conn) -> None:
    """Back to the pool (`_autocommit_off` resets it), or discarded if the server closed it."""
    if not proxy.is_valid:
        return
    if dialect.name == "postgresql" and conn.closed:
        proxy.invalidate()
    else:
        proxy.close()


def _autocommit_off(dbapi_connection, _record, _state) -> None:
    """PostgreSQL: every connection goes back to the pool with autocommit off, whether `_give_back` returns
    it or the pool collects one nobody gave back (a thread's, once): a session handed one in autocommit
    would commit each statement as it runs, and its rollback would undo nothing. A connection that cannot
    be switched (closed, or not idle) raises, and the pool discards it."""
    if dbapi_connection.autocommit:
        dbapi_connection.autocommit = False


def _converter(dialect, table: Table, name: str) -> Callable[[Any], Any] | None:
    """A column's value as its bind processor would send it (a UTC datetime made naive, say); JSON columns
    stay nested objects inside the recordset."""
    return None if isinstance(table.c[name].type, JSON) else _bind(dialect, table, name)


def _sortable(value: Any) -> tuple:
    return (value is None, "" if value is None else value)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):      # a datetime too
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a JSON recordset")
