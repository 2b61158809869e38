"""Reconciliation: a group's real member list against the records.

People added by hand outside the process are recorded and flagged to the group's admins (R7.1.1: the
admins manage admission); people who left by themselves are recorded as gone. Listing members is a
platform call, so the caller lists first and reconciles in a transaction afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import Account, Group, Membership
from core.i18n import t
from core.services import audit
from core.services.context import CoreContext
from core.services.directory import account_for, account_on, join, leave, people_with_role
from core.services.outbox import enqueue

CLAUSE = "R7.1.1"


class MemberLister(Protocol):
    """The port: a connector that can list a group's members (user ids, the bot's own excluded)."""

    def group_members(self, chat_id: str) -> Iterable[str]: ...


@dataclass
class Reconciliation:
    group: str
    unrecorded: list[str] = field(default_factory=list)     # in the group, not on record: flagged
    departed: list[str] = field(default_factory=list)       # on record, no longer in the group


def reconcile_group(ctx: CoreContext, s: Session, group: Group, present: Iterable[str]) -> Reconciliation:
    now = ctx.clock.now()
    report = Reconciliation(group=f"{group.platform}:{group.chat_id}")
    recorded = {account.user_id: stay for stay, account in s.execute(
        select(Membership, Account).join(Account, Account.person_id == Membership.person_id)
        .where(Membership.group_id == group.id, Membership.left_at.is_(None), Account.platform == group.platform))}
    present = set(present)
    for user_id in sorted(present - recorded.keys()):
        account = account_for(s, group.platform, user_id, now)
        join(s, account, group, now, reason="found:reconcile")
        audit.record(s, at=now, actor="system:reconcile", action="member.unrecorded", clause=CLAUSE,
                     group_id=group.id, person_id=account.person_id, user_id=user_id)
        report.unrecorded.append(user_id)
    for user_id in sorted(recorded.keys() - present):
        stay = recorded[user_id]
        leave(s, stay.person_id, group.id, now, reason="left:found by reconcile")
        ctx.lookups.forget_member(stay.person_id, group.id)
        audit.record(s, at=now, actor="system:reconcile", action="member.left", group_id=group.id,
                     person_id=stay.person_id, user_id=user_id, found_by="reconcile")
        report.departed.append(user_id)
    if report.unrecorded:
        text = t(group.locale, "membership.reconcile.unrecorded", group=group.name,
                 people=", ".join(report.unrecorded), clause=CLAUSE)
        for admin in people_with_role(s, group.id, "admin"):
            account = account_on(admin, group.platform)
            if account is not None:
                enqueue(s, SendPrivate(group.platform, account.user_id, text), now=now, group_id=group.id,
                        key=f"reconcile:{group.id}:{now.isoformat()}:admin:{admin.id}")
    return report
