"""Reconciliation: a group's real member list (the connector's `group_members`) against the records.

Discovery is the same run: right after the configuration sync (every start, and every newly
registered group) the worker lists each group and records what it finds, so Steward knows its members
from the first minute; the worker repeats it every `membership.reconcile_every_hours`.

`plan` only reads and sorts what it finds; `apply` (`steward reconcile --fix`, discovery, the periodic
run) acts on it:
- people in the group whom nobody admitted (R2.1.1): `membership.unadmitted` — hold (recorded as held,
  the admins and the lead get a card to admit or remove — one summary card for the group when several are
  held at once, with "admit all" and "review" — the person is told how to apply), remove
  (through the outbox) or allow (recorded as allowed); the admins get the list;
- people recorded as members who are no longer in the group: their stay is closed (R7.1.1); a lead or
  the last admin among them flags the group (R1.3.4);
- people who left the organisation but are still in the group: removed through the outbox (R2.4.1).
The group's staff (lead, admins, instructors, reviewers, organisation-wide admin and HR) are never taken
out: a missing stay of theirs is only recorded. Listing is a platform call, so the caller lists first and
plans in a transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import RemoveMember, SendPrivate
from core.db.models import Account, Group, Membership, Role
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import (
    account_for,
    account_on,
    find_account,
    join,
    leave,
    open_membership,
    people_with_role,
)
from core.kernel.outbox import enqueue
from core.membership.admission import HELD_SUMMARY_FROM, held_summary, sort_unadmitted
from core.membership.responsible import check_responsible

ADMISSION = "R7.1.1"        # admins manage admission and exit
UNADMITTED = "R2.1.1"       # members are those recommended or admitted; others are taken out
DEPARTED = "R2.4.1"         # who left the organisation leaves the group
ACTOR = "system:reconcile"


@dataclass
class Reconciliation:
    group: str                                                   # platform:chat_id
    policy: str                                                  # hold | remove | allow (unadmitted people)
    unadmitted: list[str] = field(default_factory=list)          # present, nobody admitted them
    staff: list[str] = field(default_factory=list)               # present staff without a recorded stay
    gone: list[str] = field(default_factory=list)                # recorded as members, no longer present
    departed: list[str] = field(default_factory=list)            # left the organisation, still present

    @property
    def clean(self) -> bool:
        return not (self.unadmitted or self.staff or self.gone or self.departed)


def plan(ctx: CoreContext, s: Session, group: Group, present: Iterable[str]) -> Reconciliation:
    """Sort what the platform lists against the records; writes nothing."""
    report = Reconciliation(group=f"{group.platform}:{group.chat_id}",
                            policy=ctx.config.membership.unadmitted)
    rows = s.execute(select(Membership, Account).join(Account, Account.person_id == Membership.person_id).where(
        Membership.group_id == group.id, Membership.left_at.is_(None), Account.platform == group.platform)).all()
    stays = {account.user_id: stay for stay, account in rows}
    recorded = {account.user_id: account for _stay, account in rows}
    staff_ids = set(s.scalars(select(Role.person_id).where(
        (Role.group_id == group.id) | Role.group_id.is_(None), Role.role != "member")))
    present = list(dict.fromkeys(present))
    for user_id in sorted(present):
        account = recorded.get(user_id) or find_account(s, group.platform, user_id)
        if account is not None and account.person.status == "departed":
            report.departed.append(user_id)
        elif account is not None and account.person_id in staff_ids:
            if user_id not in recorded or stays[user_id].admission is None:
                report.staff.append(user_id)
        elif user_id in recorded and stays[user_id].admission is not None:
            continue                 # admitted, held or allowed before
        else:
            report.unadmitted.append(user_id)
    report.gone = sorted(set(recorded) - set(present))
    return report


def apply(ctx: CoreContext, s: Session, group: Group, report: Reconciliation) -> None:
    """Act on a plan (`--fix`), each step audited with its clause."""
    now = ctx.clock.now()
    key = f"reconcile:{group.id}:{now.isoformat()}"
    for user_id in report.staff:
        join(s, account_for(s, group.platform, user_id, now), group, now, reason="found:reconcile",
             admission="staff")
    # several people held at once (the first discovery of a group nobody admitted yet): one summary card
    summary = report.policy == "hold" and len(report.unadmitted) >= HELD_SUMMARY_FROM
    held = []
    for user_id in report.unadmitted:
        account = account_for(s, group.platform, user_id, now)
        sort_unadmitted(ctx, s, group, account, "reconcile", card=not summary)
        if summary:
            held.append(open_membership(s, account.person_id, group.id))
    if held:
        held_summary(ctx, s, group, held)
    for user_id in report.gone:
        account = find_account(s, group.platform, user_id)
        leave(s, account.person_id, group.id, now, reason="left:found by reconcile", clause=ADMISSION)
        ctx.lookups.forget_member(account.person_id, group.id)
        audit.record(s, at=now, actor=ACTOR, action="member.left", clause=ADMISSION, group_id=group.id,
                     person_id=account.person_id, user_id=user_id, found_by="reconcile")
        check_responsible(ctx, s, group, account.person, "left")
    for user_id in report.departed:
        account = find_account(s, group.platform, user_id)
        leave(s, account.person_id, group.id, now, reason="departed:found by reconcile", clause=DEPARTED)
        ctx.lookups.forget_member(account.person_id, group.id)
        enqueue(s, RemoveMember(group.platform, group.chat_id, user_id), key=f"{key}:departed:{user_id}",
                now=now, group_id=group.id)
        audit.record(s, at=now, actor=ACTOR, action="member.departed_removed", clause=DEPARTED,
                     group_id=group.id, person_id=account.person_id, user_id=user_id)
    _tell_admins(ctx, s, group, report, key, summary=bool(held))


def _tell_admins(ctx: CoreContext, s: Session, group: Group, report: Reconciliation, key: str,
                 summary: bool = False) -> None:
    lines = []
    if report.unadmitted and not summary:      # a summary card tells them already
        message = {"remove": "membership.reconcile.removed", "hold": "membership.reconcile.held"}.get(
            report.policy, "membership.reconcile.unrecorded")
        lines.append(t(group.locale, message, group=group.name, people=", ".join(report.unadmitted),
                       clause=UNADMITTED))
    if report.departed:
        lines.append(t(group.locale, "membership.reconcile.departed", group=group.name,
                       people=", ".join(report.departed), clause=DEPARTED))
    if not lines:
        return
    for admin in people_with_role(s, group.id, "admin"):
        account = account_on(admin, group.platform)
        if account is not None:
            enqueue(s, SendPrivate(group.platform, account.user_id, "\n".join(lines)), now=ctx.clock.now(),
                    group_id=group.id, key=f"{key}:admin:{admin.id}")
