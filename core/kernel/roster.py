"""Who a training reaches: its groups on every platform, their members, their staff."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Account, Group, Membership, Person
from core.kernel.directory import account_on, people_with_role, roles_of

STAFF = frozenset({"admin", "lead", "instructor"})


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
