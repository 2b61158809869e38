"""One person as the CLI shows them: identifiers, accounts, roles, stays, acknowledgements, conflicts."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db.models import Group, Membership, Person, Role
from core.membership.models import Acknowledgement


def describe(s: Session, person: Person) -> list[str]:
    lines = [f"person #{person.id}: {person.name} ({person.status})",
             f"  employee id: {person.employee_id or '-'}   e-mail: {person.email or '-'}   "
             f"mobile: {person.mobile or '-'}",
             f"  department: {person.department or '-'}   position: {person.position or '-'}   "
             f"hire date: {person.hire_date.isoformat() if person.hire_date else '-'}"]
    lines.append("  accounts: " + (", ".join(f"{a.platform}:{a.user_id}" for a in person.accounts) or "-"))
    roles = s.execute(select(Role.role, Group.name).outerjoin(Group, Group.id == Role.group_id)
                      .where(Role.person_id == person.id).order_by(Role.id)).all()
    lines.append("  roles: " + (", ".join(f"{r} ({g or 'organisation'})" for r, g in roles) or "-"))
    stays = s.execute(select(Membership, Group).join(Group, Group.id == Membership.group_id)
                      .where(Membership.person_id == person.id).order_by(Membership.id)).all()
    acks = {a.group_id: a for a in s.scalars(select(Acknowledgement).where(Acknowledgement.person_id == person.id))}
    for stay, group in stays:
        state = "in" if stay.left_at is None else f"left {stay.left_at:%Y-%m-%d} ({stay.leave_clause or stay.leave_reason})"
        ack = acks.get(group.id)
        ack_text = "" if ack is None else ("; acknowledged" if ack.acknowledged_at else "; NOT acknowledged (R3.3.2)")
        lines.append(f"  group {group.platform}:{group.chat_id} {group.name}: {state}, "
                     f"joined {stay.joined_at:%Y-%m-%d} ({stay.join_reason}){ack_text}")
    for name, column, value in (("e-mail", func.lower(Person.email), (person.email or "").lower()),
                                ("mobile", Person.mobile, person.mobile)):
        if value:
            others = list(s.scalars(select(Person.id).where(column == value, Person.id != person.id,
                                                            Person.status != "merged")))
            if others:
                lines.append(f"  CONFLICT: the same {name} is on " + ", ".join(f"#{i}" for i in others))
    return lines
