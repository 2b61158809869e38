"""The append-only audit log: every decision and every admin action lands here.

Tamper-evident (docs/audit-log.md): each entry carries `seq` (1, 2, 3, … with no gap), the hash of the
entry before it and its own hash, SHA-256 over a canonical JSON of its fields and that previous hash. A row
rewritten, deleted, replaced or slipped in breaks the chain at that entry, and `steward audit verify` names
it; the head hash is posted to the organisation's admins on a schedule (`anchor`), so even a rewrite of the
whole chain from some entry on no longer matches what they were sent.

Total order. Entries are chained in the order their transactions take the chain's lock, and that lock is
held until commit, so the entry read as the head is always the last committed one:
- PostgreSQL: `pg_advisory_xact_lock(AUDIT_LOCK)`, taken before the head is read (two writers never read
  the same head; the second waits until the first commits, then sees its entry);
- SQLite: every transaction starts with BEGIN IMMEDIATE (core/db/session.py), so writers are already one at a
  time for the whole transaction.
Transactions that write audit entries are therefore serialised on PostgreSQL from their first entry to
their commit; entries are written at decisions, not for every message, which keeps that short.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.db.models import AuditEntry

GENESIS = "0" * 64
AUDIT_LOCK = 0x5374_6577_4175_6474 & 0x7FFF_FFFF_FFFF_FFFF    # "StewAudt": one advisory lock for the chain


def record(session: Session, *, at: datetime, actor: str, action: str, clause: str | None = None,
           group_id: int | None = None, person_id: int | None = None, case_number: str | None = None,
           **detail: Any) -> AuditEntry:
    seq, prev = _head(session)
    entry = AuditEntry(at=at, actor=actor, action=action, clause=clause, group_id=group_id,
                       person_id=person_id, case_number=case_number, detail=_plain(detail))
    entry.seq, entry.prev_hash = seq + 1, prev
    entry.hash = entry_hash(fields_of(entry), prev)
    session.add(entry)
    return entry


_HEAD = (select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.is_not(None))
         .order_by(AuditEntry.seq.desc()).limit(1))    # built once: every audited decision reads it


def _head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the last entry, under the chain's lock (held until this transaction ends)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
    with session.no_autoflush:   # entries of this transaction not flushed yet are in session.new
        row = session.execute(_HEAD).first()
    head = (row.seq, row.hash) if row else (0, GENESIS)
    pending = [e for e in session.new if isinstance(e, AuditEntry) and e.seq is not None]
    return max([head, *((e.seq, e.hash) for e in pending)])


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as the JSON column gives it back (tuples become lists, ...), so the hash survives storage."""
    return json.loads(json.dumps(detail, ensure_ascii=False, default=str))


def fields_of(entry: AuditEntry) -> dict[str, Any]:
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc)
    return {"seq": entry.seq, "at": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": entry.actor, "action": entry.action, "clause": entry.clause, "group_id": entry.group_id,
            "person_id": entry.person_id, "case_number": entry.case_number, "detail": entry.detail or {}}


def entry_hash(fields: dict[str, Any], prev: str) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the entry's fields and `prev`."""
    canonical = json.dumps({**fields, "prev": prev}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    problem: str = ""           # the first broken or missing entry, in words
    entry_id: int | None = None


def verify(entries: Iterable[AuditEntry], anchor: tuple[int, str] | None = None) -> Verdict:
    """Walk the chain in `seq` order (entries without a seq last); the first broken or missing entry wins.
    `anchor`: a (seq, hash) the admins were sent; the chain must still hold it."""
    expected_seq, prev, count, anchored = 1, GENESIS, 0, anchor is None
    for e in entries:
        count += 1
        if e.seq is None:
            return Verdict(False, count, expected_seq - 1, prev,
                           f"entry id={e.id} is not chained (written around the application)", e.id)
        if e.seq != expected_seq:
            what = (f"entry seq={expected_seq} is missing (deleted)" if e.seq > expected_seq
                    else f"entry seq={e.seq} appears twice")
            return Verdict(False, count, expected_seq - 1, prev, f"{what}; next found: id={e.id} seq={e.seq}",
                           e.id)
        if e.prev_hash != prev:
            return Verdict(False, count, expected_seq - 1, prev,
                           f"entry id={e.id} seq={e.seq} does not follow the entry before it "
                           "(an entry before it was rewritten or replaced)", e.id)
        if entry_hash(fields_of(e), prev) != e.hash:
            return Verdict(False, count, expected_seq - 1, prev,
                           f"entry id={e.id} seq={e.seq} was rewritten (its hash does not match its content)", e.id)
        if anchor is not None and e.seq == anchor[0]:
            if e.hash != anchor[1]:
                return Verdict(False, count, e.seq, e.hash,
                               f"entry id={e.id} seq={e.seq} differs from the anchored head hash "
                               "(the chain was rewritten from here or earlier)", e.id)
            anchored = True
        prev, expected_seq = e.hash, expected_seq + 1
    if not anchored:
        return Verdict(False, count, expected_seq - 1, prev,
                       f"the anchored entry seq={anchor[0]} is missing (entries were deleted from the end)")
    return Verdict(True, count, expected_seq - 1, prev)


def chain(session: Session, batch: int = 1000) -> Iterable[AuditEntry]:
    """Every entry in chain order, streamed in batches (entries without a seq at the end)."""
    last = 0
    while True:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.seq > last)
                                    .order_by(AuditEntry.seq).limit(batch)))
        if not rows:
            break
        yield from rows
        last = rows[-1].seq
        for row in rows:                 # memory stays bounded; the session's other objects stay
            session.expunge(row)
    yield from session.scalars(select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id))
