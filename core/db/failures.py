"""Telling a database that is away from a statement that fails.

Both reach the caller as exceptions, and SQLite reports some limits of a single statement ("too many SQL
variables", "Expression tree is too large") as OperationalError, the very class a lost connection has.
The two call for opposite answers:

- away (the connection was refused or lost, the file is locked or unreadable, PostgreSQL is shutting
  down, a serialization failure): nothing about the event is wrong, so it is retried — the webhook
  answers 503 and the platform sends it again; the spool waits and retries;
- the statement fails (integrity, data, programming errors, a limit of one statement, or a bug in
  Python): the same event will fail every time, so it is set aside with its error (a poison message)
  and the platform gets its 200, or it would retry it forever.
"""
from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLite: OperationalError messages that come from the statement, not from the database's availability.
_SQLITE_STATEMENT = ("too many sql variables", "expression tree is too large", "too many terms",
                     "pattern too complex", "string or blob too big", "too many columns", "too many arguments",
                     "parser stack overflow", "interrupted")
# PostgreSQL SQLSTATE classes of a failing statement: 22 data exception, 23 integrity constraint
# violation, 42 syntax error or access rule violation, 54 program limit exceeded.
_PG_STATEMENT_CLASSES = ("22", "23", "42", "54")


def database_away(exc: BaseException) -> bool:
    """True when the database could not be used at all (retry later), False when this statement or
    this event is at fault (set it aside)."""
    if isinstance(exc, (DisconnectionError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _PG_STATEMENT_CLASSES:
        return False
    message = str(orig or exc).lower()
    return not any(marker in message for marker in _SQLITE_STATEMENT)
