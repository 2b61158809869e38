"""Who a training reaches: its groups on every platform, their members (trainees) and their staff, and
how to reach each of them. The one roster: staff are those holding any role (core/roles.py).

A training's groups may sit on several messengers (Group.training_id); a member is reached privately
on the platform of the first of its groups they are in, in that group's locale."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import Account, Group, Membership, Person, Role, Training
from core.kernel.directory import account_on, people_with_role, roles_of
from core.kernel.outbox import enqueue
from core.roles import STAFF, TEACHING


def training_groups(s: Session, group: Group) -> list[Group]:
    """Every active group of the same training (on any messenger), or just this one."""
    if group.training_id is None:
        return [group]
    return list(s.scalars(select(Group).where(Group.training_id == group.training_id, Group.active.is_(True))
                          .order_by(Group.id)))


def members(s: Session, groups: list[Group]) -> list[tuple[Person, Account, Group]]:
    """Members (not staff) with an open stay, each once, with the account they use in that group."""
    seen: set[int] = set()
    out = []
    for group in groups:
        rows = s.execute(select(Person, Account).join(Membership, Membership.person_id == Person.id)
                         .join(Account, Account.id == Membership.account_id)
                         .where(Membership.group_id == group.id, Membership.left_at.is_(None))
                         .order_by(Person.id)).all()
        for person, account in rows:
            if person.id in seen or roles_of(s, person.id, group.id) & STAFF:
                continue
            seen.add(person.id)
            out.append((person, account, group))
    return out


def staff_accounts(s: Session, group: Group, role: str) -> list[Account]:
    """The accounts, on the group's platform, of those holding `role` there."""
    return [a for a in (account_on(p, group.platform) for p in people_with_role(s, group.id, role)) if a]


def name_of(person: Person, platform: str | None = None) -> str:
    account = account_on(person, platform) if platform else None
    if account is not None and account.display_name:
        return account.display_name
    return person.name


@dataclass(frozen=True)
class Contact:
    person_id: int
    account: Account
    group: Group



def groups_of(s: Session, training_id: int) -> list[Group]:
    return list(s.scalars(select(Group).where(Group.training_id == training_id, Group.active.is_(True))
                          .order_by(Group.id)))



def training_by_code(s: Session, code: str) -> Training | None:
    return s.scalar(select(Training).where(Training.code == code))



def staff_ids(s: Session, groups: list[Group]) -> set[int]:
    gids = [g.id for g in groups]
    rows = s.execute(select(Role.person_id, Role.group_id, Role.role).where(
        Role.role.in_(STAFF), Role.group_id.in_(gids) | Role.group_id.is_(None)))
    return {r.person_id for r in rows}



def roster(s: Session, training_id: int) -> dict[int, Contact]:
    """Every trainee (no staff role) with an open stay in a group of the training -> how to reach them."""
    groups = groups_of(s, training_id)
    staff = staff_ids(s, groups)
    out: dict[int, Contact] = {}
    by_id = {g.id: g for g in groups}
    for m in s.scalars(select(Membership).where(Membership.group_id.in_(list(by_id)),
                                                Membership.left_at.is_(None)).order_by(Membership.group_id)):
        if m.person_id in staff or m.person_id in out:
            continue
        out[m.person_id] = Contact(m.person_id, s.get(Account, m.account_id), by_id[m.group_id])
    return out



def trainee(s: Session, training_id: int, person_id: int) -> Contact | None:
    """The roster entry of one person, in a few queries (a quiz click or a submission)."""
    groups = groups_of(s, training_id)
    if person_id in staff_ids(s, groups):
        return None
    by_id = {g.id: g for g in groups}
    m = s.scalars(select(Membership).where(Membership.person_id == person_id, Membership.left_at.is_(None),
                                           Membership.group_id.in_(list(by_id))).order_by(Membership.group_id)).first()
    return None if m is None else Contact(person_id, s.get(Account, m.account_id), by_id[m.group_id])



def contact(s: Session, training_id: int, person_id: int) -> Contact | None:
    """How to reach anyone (staff too) with a stay in the training: their first group there."""
    for g in groups_of(s, training_id):
        m = s.scalar(select(Membership).where(Membership.group_id == g.id, Membership.person_id == person_id,
                                              Membership.left_at.is_(None)))
        if m is not None:
            return Contact(person_id, s.get(Account, m.account_id), g)
    person = s.get(Person, person_id)
    groups = groups_of(s, training_id)
    for g in groups:
        for account in person.accounts if person else ():
            if account.platform == g.platform:
                return Contact(person_id, account, g)
    return None



def trainings_of(s: Session, person_id: int) -> list[Training]:
    """The trainings the person has an open stay in, oldest first."""
    ids = s.scalars(select(Group.training_id).join(Membership, Membership.group_id == Group.id).where(
        Membership.person_id == person_id, Membership.left_at.is_(None), Group.training_id.is_not(None),
        Group.active.is_(True)).distinct())
    return [s.get(Training, i) for i in sorted(set(ids))]



def locale_of(s: Session, person_id: int, default: str) -> str:
    """The locale of the first governed group the person is in (a card click carries no group)."""
    locale = s.scalar(select(Group.locale).join(Membership, Membership.group_id == Group.id).where(
        Membership.person_id == person_id, Membership.left_at.is_(None), Group.active.is_(True))
        .order_by(Group.id).limit(1))
    return locale or default



def is_staff(s: Session, person_id: int, training_id: int, roles: frozenset[str] = TEACHING) -> bool:
    gids = [g.id for g in groups_of(s, training_id)]
    return s.scalar(select(Role.id).where(Role.person_id == person_id, Role.role.in_(roles),
                                          Role.group_id.in_(gids) | Role.group_id.is_(None)).limit(1)) is not None



def tell(s: Session, c: Contact, text: str, key: str, now: datetime) -> None:
    enqueue(s, SendPrivate(c.account.platform, c.account.user_id, text), key=key, now=now, group_id=c.group.id)

