"""Voluntary leave: the member asks to leave a group; the reason is recorded and the lead told.

Exit is managed by the group's admins (R7.1.1): Steward takes the member out through the platform API,
so a stay never stays open on record after the person has gone.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.actions import RemoveMember, SendPrivate
from core.db.models import Account, Group
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import leave, open_membership
from core.kernel.outbox import enqueue
from core.membership.admission import deciders
from core.membership.responsible import check_responsible

CLAUSE = "R7.1.1"


def leave_voluntarily(ctx: CoreContext, s: Session, group: Group, account: Account, reason: str) -> bool:
    """False when the person is not a member of the group."""
    now = ctx.clock.now()
    stay = open_membership(s, account.person_id, group.id)
    if stay is None:
        return False
    leave(s, account.person_id, group.id, now, reason=f"voluntary: {reason}"[:200], clause=CLAUSE)
    ctx.lookups.forget_member(account.person_id, group.id)
    key = f"leave:{account.person_id}:{group.id}:{stay.id}"
    enqueue(s, RemoveMember(group.platform, group.chat_id, account.user_id), key=f"{key}:remove", now=now,
            group_id=group.id)
    text = t(group.locale, "membership.leave.lead", member=account.person.name, group=group.name, reason=reason,
             clause=CLAUSE)
    for lead in deciders(s, group):
        if lead.person_id != account.person_id:
            enqueue(s, SendPrivate(group.platform, lead.user_id, text), key=f"{key}:lead:{lead.id}", now=now,
                    group_id=group.id)
    audit.record(s, at=now, actor=f"person:{account.person_id}", action="member.left_voluntarily", clause=CLAUSE,
                 group_id=group.id, person_id=account.person_id, reason=reason)
    check_responsible(ctx, s, group, account.person, "left")
    return True
