"""Ingesting inbound events: de-duplicate, archive, decide, queue actions — one transaction per call.

A redelivered event hits the unique (platform, event_id) constraint and changes nothing. What happens
next is what the features declared (core/kernel/features.py): the commands, the message observers and
intakes, the handlers of each event type.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db.failures import database_away
from core.db.models import Account, ArchivedMessage, Group, InboundEvent, ScheduledJob
from core.db.session import let_go_of_gate
from core.db.upsert import (
    Rows,
    driver,
    insert_all,
    insert_many_ignore,
    insert_many_ignore_reading,
    outside_transaction,
    pinned,
)
from core.events import CardActed, CommandInvoked, Event, MemberJoined, MemberLeft, MessagePosted
from core.kernel import audit, message_jobs
from core.kernel.addressing import called
from core.kernel.context import CoreContext
from core.kernel.directory import ACCOUNTS_READ, account_for, account_ids_many, find_account, group_for, join, leave
from core.kernel.held import Held, read_held
from core.kernel.runner import CommandRunner, Invocation
from core.kernel.scheduler import scheduled_later, write_scheduled

log = logging.getLogger("steward.inbound")


def ingest(ctx: CoreContext, event: Event) -> bool:
    """Handle one event; returns False when it was a duplicate delivery."""
    return ingest_many(ctx, [event])[0]


def ingest_many(ctx: CoreContext, events: Sequence[Event]) -> list[bool]:
    """Handle events in order, atomically; for each, False when it was a duplicate delivery.

    A batch of plain messages (no edit, no file) whose senders, groups and memberships are known takes the
    plain path: each new message is decided and, when the decisions wrote nothing through the session
    (ordinary chat), the batch's rows (delivery, archive, the jobs it schedules) are written in one
    statement that is its own transaction: one round trip (two when a sender must be read first), no
    BEGIN, no COMMIT, no session. Every other batch, and a plain one whose decisions
    wrote (a warning, an answer), commits in one transaction as `in_one_transaction` says."""
    if events and all(isinstance(e, MessagePosted) and not e.edited and not e.files for e in events):
        firsts = _plain(ctx, events)
        if firsts is not None:
            return firsts
    ctx.metrics.count("ingest_batches", path="transaction")
    return in_one_transaction(ctx, events)


def in_one_transaction(ctx: CoreContext, events: Sequence[Event]) -> list[bool]:
    """Handle events in order in one transaction; for each, False when it was a duplicate delivery.

    The statements every message needs (de-duplication, the sender's account, the archive, the jobs it
    schedules) are written once for all of them; the rest runs event by event. Any failure rolls back
    all of them (the spool then retries each on its own)."""
    let_go_of_gate()
    with ctx.sessions() as s, s.begin(), pinned(s):
        firsts, read = _first_deliveries(ctx, s, events)
        messages = [e for e, first in zip(events, firsts) if first and isinstance(e, MessagePosted)]
        seen = _archive(ctx, s, messages, read) if messages else {}
        for event, first in zip(events, firsts):
            if not first:
                log.info("duplicate delivery %s %s ignored", event.platform, event.event_id)
            elif isinstance(event, MessagePosted):
                _message(ctx, s, event, seen[id(event)])
            else:
                kernel = KERNEL_HANDLERS.get(type(event))
                if kernel is not None:
                    kernel(ctx, s, event)
                for handler in ctx.features.events(type(event)):
                    handler(ctx, s, event)
        write_scheduled(s)
        message_jobs.write_deferred(s)
    return firsts


def _plain(ctx: CoreContext, events: Sequence[MessagePosted]) -> list[bool] | None:
    """The plain path (see `ingest_many`); None when the batch needs the full transaction instead.

    What the database holds of the batch is read outside a transaction, unless the process knows every
    sender lately (core/kernel/lookups.py) and nothing is asked of Steward: then nothing is read, and a
    redelivery, or a message archived under another event id, shows when the write finds its row held.
    Another process may also store one of these deliveries or messages after the read. Either way the
    plain write fails whole (its deliveries and archive are plain INSERTs), or a decision's transaction
    finds a row it expected to insert held (the batch's deliveries and archive go first in it, as in the
    full transaction, so a decision may read or change the archived message): nothing is written, and the
    batch takes the full transaction, which de-duplicates first. What a decision keeps outside the database
    counts a message once: the flood counts are kept per message."""
    now = ctx.clock.now()
    keys = [(e.platform, e.event_id[:200]) for e in events]
    mkeys = [(e.platform, e.chat_id, e.message_id) for e in events]
    senders = list(dict.fromkeys((e.platform, e.user_id) for e in events))
    cached = {sender: ctx.lookups.account(*sender) for sender in senders}
    with outside_transaction(ctx.sessions.kw["bind"]) as (conn, dialect):
        if all(cached.values()) and not any(e.is_direct or e.addressed or (
                e.display_name and cached[(e.platform, e.user_id)][2] != e.display_name) for e in events):
            # every sender known, nothing asked of Steward (a redelivered command would run before the
            # write finds it a duplicate): the write tells what was held
            held = Held(set(), set(), cached, read=False)
        else:
            held = read_held(conn, dialect, keys, mkeys, senders)
            ctx.lookups.remember_accounts(held.accounts)
        firsts, fresh, taken, archived = [], [], set(), set()
        for e, key, mkey in zip(events, keys, mkeys):
            first = key not in held.events and key not in taken
            taken.add(key)
            firsts.append(first)
            if not first:
                log.info("duplicate delivery %s %s ignored", e.platform, e.event_id)
                continue
            account = held.accounts.get((e.platform, e.user_id))
            if account is None or (e.display_name and account[2] != e.display_name):
                return None      # first sight of the sender, or a new name: the transaction writes the account
            if mkey in held.messages or mkey in archived:
                archived.add(mkey)
                continue         # the same message under another event id (Slack's app_mention beside message)
            archived.add(mkey)
            group_id = None
            if not e.is_direct:
                known, group_id = ctx.lookups.cached_group_id(e.platform, e.chat_id)
                if not known or (group_id is not None and not ctx.lookups.known_member(account[1], group_id)):
                    return None
            fresh.append((e, group_id, account[0], account[1]))
        rows = [Rows(InboundEvent, [_delivery_row(key, e, now) for key, e, first in zip(keys, events, firsts) if first],
                     ("platform", "event_id")),
                Rows(ArchivedMessage, [_archive_row(e, group_id, person_id, now) for e, group_id, _, person_id in fresh],
                     ("platform", "chat_id", "message_id"), keep_order=True, computed=_SENDERS_PERSON)]
        try:
            path = _decide_and_write(ctx, conn, dialect, rows, fresh)
        except Exception as exc:
            # unread, a decision may have failed on a redelivery (the poison set aside before, say): the
            # full transaction tells; read, the batch fails as it would there
            if held.read or database_away(exc):
                raise
            path = None
        if path is not None:
            ctx.metrics.count("ingest_batches", path=path)
            return firsts
    log.info("deliveries of a batch were stored before it could be written; deciding them again")
    ctx.metrics.count("ingest_batches", path="replayed")
    return in_one_transaction(ctx, events)


def _decide_and_write(ctx: CoreContext, conn, dialect, rows: list[Rows], fresh: list[tuple]) -> str | None:
    """Decide each new message, then write: the path taken, or None when another process stored some of the
    rows first (nothing was written).

    The session is the thread's last one when that one was never used (ordinary chat): making and closing
    one per batch cost more than deciding a chat message."""
    kept = getattr(_UNUSED, "session", None)
    s = kept[1] if kept is not None and kept[0] is ctx.sessions else ctx.sessions()
    _UNUSED.session, path = None, None
    try:
        s.info[_ROWS_FIRST], s.info[message_jobs.UNWRITTEN] = rows, rows[1].rows
        for e, group_id, account_id, person_id in fresh:
            _decide(ctx, s, e, group_id, account_id, person_id)
        jobs = Rows(ScheduledJob, scheduled_later(s), ("key",))
        if not s.in_transaction():       # the decisions did not use the session: ordinary chat
            try:
                insert_all(conn, dialect, [_strict(part) for part in rows] + [jobs])
            except IntegrityError:
                return None              # nothing was written
            path = "plain"
            return path
        s.connection()                   # begun, perhaps with nothing sent yet: the rows go first
        written = s.info[_ROWS_WRITTEN]
        if not all(len(new) == len(part.rows) for new, part in zip(written, rows)):
            s.rollback()
            return None
        insert_all(*driver(s), [jobs])
        message_jobs.write_deferred(s)
        s.commit()
        return "session"
    finally:
        if path == "plain" and not s.in_transaction():
            s.info.clear()
            _UNUSED.session = (ctx.sessions, s)
        else:
            s.close()


_UNUSED = threading.local()


def _strict(part: Rows) -> Rows:
    """The rows as plain INSERTs: a row held already fails the statement."""
    return part._replace(ignore=False)


_ROWS_FIRST, _ROWS_WRITTEN = "steward.plain_rows", "steward.plain_rows_written"
# The archive's person is the sender's account's as the row is written, not the process's cached one (an
# identity link elsewhere may have moved the account to another person meanwhile).
_SENDERS_PERSON = (("person_id", "(SELECT a.person_id FROM accounts AS a "
                                 "WHERE a.platform = {platform} AND a.user_id = {user_id})"),)


@event.listens_for(Session, "after_begin")
def _rows_first(session: Session, transaction, connection) -> None:
    """The plain path's deliveries and archive, written as its session's transaction begins (see `_plain`);
    again should a decision roll back and go on. Not as a SAVEPOINT begins inside it (a ladder step's): the
    rows are there already, and written again they came back as held, so the batch was decided again in
    the full transaction."""
    rows = session.info.get(_ROWS_FIRST)
    if rows is not None and not transaction.nested:
        let_go_of_gate()
        session.info[_ROWS_WRITTEN] = insert_all(connection.connection.driver_connection, connection.dialect, rows)


def _delivery_row(key: tuple[str, str], e: Event, now) -> dict:
    return dict(platform=key[0], event_id=key[1], kind=type(e).__name__, received_at=now)


def _archive_row(e: MessagePosted, group_id: int | None, person_id: int, now) -> dict:
    return dict(platform=e.platform, chat_id=e.chat_id, message_id=e.message_id, group_id=group_id,
                person_id=person_id, user_id=e.user_id, kind=e.kind, text=e.text, thread_id=e.thread_id,
                direct=e.is_direct, from_bot=False, sent_at=e.sent_at or now, job=None)


def _first_deliveries(ctx: CoreContext, s: Session, events: Sequence[Event]) -> tuple[list[bool], list[dict] | None]:
    """One INSERT ... ON CONFLICT DO NOTHING for all: an event is first if its row is new (and it is not
    repeated earlier in this batch). On PostgreSQL the same statement reads the accounts of the messages'
    senders (returned second; None elsewhere): a round trip costs more than the statement."""
    now, keys = ctx.clock.now(), [(e.platform, e.event_id[:200]) for e in events]
    rows = [_delivery_row(key, e, now) for key, e in zip(keys, events)]
    senders = {(e.platform, e.user_id) for e in events if isinstance(e, MessagePosted)}
    both = insert_many_ignore_reading(s, InboundEvent, rows, ("platform", "event_id"), ACCOUNTS_READ, {
        "platforms": [p for p, _ in senders], "users": [u for _, u in senders]}) if senders else None
    new, read = both if both is not None else (insert_many_ignore(s, InboundEvent, rows, ("platform", "event_id")), None)
    firsts, taken = [], set()
    for key in keys:
        firsts.append(key in new and key not in taken)
        taken.add(key)
    return firsts, read


@dataclass(frozen=True)
class _Seen:
    group_id: int | None
    account_id: int
    person_id: int
    archived: bool          # False: the message was archived before (an edit, or another event id)


def _archive(ctx: CoreContext, s: Session, messages: list[MessagePosted], read: list[dict] | None) -> dict[int, _Seen]:
    """Archive every message (R3.2.2, R4.1.1) with its sender's account, in two statements for all (one
    when the accounts were `read` with the de-duplication)."""
    now = ctx.clock.now()
    accounts = account_ids_many(s, [(e.platform, e.user_id, e.display_name) for e in messages], now, read)
    rows, seen = [], {}
    for e in messages:
        group_id = None if e.is_direct else ctx.lookups.group_id(s, e.platform, e.chat_id)
        account_id, person_id = accounts[(e.platform, e.user_id)]
        seen[id(e)] = (group_id, account_id, person_id)
        rows.append(_archive_row(e, group_id, person_id, now))
    new = insert_many_ignore(s, ArchivedMessage, rows, ("platform", "chat_id", "message_id"), keep_order=True)
    out, taken = {}, set()
    for e in messages:
        key = (e.platform, e.chat_id, e.message_id)
        out[id(e)] = _Seen(*seen[id(e)], archived=key in new and key not in taken)
        taken.add(key)
    return out


def _message(ctx: CoreContext, s: Session, e: MessagePosted, seen: _Seen) -> None:
    """The hot path: every message Steward sees, once archived. Note the membership, then act."""
    now = ctx.clock.now()
    group_id, account_id, person_id = seen.group_id, seen.account_id, seen.person_id
    if not seen.archived:
        if not e.edited:
            return   # the same message under another event id (Slack's app_mention beside message)
        s.execute(update(ArchivedMessage).where(
            ArchivedMessage.platform == e.platform, ArchivedMessage.chat_id == e.chat_id,
            ArchivedMessage.message_id == e.message_id).values(text=e.text))
        audit.record(s, at=now, actor=f"person:{person_id}", action="message.edited", group_id=group_id,
                     person_id=person_id, message_id=e.message_id)
    if group_id is not None and not ctx.lookups.known_member(person_id, group_id):
        join(s, s.get(Account, account_id), s.get(Group, group_id), now, reason="seen")
        ctx.lookups.remember_member(person_id, group_id)
    _decide(ctx, s, e, group_id, account_id, person_id)


def _decide(ctx: CoreContext, s: Session, e: MessagePosted, group_id: int | None, account_id: int,
            person_id: int) -> None:
    """What a new message asks of Steward, once archived and its sender's membership noted."""
    if e.files and any(intake(ctx, s, e, person_id) for intake in ctx.features.intake):
        return   # e.g. the worker fetches the file, then answers (R5.2.1, R3.1.3)
    # Addressed to Steward: by the platform's mention, a 1:1 chat, or one of its names typed (`＠管家`).
    by_name, text = called(e.text, ctx.config.bot_names)
    addressed = e.is_direct or e.addressed or by_name
    command = addressed and ctx.features.grammar.looks_like_command(text)
    # Every group message is moderated first, commands included (R8.1.2: an ad inside `ask …` is an
    # ad). A detector that took the message up the ladder answers for it: the command does not run.
    flagged = group_id is not None and ctx.detectors is not None and ctx.detectors(ctx, s, group_id, account_id, e)
    if group_id is not None and not command:
        for observe in ctx.features.observers:    # R4.3.1 questions, R7.3.2 heated exchanges, held links
            observe(ctx, s, group_id, account_id, person_id, e)
    # Every addressed message gets an answer, privately: the command's, or a suggestion, or short help.
    if addressed and not flagged:
        CommandRunner(ctx, s).run(Invocation(e.platform, e.event_id, e.user_id, text,
                                             None if e.is_direct else e.chat_id, e.is_direct, e.display_name))


def _command(ctx: CoreContext, s: Session, e: CommandInvoked) -> None:
    CommandRunner(ctx, s).run(Invocation(e.platform, e.event_id, e.user_id, e.text, e.chat_id,
                                         e.is_direct, e.display_name))


def _card(ctx: CoreContext, s: Session, e: CardActed) -> None:
    CommandRunner(ctx, s).card(Invocation(e.platform, e.event_id, e.user_id, "", e.chat_id, True),
                               e.action, e.value)


def _joined(ctx: CoreContext, s: Session, e: MemberJoined) -> None:
    group = group_for(s, e.platform, e.chat_id)
    if group is None:
        return
    now = ctx.clock.now()
    account = account_for(s, e.platform, e.user_id, now)
    join(s, account, group, now, reason=f"joined:{e.inviter_id}" if e.inviter_id else "joined")
    audit.record(s, at=now, actor=f"person:{account.person_id}", action="member.joined",
                 group_id=group.id, person_id=account.person_id)
    for handler in ctx.features.on_join:       # R3.3.2: rules and confidentiality acknowledgement
        handler(ctx, s, group, account)


def _left(ctx: CoreContext, s: Session, e: MemberLeft) -> None:
    group = group_for(s, e.platform, e.chat_id)
    account = find_account(s, e.platform, e.user_id)
    if group is None or account is None:
        return
    now = ctx.clock.now()
    ctx.lookups.forget_member(account.person_id, group.id)
    if leave(s, account.person_id, group.id, now, reason="left") is not None:
        audit.record(s, at=now, actor=f"person:{account.person_id}", action="member.left",
                     group_id=group.id, person_id=account.person_id)


# What the kernel itself does with an event; the features' handlers run after it (directory events:
# departures R2.4.1, changes, new hires R2.1.2 are the membership feature's).
KERNEL_HANDLERS: dict[type, Callable[[CoreContext, Session, Event], None]] = {
    CommandInvoked: _command,
    CardActed: _card,
    MemberJoined: _joined,
    MemberLeft: _left,
}
