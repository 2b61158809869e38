"""Moves (R2.4.1): a department or position change asks each group's lead, on a card, whether the
person stays; `remove` takes them out through the outbox, recorded with the clause."""
from __future__ import annotations

from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import Button, RemoveMember, private_card
from core.db.models import Account, Group, Membership, Person
from core.events import UserChanged
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_on, find_account, identify_later, leave, roles_of
from core.kernel.identity import after_commit, has_directory, profile_of
from core.kernel.outbox import enqueue
from core.membership.admission import deciders, tell
from core.membership.models import MembershipRequest
from core.roles import DECIDERS

CLAUSE = "R2.4.1"
WATCHED = ("department", "position")


def on_user_changed(ctx: CoreContext, s: Session, account: Account, changes: Mapping[str, str]) -> int:
    """Ask the leads of every group the person is in; returns how many cards were sent.

    WeCom names the changed fields (with department ids, not names); DingTalk only says that something
    changed, so its directory is read after the event's transaction and compared with the record."""
    if account.person.status != "active":
        return 0
    changed = [k for k in WATCHED if k in changes]
    if not changed:
        if has_directory(ctx, account.platform):
            account_id = account.id
            after_commit(s, lambda: _compare_with_directory(ctx, account_id))
        return 0
    return ask_leads(ctx, s, account, changed)


def _compare_with_directory(ctx: CoreContext, account_id: int) -> None:
    with ctx.sessions() as s:
        account = s.get(Account, account_id)
        platform, user_id = account.platform, account.user_id
    profile = profile_of(ctx, platform, user_id)
    if profile is None:
        return
    with ctx.sessions.begin() as s:
        account = s.get(Account, account_id)
        person = account.person
        changed = []
        for name in WATCHED:
            value = getattr(profile, name)
            if value and value != getattr(person, name):
                if getattr(person, name):
                    changed.append(name)
                setattr(person, name, value)
        if changed:
            ask_leads(ctx, s, account, changed)


def ask_leads(ctx: CoreContext, s: Session, account: Account, changed: list[str]) -> int:
    person = account.person
    now = ctx.clock.now()
    sent = 0
    stays = s.scalars(select(Membership).where(Membership.person_id == person.id,
                                               Membership.left_at.is_(None)).order_by(Membership.id)).all()
    for stay in stays:
        group = s.get(Group, stay.group_id)
        if group is None or not group.active or roles_of(s, person.id, group.id) - {"member"}:
            continue   # staff of the group stay: the question is about members
        member = account_on(person, group.platform)
        if member is None or _pending(s, person.id, group.id) is not None:
            continue
        request = MembershipRequest(kind="move", person_id=person.id, group_id=group.id, account_id=member.id,
                                    name=person.name, department=person.department, position=person.position,
                                    status="pending", created_at=now)
        s.add(request)
        s.flush()
        text = t(group.locale, "membership.move.card", name=person.name, group=group.name,
                 department=person.department or "-", position=person.position or "-", clause=CLAUSE)
        title = t(group.locale, "membership.move.title", group=group.name)
        buttons = (Button(t(group.locale, "membership.button.keep"), "membership.keep", str(request.id), "primary"),
                   Button(t(group.locale, "membership.button.remove"), "membership.remove", str(request.id),
                          "danger"))
        for lead in deciders(s, group):
            action = private_card(group.platform, lead.user_id, title, text, buttons,
                                  cards=ctx.caps(group.platform).cards)
            enqueue(s, action, key=f"move:{request.id}:lead:{lead.id}", now=now, group_id=group.id)
        audit.record(s, at=now, actor=f"{account.platform}:directory", action="member.moved", clause=CLAUSE,
                     group_id=group.id, person_id=person.id, changed=changed, request=request.id)
        sent += 1
    return sent


def _pending(s: Session, person_id: int, group_id: int) -> MembershipRequest | None:
    return s.scalar(select(MembershipRequest).where(
        MembershipRequest.kind == "move", MembershipRequest.person_id == person_id,
        MembershipRequest.group_id == group_id, MembershipRequest.status == "pending"))


def decide_move(ctx: CoreContext, s: Session, request: MembershipRequest, keep: bool,
                decider: Account) -> tuple[str, dict]:
    group = s.get(Group, request.group_id)
    now = ctx.clock.now()
    if not roles_of(s, decider.person_id, group.id) & DECIDERS:
        audit.record(s, at=now, actor=f"person:{decider.person_id}", action="command.refused", clause="R7.1.1",
                     group_id=group.id, person_id=decider.person_id,
                     command="membership.keep" if keep else "membership.remove")
        return "membership.decide.refused", {"clause": "R7.1.1"}
    if request.status != "pending":
        return "membership.decide.done", {"request": request.id, "status": request.status}
    person = s.get(Person, request.person_id)
    request.status = "kept" if keep else "removed"
    request.decided_by, request.decided_at = f"person:{decider.person_id}", now
    if not keep:
        stay = leave(s, person.id, group.id, now, reason="moved", clause=CLAUSE)
        ctx.lookups.forget_member(person.id, group.id)
        member = s.get(Account, request.account_id)
        if stay is not None:
            enqueue(s, RemoveMember(group.platform, group.chat_id, member.user_id),
                    key=f"move:{request.id}:remove", now=now, group_id=group.id)
            tell(ctx, s, group, person, f"move:{request.id}:told", "membership.move.removed",
                 group=group.name, clause=CLAUSE)
    audit.record(s, at=now, actor=f"person:{decider.person_id}", action=f"member.move_{request.status}",
                 clause=CLAUSE, group_id=group.id, person_id=person.id, request=request.id)
    return f"membership.decide.{request.status}", {"name": person.name, "group": group.name, "clause": CLAUSE}


def on_changed(ctx: CoreContext, s: Session, e: UserChanged) -> None:
    """A directory change: audited; a new department or position asks each group's lead (R2.4.1)."""
    account = find_account(s, e.platform, e.user_id)
    if account is not None:
        audit.record(s, at=ctx.clock.now(), actor=f"{e.platform}:directory", action="person.changed",
                     clause="R2.4.1", person_id=account.person_id, changes=dict(e.changes))
        identify_later(s, account.id, ctx.clock.now(), why=f"changed:{e.event_id}")   # re-check the link
        on_user_changed(ctx, s, account, e.changes)   # R2.4.1: the lead decides whether they stay
