"""The group's responsible person (R1.3.4): a lead, or the last admin, who leaves the organisation or the
group flags the group to the organisation's admins and HR, reminded daily until someone takes it over
(a lead or an admin of the group who is active and in it)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import Group, Person, Role
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import open_membership
from core.kernel.outbox import enqueue
from core.kernel.scheduler import schedule
from core.roles import ADMIN, HR, LEAD

CLAUSE = "R1.3.4"
REMINDER_JOB = "membership.unattended"
REMIND_EVERY = timedelta(hours=24)


def _holders(s: Session, group: Group, role: str) -> list[Person]:
    return list(s.scalars(select(Person).join(Role, Role.person_id == Person.id)
                          .where(Role.role == role, Role.group_id == group.id).distinct()))


def _present(s: Session, group: Group, person: Person) -> bool:
    return person.status == "active" and open_membership(s, person.id, group.id) is not None


def responsible(s: Session, group: Group) -> bool:
    """Does the group have a lead or an admin of its own who is active and in it?"""
    return any(_present(s, group, p) for role in (LEAD, ADMIN) for p in _holders(s, group, role))


def check_responsible(ctx: CoreContext, s: Session, group: Group, leaver: Person, why: str) -> bool:
    """After `leaver` left the group or the organisation (`why`: left | departed): flag the group when
    they were its lead, or its last admin. True when the group was flagged now."""
    if group is None or not group.active:
        return False
    s.flush()
    roles = set(s.scalars(select(Role.role).where(Role.person_id == leaver.id, Role.group_id == group.id)))
    if LEAD in roles:
        leads_left = [p for p in _holders(s, group, LEAD) if p.id != leaver.id and _present(s, group, p)]
        role = LEAD if not leads_left else None
    elif ADMIN in roles:
        admins_left = [p for p in _holders(s, group, ADMIN) if p.id != leaver.id and _present(s, group, p)]
        role = ADMIN if not admins_left else None
    else:
        role = None
    if role is None or group.unattended_since is not None:
        return False
    now = ctx.clock.now()
    group.unattended_since = now
    audit.record(s, at=now, actor="system", action="group.unattended", clause=CLAUSE, group_id=group.id,
                 person_id=leaver.id, role=role, why=why)
    text = t(group.locale, "membership.unattended.flag", group=group.name, name=leaver.name, role=role,
             why=t(group.locale, f"membership.unattended.why.{why}"), clause=CLAUSE)
    _tell(ctx, s, group, text, f"unattended:{group.id}:{now.isoformat()}")
    schedule(s, key=f"{REMINDER_JOB}:{group.id}:{now.isoformat()}", kind=REMINDER_JOB, due_at=now + REMIND_EVERY,
             now=now, payload={"group_id": group.id})
    return True


def _tell(ctx: CoreContext, s: Session, group: Group, text: str, key: str) -> None:
    """The organisation's admins and HR (organisation-wide roles), each on the group's platform if they
    have an account there, else on their first account."""
    people = list(s.scalars(select(Person).join(Role, Role.person_id == Person.id).where(
        Role.role.in_((ADMIN, HR)), Role.group_id.is_(None), Person.status == "active").distinct()
        .order_by(Person.id)))
    for person in people:
        account = next((a for a in person.accounts if a.platform == group.platform), None) or \
            (person.accounts[0] if person.accounts else None)
        if account is not None:
            enqueue(s, SendPrivate(account.platform, account.user_id, text), key=f"{key}:{person.id}",
                    now=ctx.clock.now(), group_id=group.id)


def remind(ctx: CoreContext, s: Session, payload: dict) -> None:
    """The daily reminder, until someone has taken the group over (then the flag is cleared)."""
    group = s.get(Group, payload["group_id"])
    if group is None or group.unattended_since is None:
        return
    now = ctx.clock.now()
    if not group.active or responsible(s, group):
        audit.record(s, at=now, actor="system", action="group.attended", clause=CLAUSE, group_id=group.id,
                     since=group.unattended_since.isoformat())
        group.unattended_since = None
        return
    _tell(ctx, s, group, t(group.locale, "membership.unattended.reminder", group=group.name,
                           since=f"{group.unattended_since:%Y-%m-%d}", clause=CLAUSE),
          f"unattended:{group.id}:{now.isoformat()}")
    schedule(s, key=f"{REMINDER_JOB}:{group.id}:{now.isoformat()}", kind=REMINDER_JOB, due_at=now + REMIND_EVERY,
             now=now, payload={"group_id": group.id})
