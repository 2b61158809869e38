"""HR onboarding (R2.1.2): every new hire of HR's file goes into the new-hire group(s) of their platform.

Each row runs in its own savepoint: a row that fails (unknown account, conflicting identity) changes
nothing, the others go on. Re-running the same file adds nobody twice: an open stay is never reopened
and invitations carry a person+group idempotency key. `--dry-run` runs the same code and rolls back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db.models import Account, Group, Membership, Person, Role
from core.errors import StewardError
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_for, account_on, find_account, link_account
from core.kernel.identity import Profile, fill_from_profile, has_directory, link, profile_of
from core.membership.admission import admit
from core.membership.onboarding_file import HrRow, RowProblem

CLAUSE = "R2.1.2"
ACTOR = "cli:onboard"


@dataclass
class RowResult:
    row: int
    name: str
    person_id: int | None = None
    created: bool = False
    linked: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)      # accounts taken from another person (--move-accounts)


class RowFailed(Exception):
    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem, self.detail = problem, detail


def new_hire_groups(ctx: CoreContext, s: Session) -> list[Group]:
    """The configured `membership.new_hire_groups`, else every governed group of kind new-hire."""
    refs = ctx.config.membership.new_hire_groups
    query = select(Group).where(Group.active.is_(True)).order_by(Group.id)
    groups = list(s.scalars(query))
    if refs:
        wanted = {tuple(r.split(":", 1)) for r in refs}
        return [g for g in groups if (g.platform, g.chat_id) in wanted]
    return [g for g in groups if g.kind == "new-hire"]


def prefetch_profiles(ctx: CoreContext, rows: list[HrRow]) -> dict[tuple[str, str], Profile | None]:
    """The directory's profile of every account in the file; call it before the transaction opens."""
    return {(platform, user_id): profile_of(ctx, platform, user_id)
            for row in rows for platform, user_id in row.accounts.items() if has_directory(ctx, platform)}


def onboard(ctx: CoreContext, s: Session, rows: list[HrRow], *, join_groups: bool = True,
            progress: Callable[[HrRow], None] | None = None,
            profiles: Mapping[tuple[str, str], Profile | None] | None = None, move_accounts: bool = False
            ) -> tuple[list[RowResult], list[RowProblem]]:
    """Each row in a savepoint. A row that would move an account from one person to another (someone
    with another name, or identifiers of their own) fails unless `move_accounts`: then it is moved,
    audited, and listed."""
    groups = new_hire_groups(ctx, s) if join_groups else []
    if join_groups and not groups:
        raise StewardError("no new-hire group is governed: add a group of kind new-hire to steward.yaml, "
                           "or list them in membership.new_hire_groups")
    results, problems = [], []
    for row in rows:
        savepoint = s.begin_nested()
        try:
            results.append(_one(ctx, s, row, groups, join_groups, profiles or {}, move_accounts))
            savepoint.commit()
        except RowFailed as failed:
            savepoint.rollback()
            problems.append(RowProblem(row.row, failed.problem, failed.detail))
        if progress is not None:
            progress(row)
    return results, problems


def _one(ctx: CoreContext, s: Session, row: HrRow, groups: list[Group], join_groups: bool,
         profiles: Mapping[tuple[str, str], Profile | None], move_accounts: bool = False) -> RowResult:
    now = ctx.clock.now()
    result = RowResult(row=row.row, name=row.name)
    person = _person_for(s, row)
    if person is None:
        person = Person(name=row.name, employee_id=row.employee_id, status="active", created_at=now)
        s.add(person)
        s.flush()
        result.created = True
        audit.record(s, at=now, actor=ACTOR, action="person.created", clause=CLAUSE, person_id=person.id,
                     employee_id=row.employee_id, row=row.row)
    if person.status == "departed":
        raise RowFailed("departed", f"{row.employee_id} is recorded as departed (R2.4.1)")
    for platform, user_id in row.accounts.items():
        existing = find_account(s, platform, user_id)
        if existing is not None and existing.person_id != person.id and _someone_else(s, existing, row):
            other = existing.person
            if not move_accounts:
                raise RowFailed("move", f"{platform}:{user_id} belongs to {other.name} (#{other.id}); this row "
                                        "would move it to another person — check the file, or pass --move-accounts")
            link_account(s, existing, person)
            audit.record(s, at=now, actor=ACTOR, action="identity.moved", clause=CLAUSE, person_id=person.id,
                         account=f"{platform}:{user_id}", from_person_id=other.id, row=row.row)
            result.moved.append(f"{platform}:{user_id} (from #{other.id} {other.name})")
            continue
        account = account_for(s, platform, user_id, now)
        outcome = link(s, account, person, now, ACTOR)
        if outcome.status == "conflict":
            raise RowFailed("conflict", f"{platform}:{user_id} belongs to another person "
                                        f"(#{outcome.other_person_id}: {outcome.reason}); nothing merged")
        if outcome.status == "linked":
            result.linked.append(f"{platform}:{user_id}")
    s.flush()
    s.expire(person, ["accounts"])
    person.name, person.department, person.position = row.name, row.department, row.position
    person.hire_date = row.hire_date
    person.employee_id = person.employee_id or row.employee_id
    person.email = person.email or row.email
    person.mobile = person.mobile or row.mobile
    for ref in row.accounts.items():
        fill_from_profile(person, profiles.get(ref))
    result.person_id = person.id
    if not join_groups:
        return result
    platforms = sorted({g.platform for g in groups})
    targets = [g for g in groups if account_on(person, g.platform) is not None]
    if not targets:
        raise RowFailed("unknown_account", f"{row.employee_id} has no account on {', '.join(platforms)}: "
                                           "add a column with their user id")
    for group in targets:
        account = account_on(person, group.platform)
        if admit(ctx, s, group, account, reason=f"onboard:{row.hire_date.isoformat()}", clause=CLAUSE,
                 actor=ACTOR):
            result.joined.append(f"{group.platform}:{group.chat_id}")
        else:
            result.already.append(f"{group.platform}:{group.chat_id}")
    return result


def _someone_else(s: Session, account: Account, row: HrRow) -> bool:
    """Is the account's person someone the row would take it from? Yes when they hold another employee
    id or e-mail, other accounts, or a real name that is not the row's; when all we know is the
    account's handle, yes if they have a stay or a role (an existing member whose account HR's file may
    name by mistake). Only a bare record (first seen, nothing about them) is linked without a word."""
    person = account.person
    if person.employee_id and person.employee_id != row.employee_id:
        return True
    if row.email and person.email and person.email.lower() != row.email.lower():
        return True
    if len(person.accounts) > 1 or person.status == "departed":
        return True
    handles = {account.user_id.casefold(), (account.display_name or "").casefold(), ""}
    if (person.name or "").casefold() not in handles:
        return person.name.casefold() != row.name.casefold()
    return s.scalar(select(Membership.id).where(Membership.person_id == person.id).limit(1)) is not None or \
        s.scalar(select(Role.id).where(Role.person_id == person.id).limit(1)) is not None


def _person_for(s: Session, row: HrRow) -> Person | None:
    """The person this row is about: by employee id, else by e-mail, else by an account in the file."""
    by_id = s.scalar(select(Person).where(Person.employee_id == row.employee_id))
    by_email = None
    if row.email:
        matches = list(s.scalars(select(Person).where(func.lower(Person.email) == row.email,
                                                      Person.status != "merged")))
        if len(matches) > 1:
            raise RowFailed("conflict", f"e-mail {row.email} is on {len(matches)} people; nothing merged")
        by_email = matches[0] if matches else None
    if by_id is not None and by_email is not None and by_id.id != by_email.id:
        raise RowFailed("conflict", f"employee id {row.employee_id} and e-mail {row.email} belong to two "
                                    f"people (#{by_id.id}, #{by_email.id}); nothing merged")
    if by_email is not None and by_email.employee_id and by_email.employee_id != row.employee_id:
        raise RowFailed("conflict", f"e-mail {row.email} belongs to employee {by_email.employee_id}")
    return by_id or by_email
