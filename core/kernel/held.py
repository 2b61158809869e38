"""What the database already holds of a batch of messages, read in one statement outside any transaction
(on a connection from core/db/upsert.py `outside_transaction`): which of their events were delivered
before, which of the messages are archived, and their senders' accounts.

The read is a snapshot: another process may commit the same keys a moment later. The writes that follow
(core/db/upsert.py `insert_all`) are each guarded by a unique key, so such a race doubles nothing; see
inbound.py for how the decisions taken on the snapshot are kept honest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from core.db.upsert import driver_errors, pg_rows


@dataclass
class Held:
    events: set[tuple[str, str]]              # (platform, event_id) delivered before
    messages: set[tuple[str, str, str]]       # (platform, chat_id, message_id) archived before
    accounts: dict[tuple[str, str], tuple[int, int, str | None]]   # (platform, user_id): id, person, name
    read: bool = True                         # False: the accounts from the process's cache, nothing read


# Each key is looked up through its unique index, whatever the planner thinks of the tables' sizes: a LATERAL
# subquery with LIMIT 1 is a nested loop over the keys (a hash join read the whole table once it had grown).
# The keys go as one JSON parameter and the rows come back as plain columns: psycopg's Python dumps a list
# parameter element by element and parses a JSON column with json.loads, each costing more than the query.
_PG = (
    "WITH k AS (SELECT CAST(%(keys)s AS json) AS k) "
    "SELECT 0, x.platform, x.event_id, NULL::text, NULL::integer, NULL::integer, NULL::text FROM k CROSS JOIN json_array_elements(k.k -> 0) AS j "
    "CROSS JOIN LATERAL (SELECT platform, event_id FROM inbound_events "
    "WHERE platform = j ->> 0 AND event_id = j ->> 1 LIMIT 1) AS x "
    "UNION ALL SELECT 1, x.platform, x.chat_id, x.message_id, NULL, NULL, NULL FROM k "
    "CROSS JOIN json_array_elements(k.k -> 1) AS j CROSS JOIN LATERAL (SELECT platform, chat_id, message_id "
    "FROM messages WHERE platform = j ->> 0 AND chat_id = j ->> 1 AND message_id = j ->> 2 LIMIT 1) AS x "
    "UNION ALL SELECT 2, x.platform, x.user_id, NULL, x.id, x.person_id, x.display_name FROM k "
    "CROSS JOIN json_array_elements(k.k -> 2) AS j CROSS JOIN LATERAL (SELECT platform, user_id, id, person_id, "
    "display_name FROM accounts WHERE platform = j ->> 0 AND user_id = j ->> 1 LIMIT 1) AS x")


def read_held(conn: Any, dialect, events: Sequence[tuple[str, str]], messages: Sequence[tuple[str, str, str]],
              senders: Sequence[tuple[str, str]]) -> Held:
    if dialect.name == "postgresql":
        sql = _PG
        with driver_errors(dialect, sql, conn):
            rows = pg_rows(conn, sql, {"keys": json.dumps([events, messages, senders], ensure_ascii=False)})
    else:
        sql = _sqlite(len(events), len(messages), len(senders))
        with driver_errors(dialect, sql, conn):
            rows = conn.execute(sql, [v for keys in (events, messages, senders) for k in keys for v in k]).fetchall()
    held = Held(set(), set(), {})
    for part, a, b, c, account_id, person_id, name in rows:     # both: (part, three keys, an account)
        if part == 0:
            held.events.add((a, b))
        elif part == 1:
            held.messages.add((a, b, c))
        else:
            held.accounts[(a, b)] = (account_id, person_id, name)
    return held


@lru_cache(maxsize=256)
def _sqlite(*counts: int) -> str:
    """SQLite, in one statement (each call lets go of the GIL, a chance for the process's other threads to
    take it): for each part, the keys as a VALUES list joined to the table, one index search per key (a
    row value `IN (VALUES ...)` read the whole table)."""
    selects = []
    for part, n in enumerate(counts):
        if not n:
            continue
        table, key, account = _SQLITE_PARTS[part]
        values = ", ".join(["(" + ", ".join("?" * len(key)) + ")"] * n)
        on = " AND ".join(f"t.{name} = k.column{i + 1}" for i, name in enumerate(key))
        columns = [f"t.{c}" for c in key] + ["NULL"] * (3 - len(key)) + [f"t.{c}" if account else "NULL"
                                                                          for c in ("id", "person_id", "display_name")]
        selects.append(f"SELECT {part}, {', '.join(columns)} FROM (VALUES {values}) AS k JOIN {table} AS t ON {on}")
    return " UNION ALL ".join(selects)


_SQLITE_PARTS = (("inbound_events", ("platform", "event_id"), False),
                 ("messages", ("platform", "chat_id", "message_id"), False),
                 ("accounts", ("platform", "user_id"), True))
