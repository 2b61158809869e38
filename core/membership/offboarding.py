"""Departures (R2.4.1): remove the person from every governed group on every platform, tell the leads."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import RemoveMember, SendPrivate
from core.db.models import Group, Membership, Person
from core.events import UserDeparted
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_on, find_account, people_with_role
from core.kernel.outbox import enqueue
from core.membership.responsible import check_responsible

CLAUSE = "R2.4.1"


def offboard(ctx: CoreContext, s: Session, person: Person, reason: str, actor: str) -> int:
    """Close every open membership of `person`; returns how many groups they were removed from."""
    now = ctx.clock.now()
    if person.status != "departed":
        person.status = "departed"
        audit.record(s, at=now, actor=actor, action="person.departed", clause=CLAUSE, person_id=person.id,
                     reason=reason)
    memberships = s.scalars(select(Membership).where(Membership.person_id == person.id,
                                                     Membership.left_at.is_(None))).all()
    removed = 0
    for membership in memberships:
        group = s.get(Group, membership.group_id)
        membership.left_at, membership.leave_reason, membership.leave_clause = now, reason, CLAUSE
        ctx.lookups.forget_member(person.id, membership.group_id)
        if group is None or not group.active:
            continue
        check_responsible(ctx, s, group, person, "departed")      # R1.3.4: a lead who left
        account = account_on(person, group.platform)
        if account is None:
            continue
        removed += 1
        key = f"offboard:{person.id}:{group.id}:{membership.id}"
        enqueue(s, RemoveMember(group.platform, group.chat_id, account.user_id), key=f"{key}:remove",
                now=now, group_id=group.id)
        text = t(group.locale, "offboard.lead", member=person.name, group=group.name, clause=CLAUSE)
        for lead in people_with_role(s, group.id, "lead"):
            lead_account = account_on(lead, group.platform)
            if lead_account is not None:
                enqueue(s, SendPrivate(group.platform, lead_account.user_id, text),
                        key=f"{key}:lead:{lead.id}", now=now, group_id=group.id)
        audit.record(s, at=now, actor=actor, action="member.offboarded", clause=CLAUSE, group_id=group.id,
                     person_id=person.id, reason=reason)
    return removed


def on_departed(ctx: CoreContext, s: Session, e: UserDeparted) -> None:
    """R2.4.1: a person who left the company leaves every governed group, on every platform."""
    account = find_account(s, e.platform, e.user_id)
    if account is None:
        return
    offboard(ctx, s, account.person, reason=f"departed:{e.platform}", actor=f"{e.platform}:directory")
