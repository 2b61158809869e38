"""People, accounts, groups and roles as the core sees them."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.db.models import Account, ArchivedMessage, Case, Group, Membership, Person, Role, ScheduledJob
from core.db.upsert import driver, driver_errors, insert_ignore, pg_rows

IDENTIFY_JOB = "identity.resolve"


def account_for(session: Session, platform: str, user_id: str, now: datetime,
                display_name: str | None = None) -> Account:
    """The account, created with a new person on first sight. A new account is looked up in its
    platform's directory by the worker (`IDENTIFY_JOB`, core/kernel/identity.py: automatic identity),
    never inside this transaction."""
    account = find_account(session, platform, user_id)
    if account is None:
        person = Person(name=display_name or user_id, status="active", created_at=now)
        account = Account(person=person, platform=platform, user_id=user_id,
                          display_name=display_name, created_at=now)
        session.add_all([person, account])
        session.flush()
        identify_later(session, account.id, now)
    elif display_name and account.display_name != display_name:
        account.display_name = display_name
        if account.person.name == account.user_id:
            account.person.name = display_name
    return account


def account_ids_many(session: Session, senders: list[tuple[str, str, str | None]],
                     now: datetime, read: list[dict] | None = None) -> dict[tuple[str, str], tuple[int, int]]:
    """(account id, person id) of each (platform, user id, display name): one query per platform for those
    known (sent straight to the driver: this runs for every batch of messages); the rest are created.
    `read`: the rows of ACCOUNTS_READ for these senders, read already in this transaction."""
    wanted = {(platform, user_id): name for platform, user_id, name in senders}
    found = {}
    for platform, user_id, account_id, person_id, display_name in (
            _accounts(session, wanted) if read is None else
            ((r["platform"], r["user_id"], r["id"], r["person_id"], r["display_name"]) for r in read)):
        name = wanted.get((platform, user_id))
        if not name or display_name == name:
            found[(platform, user_id)] = (account_id, person_id)
    for (platform, user_id), name in wanted.items():
        if (platform, user_id) not in found:     # first sight, or a new display name
            account = account_for(session, platform, user_id, now, name)
            found[(platform, user_id)] = (account.id, account.person_id)
    return found


def _accounts(session: Session, wanted) -> list[tuple]:
    by_platform: dict[str, list[str]] = {}
    for platform, user_id in wanted:
        by_platform.setdefault(platform, []).append(user_id)
    conn, dialect = driver(session)
    rows = []
    for platform, user_ids in by_platform.items():
        sql, params = ((_ACCOUNTS_PG, (platform, user_ids)) if dialect.name == "postgresql" else
                       (_accounts_sqlite(len(user_ids)), (platform, *user_ids)))
        with driver_errors(dialect, sql, conn):
            rows += pg_rows(conn, sql, params) if dialect.name == "postgresql" else conn.execute(sql, params).fetchall()
    return rows


_ACCOUNTS_PG = ("SELECT platform, user_id, id, person_id, display_name FROM accounts "
                "WHERE platform = %s AND user_id = ANY(%s)")
# PostgreSQL: the senders' accounts, read in the statement that de-duplicates their events (inbound.py)
ACCOUNTS_READ = ("SELECT a.platform, a.user_id, a.id, a.person_id, a.display_name FROM accounts AS a "
                 "JOIN unnest(CAST(%(platforms)s AS text[]), CAST(%(users)s AS text[])) AS s(platform, user_id) "
                 "ON a.platform = s.platform AND a.user_id = s.user_id")


@lru_cache(maxsize=512)
def _accounts_sqlite(n: int) -> str:
    return (f"SELECT platform, user_id, id, person_id, display_name FROM accounts "
            f"WHERE platform = ? AND user_id IN ({', '.join('?' * n)})")


# The lookups every command and every step of the ladder makes, built once with bound parameters: building
# a select and its cache key on each call cost more than running it (250 against 100 µs for group_for).
_ACCOUNT = select(Account).where(Account.platform == bindparam("platform"), Account.user_id == bindparam("user_id"))
_GROUP = select(Group).where(Group.platform == bindparam("platform"), Group.chat_id == bindparam("chat_id"),
                             Group.active.is_(True))
_ROLES = select(Role.role).where(Role.person_id == bindparam("person_id"),
                                 Role.group_id.is_(None) | (Role.group_id == bindparam("group_id")))
_ORG_ROLES = select(Role.role).where(Role.person_id == bindparam("person_id"), Role.group_id.is_(None))
_OPEN_STAY = select(Membership).where(Membership.person_id == bindparam("person_id"),
                                      Membership.group_id == bindparam("group_id"), Membership.left_at.is_(None))


def find_account(session: Session, platform: str, user_id: str) -> Account | None:
    return session.scalar(_ACCOUNT, {"platform": platform, "user_id": user_id})


def link_account(session: Session, account: Account, person: Person) -> None:
    """Attach an account to a person (one identity across messengers).

    What was recorded under the account's previous person follows it: its group stays, and — when
    that person has no other account left — its roles, cases and archive too, so the ladder, the
    roles and departures (R2.4.1) all see one person.
    """
    old = account.person
    if old is None or old.id == person.id:
        account.person = person
        return
    for membership in session.scalars(select(Membership).where(Membership.account_id == account.id)):
        _move_membership(session, membership, person.id)
    account.person = person
    session.flush()
    if session.scalar(select(Account.id).where(Account.person_id == old.id).limit(1)) is None:
        for role in session.scalars(select(Role).where(Role.person_id == old.id)).all():
            duplicate = session.scalar(select(Role.id).where(Role.person_id == person.id, Role.role == role.role,
                                                             _same_group(Role.group_id, role.group_id)))
            if duplicate is None:
                role.person_id = person.id
            else:
                session.delete(role)
        for membership in session.scalars(select(Membership).where(Membership.person_id == old.id)).all():
            _move_membership(session, membership, person.id)
        session.execute(update(Case).where(Case.person_id == old.id).values(person_id=person.id))
        session.execute(update(ArchivedMessage).where(ArchivedMessage.person_id == old.id)
                        .values(person_id=person.id))
        old.status = "merged"
    session.flush()


def _same_group(column, group_id: int | None):
    return column.is_(None) if group_id is None else column == group_id


def _move_membership(session: Session, membership: Membership, person_id: int) -> None:
    """Re-own a stay; two open stays of one person in one group become one."""
    if membership.left_at is None:
        existing = open_membership(session, person_id, membership.group_id)
        if existing is not None and existing.id != membership.id:
            session.delete(membership)
            return
    membership.person_id = person_id


def group_for(session: Session, platform: str, chat_id: str) -> Group | None:
    return session.scalar(_GROUP, {"platform": platform, "chat_id": chat_id})


def roles_of(session: Session, person_id: int, group_id: int | None) -> set[str]:
    """Organisation-wide roles plus the roles in this group."""
    if group_id is None:
        return set(session.scalars(_ORG_ROLES, {"person_id": person_id}))
    return set(session.scalars(_ROLES, {"person_id": person_id, "group_id": group_id}))


def people_with_role(session: Session, group_id: int, role: str) -> list[Person]:
    """Holders of `role` in the group, or organisation-wide."""
    query = (select(Person).join(Role, Role.person_id == Person.id)
             .where(Role.role == role, (Role.group_id == group_id) | Role.group_id.is_(None))
             .distinct().order_by(Person.id))
    return list(session.scalars(query))


def account_on(person: Person, platform: str) -> Account | None:
    for account in person.accounts:
        if account.platform == platform:
            return account
    return None


def open_membership(session: Session, person_id: int, group_id: int) -> Membership | None:
    return session.scalar(_OPEN_STAY, {"person_id": person_id, "group_id": group_id})


def identify_later(session: Session, account_id: int, now: datetime, why: str = "new") -> None:
    """Queue the directory lookup of an account (first sight, or a directory change event)."""
    insert_ignore(session, ScheduledJob, dict(
        key=f"{IDENTIFY_JOB}:{account_id}:{why}"[:200], kind=IDENTIFY_JOB, payload={"account_id": account_id},
        due_at=now, status="pending", attempts=0, locked_until=None, last_error=None, created_at=now))


def join(session: Session, account: Account, group: Group, now: datetime, reason: str,
         admission: str | None = None) -> Membership:
    """The open stay, opened when there is none. `admission` says how it was admitted (R2.1): kept on a
    new stay, and given to an open stay that had none yet."""
    current = open_membership(session, account.person_id, group.id)
    if current is not None:
        if admission and current.admission is None:
            current.admission = admission
        return current
    membership = Membership(person_id=account.person_id, group_id=group.id, account_id=account.id,
                            joined_at=now, join_reason=reason, admission=admission)
    session.add(membership)
    return membership


def leave(session: Session, person_id: int, group_id: int, now: datetime, reason: str,
          clause: str | None = None) -> Membership | None:
    current = open_membership(session, person_id, group_id)
    if current is not None:
        current.left_at = now
        current.leave_reason = reason
        current.leave_clause = clause
    return current


def display(account: Account) -> str:
    return account.display_name or account.person.name or account.user_id
