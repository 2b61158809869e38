"""Ingesting one inbound event: de-duplicate, archive, decide, queue actions — one transaction.

A redelivered event hits the unique (platform, event_id) constraint and changes nothing.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.commands.parser import looks_like_command
from core.db.models import ArchivedMessage, InboundEvent
from core.events import (CardActed, CommandInvoked, Event, MemberJoined, MemberLeft, MessagePosted,
                         UserChanged, UserDeparted)
from core.services import audit
from core.services.commands import CommandRunner, Invocation
from core.services.context import CoreContext
from core.services.directory import account_for, find_account, group_for, join, leave
from core.services.offboarding import offboard

log = logging.getLogger("steward.inbound")


def ingest(ctx: CoreContext, event: Event) -> bool:
    """Handle one event; returns False when it was a duplicate delivery."""
    with ctx.sessions() as session:
        try:
            with session.begin():
                session.add(InboundEvent(platform=event.platform, event_id=event.event_id[:200],
                                         kind=type(event).__name__, received_at=ctx.clock.now()))
                session.flush()
                HANDLERS[type(event)](ctx, session, event)
        except IntegrityError as exc:
            if _is_duplicate(exc):
                log.info("duplicate delivery %s %s ignored", event.platform, event.event_id)
                return False
            raise
    return True


def _is_duplicate(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "inbound_events" in text or "uq_inbound_events_platform" in text


def _message(ctx: CoreContext, s: Session, e: MessagePosted) -> None:
    now = ctx.clock.now()
    group = None if e.is_direct else group_for(s, e.platform, e.chat_id)
    account = account_for(s, e.platform, e.user_id, now, e.display_name)
    existing = s.query(ArchivedMessage).filter_by(platform=e.platform, chat_id=e.chat_id,
                                                  message_id=e.message_id).one_or_none()
    if existing is None:
        archived = ArchivedMessage(platform=e.platform, chat_id=e.chat_id, message_id=e.message_id,
                                   group_id=group.id if group else None, person_id=account.person_id,
                                   user_id=e.user_id, kind=e.kind, text=e.text, thread_id=e.thread_id,
                                   direct=e.is_direct, sent_at=e.sent_at or now)
        s.add(archived)
    elif e.edited:
        existing.text = e.text   # the archive keeps the latest text; the edit is also audited
        audit.record(s, at=now, actor=f"person:{account.person_id}", action="message.edited",
                     group_id=existing.group_id, person_id=account.person_id, message_id=e.message_id)
    if group is not None:
        join(s, account, group, now, reason="seen")
    # A command addressed to Steward runs; a 1:1 message that is no command gets the command list
    # hint; anything else in a group is only archived and checked (the bot stays quiet).
    if e.is_direct or (e.addressed and looks_like_command(e.text)):
        CommandRunner(ctx, s).run(Invocation(e.platform, e.event_id, e.user_id, e.text,
                                             None if e.is_direct else e.chat_id, e.is_direct, e.display_name))
        return
    if group is not None and ctx.detectors is not None:
        ctx.detectors(ctx, s, group, account, e)


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


def _left(ctx: CoreContext, s: Session, e: MemberLeft) -> None:
    group = group_for(s, e.platform, e.chat_id)
    account = find_account(s, e.platform, e.user_id)
    if group is None or account is None:
        return
    now = ctx.clock.now()
    if leave(s, account.person_id, group.id, now, reason="left") is not None:
        audit.record(s, at=now, actor=f"person:{account.person_id}", action="member.left",
                     group_id=group.id, person_id=account.person_id)


def _departed(ctx: CoreContext, s: Session, e: UserDeparted) -> None:
    """R2.4.1: a person who left the company leaves every governed group, on every platform."""
    account = find_account(s, e.platform, e.user_id)
    if account is None:
        return
    offboard(ctx, s, account.person, reason=f"departed:{e.platform}", actor=f"{e.platform}:directory")


def _changed(ctx: CoreContext, s: Session, e: UserChanged) -> None:
    account = find_account(s, e.platform, e.user_id)
    if account is not None:
        audit.record(s, at=ctx.clock.now(), actor=f"{e.platform}:directory", action="person.changed",
                     clause="R2.4.1", person_id=account.person_id, changes=dict(e.changes))


HANDLERS: dict[type, Callable[[CoreContext, Session, Event], None]] = {
    MessagePosted: _message,
    CommandInvoked: _command,
    CardActed: _card,
    MemberJoined: _joined,
    MemberLeft: _left,
    UserDeparted: _departed,
    UserChanged: _changed,
}
