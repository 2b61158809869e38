"""Welcome and confidentiality acknowledgement (R3.3.1, R3.3.2).

A new member gets the group's rules, each with its clause, and the confidentiality terms privately,
with an acknowledge button (or the reply `ack`). Who has not acknowledged is reminded once after
`membership.ack_reminder_hours` and listed for the lead (`acks`).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import Button, PostCard, SendPrivate
from core.db.models import Account, Group, Membership, Person
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_on, open_membership, roles_of
from core.kernel.outbox import enqueue
from core.kernel.scheduler import schedule
from core.membership.models import Acknowledgement
from core.roles import STAFF

CLAUSE = "R3.3.2"

REMINDER_JOB = "membership.ack_reminder"


def rules_summary(ctx: CoreContext, group: Group) -> str:
    d = ctx.config.all_templates()[group.template].discipline
    return t(group.locale, "membership.rules.summary", limit=d.warnings_before_removal)


def welcome(ctx: CoreContext, s: Session, group: Group, account: Account, membership: Membership) -> None:
    """Send the rules and the confidentiality terms once per stay; already acknowledged people get
    the rules only."""
    now = ctx.clock.now()
    ack = s.scalar(select(Acknowledgement).where(Acknowledgement.person_id == account.person_id,
                                                 Acknowledgement.group_id == group.id))
    key = f"welcome:{account.person_id}:{group.id}:{membership.id}"
    text = t(group.locale, "membership.welcome.text", group=group.name, rules=rules_summary(ctx, group))
    if ack is not None and ack.acknowledged_at is not None:
        enqueue(s, SendPrivate(group.platform, account.user_id, text), key=key, now=now, group_id=group.id)
        return
    if ack is None:
        s.add(Acknowledgement(person_id=account.person_id, group_id=group.id, sent_at=now))
    title = t(group.locale, "membership.welcome.title", group=group.name)
    if ctx.caps(group.platform).cards:
        button = Button(t(group.locale, "membership.ack.button"), "membership.ack", str(group.id), "primary")
        action = PostCard(group.platform, title, text, (button,), user_id=account.user_id)
    else:
        action = SendPrivate(group.platform, account.user_id, f"{title}\n{text}")
    enqueue(s, action, key=key, now=now, group_id=group.id)
    hours = ctx.config.membership.ack_reminder_hours
    schedule(s, key=f"ack-reminder:{account.person_id}:{group.id}:{membership.id}", kind=REMINDER_JOB,
             due_at=now + timedelta(hours=hours), now=now,
             payload={"person_id": account.person_id, "group_id": group.id, "membership_id": membership.id})
    audit.record(s, at=now, actor="system", action="member.welcomed", clause=CLAUSE, group_id=group.id,
                 person_id=account.person_id)


def on_member_joined(ctx: CoreContext, s: Session, group: Group, account: Account) -> None:
    """MemberJoined: welcome the member (a second welcome for the same stay is not sent; the group's
    staff are not welcomed into their own group; a held person is welcomed once admitted)."""
    s.flush()
    membership = open_membership(s, account.person_id, group.id)
    if membership is not None and membership.admission != "held" and not roles_of(s, account.person_id, group.id) & STAFF:
        welcome(ctx, s, group, account, membership)


def acknowledge(ctx: CoreContext, s: Session, person: Person, group_id: int | None = None) -> list[Group]:
    """Mark the person's open acknowledgements (of one group, or all); returns the groups acknowledged."""
    now = ctx.clock.now()
    query = select(Acknowledgement).where(Acknowledgement.person_id == person.id,
                                          Acknowledgement.acknowledged_at.is_(None))
    if group_id is not None:
        query = query.where(Acknowledgement.group_id == group_id)
    done = []
    for ack in s.scalars(query.order_by(Acknowledgement.id)):
        ack.acknowledged_at = now
        group = s.get(Group, ack.group_id)
        done.append(group)
        audit.record(s, at=now, actor=f"person:{person.id}", action="member.acknowledged", clause=CLAUSE,
                     group_id=ack.group_id, person_id=person.id)
    return done


def unacknowledged(s: Session, group: Group) -> list[tuple[Person, Acknowledgement]]:
    """Current members of the group who were sent the terms and have not acknowledged them."""
    rows = s.execute(
        select(Person, Acknowledgement)
        .join(Acknowledgement, Acknowledgement.person_id == Person.id)
        .join(Membership, (Membership.person_id == Person.id) & (Membership.group_id == group.id)
              & Membership.left_at.is_(None))
        .where(Acknowledgement.group_id == group.id, Acknowledgement.acknowledged_at.is_(None))
        .order_by(Acknowledgement.sent_at, Person.id)).all()
    return [(p, a) for p, a in rows]


def remind(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    """The scheduled reminder: once, only for a member who is still in the group and has not acknowledged."""
    ack = s.scalar(select(Acknowledgement).where(Acknowledgement.person_id == payload["person_id"],
                                                 Acknowledgement.group_id == payload["group_id"]))
    group = s.get(Group, payload["group_id"])
    person = s.get(Person, payload["person_id"])
    if ack is None or ack.acknowledged_at is not None or group is None or not group.active or person is None:
        return
    if open_membership(s, person.id, group.id) is None:
        return
    account = account_on(person, group.platform)
    if account is None:
        return
    now = ctx.clock.now()
    ack.reminded_at = now
    enqueue(s, SendPrivate(group.platform, account.user_id,
                           t(group.locale, "membership.ack.reminder", group=group.name, clause=CLAUSE)),
            key=f"ack-remind:{person.id}:{group.id}:{payload.get('membership_id')}", now=now, group_id=group.id)
    audit.record(s, at=now, actor="system", action="member.ack_reminded", clause=CLAUSE, group_id=group.id,
                 person_id=person.id)
