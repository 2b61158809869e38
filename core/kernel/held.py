"""What the database already holds of a batch of messages, read in one go outside any transaction: which
of their events were delivered before, which of the messages are archived, and their senders' accounts.
One statement on PostgreSQL (one round trip), three on SQLite (in-process calls).

The read is a snapshot: another process may commit the same keys a moment later. The writes that follow
(core/db/upsert.py `insert_all`) are each guarded by a unique key, so such a race doubles nothing; see
inbound.py for how the decisions taken on the snapshot are kept honest.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from core.db.upsert import driver_errors, pg_rows


@dataclass
class Held:
    events: set[tuple[str, str]]              # (platform, event_id) delivered before
    messages: set[tuple[str, str, str]]       # (platform, chat_id, message_id) archived before
    accounts: dict[tuple[str, str], tuple[int, int, str | None]]   # (platform, user_id): id, person, name


# Each key is looked up through its unique index, whatever the planner thinks of the tables' sizes: a LATERAL
# subquery with LIMIT 1 is a nested loop over the keys (a hash join read the whole table once it had grown).
_PG = (
    "SELECT 0, row_to_json(x) FROM unnest(CAST(%(ep)s AS text[]), CAST(%(ei)s AS text[])) AS k(platform, event_id) "
    "CROSS JOIN LATERAL (SELECT platform, event_id FROM inbound_events "
    "WHERE platform = k.platform AND event_id = k.event_id LIMIT 1) AS x "
    "UNION ALL SELECT 1, row_to_json(x) FROM unnest(CAST(%(mp)s AS text[]), CAST(%(mc)s AS text[]), "
    "CAST(%(mm)s AS text[])) AS k(platform, chat_id, message_id) "
    "CROSS JOIN LATERAL (SELECT platform, chat_id, message_id FROM messages "
    "WHERE platform = k.platform AND chat_id = k.chat_id AND message_id = k.message_id LIMIT 1) AS x "
    "UNION ALL SELECT 2, row_to_json(x) FROM unnest(CAST(%(ap)s AS text[]), CAST(%(au)s AS text[])) AS k(platform, user_id) "
    "CROSS JOIN LATERAL (SELECT platform, user_id, id, person_id, display_name FROM accounts "
    "WHERE platform = k.platform AND user_id = k.user_id LIMIT 1) AS x")


def read_held(conn: Any, dialect, events: Sequence[tuple[str, str]], messages: Sequence[tuple[str, str, str]],
              senders: Sequence[tuple[str, str]]) -> Held:
    held = Held(set(), set(), {})
    if dialect.name == "postgresql":
        params = {"ep": [k[0] for k in events], "ei": [k[1] for k in events],
                  "mp": [k[0] for k in messages], "mc": [k[1] for k in messages], "mm": [k[2] for k in messages],
                  "ap": [k[0] for k in senders], "au": [k[1] for k in senders]}
        with driver_errors(dialect, _PG, conn):
            rows = pg_rows(conn, _PG, params)
        for part, r in rows:
            if part == 0:
                held.events.add((r["platform"], r["event_id"]))
            elif part == 1:
                held.messages.add((r["platform"], r["chat_id"], r["message_id"]))
            else:
                held.accounts[(r["platform"], r["user_id"])] = (r["id"], r["person_id"], r["display_name"])
        return held
    for part, keys in enumerate((events, messages, senders)):
        if not keys:
            continue
        sql = _sqlite(part, len(keys))
        with driver_errors(dialect, sql, conn):
            rows = conn.execute(sql, [v for k in keys for v in k]).fetchall()
        for r in rows:
            if part == 0:
                held.events.add((r[0], r[1]))
            elif part == 1:
                held.messages.add((r[0], r[1], r[2]))
            else:
                held.accounts[(r[0], r[1])] = (r[2], r[3], r[4])
    return held


@lru_cache(maxsize=256)
def _sqlite(part: int, n: int) -> str:
    """SQLite: the keys as a VALUES list joined to the table, one index search per key (a row value
    `IN (VALUES ...)` read the whole table)."""
    table, columns = _SQLITE_PARTS[part]
    width = len(_SQLITE_KEYS[part])
    values = ", ".join(["(" + ", ".join("?" * width) + ")"] * n)
    on = " AND ".join(f"t.{name} = k.column{i + 1}" for i, name in enumerate(_SQLITE_KEYS[part]))
    return f"SELECT {', '.join('t.' + c for c in columns)} FROM (VALUES {values}) AS k JOIN {table} AS t ON {on}"


_SQLITE_KEYS = (("platform", "event_id"), ("platform", "chat_id", "message_id"), ("platform", "user_id"))
_SQLITE_PARTS = (("inbound_events", ("platform", "event_id")), ("messages", ("platform", "chat_id", "message_id")),
                 ("accounts", ("platform", "user_id", "id", "person_id", "display_name")))
