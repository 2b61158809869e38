"""INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL: one round trip, no exception path.

The statement is built once per (dialect, table) and executed at Core level with bound values:
this is the hot path of every inbound event.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Table, text
from sqlalchemy.orm import Session


@lru_cache(maxsize=None)
def _statement(dialect: str, table: Table, returning: tuple[str, ...] = ("id",)):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing().returning(*(table.c[name] for name in returning))


def insert_ignore(session: Session, model: type, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds it; True when a row was inserted."""
    connection = session.connection()
    table = model.__table__
    row = connection.execute(_statement(connection.dialect.name, table), values).first()
    return row is not None


def insert_many_ignore(session: Session, model: type, rows: list[dict[str, Any]],
                       key: tuple[str, ...]) -> set[tuple]:
    """Insert the rows no unique constraint already holds, in one statement; returns the `key` columns'
    values of the rows inserted. Rows repeating a key within `rows` count once."""
    if not rows:
        return set()
    connection = session.connection()
    if len(rows) > 1 and connection.dialect.name == "postgresql":
        return _postgres_recordset(connection, model.__table__, rows, key)
    # one row: a plain execute, cheaper than the executemany machinery (the direct mode's every request)
    result = connection.execute(_statement(connection.dialect.name, model.__table__, key),
                                rows[0] if len(rows) == 1 else rows)
    return {tuple(row) for row in result}


def _postgres_recordset(connection, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]) -> set[tuple]:
    """PostgreSQL: the rows as one JSON parameter, unpacked by json_populate_recordset, so the statement
    text is the same for any number of rows (psycopg caches and prepares it; a multi-row VALUES with
    hundreds of placeholders would be parsed again on every batch)."""
    columns = tuple(rows[0])
    convert = _converters(connection.dialect, table, columns)
    payload = json.dumps([{c: convert[c](row[c]) for c in columns} for row in rows], ensure_ascii=False,
                         default=_json_default)
    result = connection.execute(_recordset_statement(table, columns, key), {"rows": payload})
    return {tuple(row) for row in result}


@lru_cache(maxsize=None)
def _recordset_statement(table: Table, columns: tuple[str, ...], key: tuple[str, ...]):
    names, returning = ", ".join(columns), ", ".join(key)
    return text(f"INSERT INTO {table.name} ({names}) SELECT {names} "
                f"FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json)) "
                f"ON CONFLICT DO NOTHING RETURNING {returning}")


def _converters(dialect, table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
    """Each column's value as its bind processor would send it (a UTC datetime made naive, say); JSON
    columns stay nested objects."""
    out = {}
    for name in columns:
        column_type = table.c[name].type
        processor = None if isinstance(column_type, JSON) else column_type.bind_processor(dialect)
        out[name] = processor or (lambda value: value)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a JSON recordset")
