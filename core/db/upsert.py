"""INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL: one round trip, no exception path.

The statement is built once per (dialect, table) and executed at Core level with bound values:
this is the hot path of every inbound event.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table
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
    # one row: a plain execute, cheaper than the executemany machinery (the direct mode's every request)
    result = connection.execute(_statement(connection.dialect.name, model.__table__, key),
                                rows[0] if len(rows) == 1 else rows)
    return {tuple(row) for row in result}
