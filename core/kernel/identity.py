"""One person behind their Slack, WeCom and DingTalk accounts.

A person is found by employee id, e-mail, mobile or one of their accounts; an account is linked to a
person with `core.kernel.directory.link_account`, which moves the stays, roles, cases and archive.
Two people claiming one account, or one e-mail on two people, is a conflict: reported and audited,
never merged silently.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core import platforms
from core.actions import SendPrivate
from core.db.models import Account, IdentityConflict, Person, Role
from core.i18n import t
from core.kernel import audit
from core.kernel.directory import account_for, find_account, link_account
from core.kernel.outbox import enqueue
from core.ports import Directory
from core.ports import Profile as PortProfile
from core.roles import ADMIN, LINKERS

log = logging.getLogger("steward.identity")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE = re.compile(r"^\+?[\d\- ()]{6,20}$")
EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True)
class Profile:
    """What identity and onboarding use of a directory's answer (`core.ports.Profile`, the one shape every
    connector returns): cleaned, and with the departments by name and by id in one tuple for the rules."""
    name: str | None = None
    email: str | None = None
    mobile: str | None = None
    employee_id: str | None = None
    department: str | None = None
    position: str | None = None
    deleted: bool = False
    departments: tuple[str, ...] = ()        # every department, by name and by the platform's id


def directories(ctx) -> Mapping[str, Directory]:
    return ctx.directories


def has_directory(ctx, platform: str) -> bool:
    return platform in directories(ctx)


def after_commit(s: Session, work: Callable[[], None]) -> None:
    """Run `work` once the caller's transaction has committed. Directory lookups never run inside a
    transaction: the connectors keep their tokens in the database, and on SQLite (one writer at a time)
    they would wait for our own lock."""
    def run(_session: Session) -> None:
        try:
            work()
        except Exception:   # the event is committed; a failed follow-up is logged, never half-applied
            log.exception("follow-up after commit failed")
    event.listen(s, "after_commit", run, once=True)


def profile_of(ctx, platform: str, user_id: str) -> Profile | None:
    """The directory's profile, or None when the platform has no directory or the lookup fails.
    Call it outside any transaction (see after_commit)."""
    source = directories(ctx).get(platform)
    if source is None:
        return None
    try:
        raw = source.user_profile(user_id)
    except Exception as exc:   # a directory that is down must not stop a command
        log.warning("directory lookup %s:%s failed: %s", platform, user_id, type(exc).__name__)
        return None
    return from_directory(raw) if raw is not None else None


def from_directory(p: PortProfile) -> Profile:
    return Profile(
        name=_clean(p.name), email=_clean(p.email), mobile=_clean(p.mobile), employee_id=_clean(p.employee_id),
        department=_clean(p.department or (p.departments[0] if p.departments else None)),
        position=_clean(p.position), deleted=p.deleted,
        departments=tuple(dict.fromkeys(d for d in map(_clean, (*p.departments, *p.department_ids)) if d)))


def _clean(value: Any) -> str | None:
    if value is None or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text[:200] or None


def fill_from_profile(person: Person, profile: Profile | None, identifiers: bool = True) -> list[str]:
    """Fill the person's empty fields from a directory profile; returns the fields filled.
    `identifiers=False` leaves e-mail and mobile to automatic identity (`resolve`), which checks first
    whether someone else holds them."""
    if profile is None:
        return []
    filled = []
    for name in ("department", "position", *(("email", "mobile") if identifiers else ())):
        value = getattr(profile, name)
        if value and not getattr(person, name):
            setattr(person, name, value)
            filled.append(name)
    handles = {a.user_id for a in person.accounts} | {a.display_name for a in person.accounts if a.display_name}
    if profile.name and profile.name != person.name and (not person.name or person.name in handles):
        person.name = profile.name
        filled.append("name")
    return filled


# --- finding people ------------------------------------------------------------------------------

@dataclass
class Lookup:
    person: Person | None = None
    account: Account | None = None           # when the key was platform:user_id
    problem: str | None = None               # "ambiguous_email", "bad_key", ...
    candidates: list[int] = field(default_factory=list)


def parse_account(key: str) -> tuple[str, str] | None:
    return platforms.split_account(key)


def find_person(s: Session, key: str) -> Lookup:
    """A person by platform:user_id, e-mail, mobile or employee id (in that order of recognition)."""
    key = key.strip()
    if key.lower().startswith("person:") and key[7:].isdigit():
        return Lookup(person=s.get(Person, int(key[7:])))
    ref = parse_account(key)
    if ref is not None:
        account = find_account(s, *ref)
        return Lookup(person=account.person if account else None, account=account)
    if EMAIL.match(key):
        people = _active(s, func.lower(Person.email) == key.lower())
        if len(people) > 1:
            return Lookup(problem="ambiguous_email", candidates=[p.id for p in people])
        return Lookup(person=people[0] if people else None)
    person = s.scalar(select(Person).where(Person.employee_id == key))
    if person is not None:
        return Lookup(person=person)
    if MOBILE.match(key) and sum(c.isdigit() for c in key) >= 6:
        people = _active(s, Person.mobile == _digits(key))
        if len(people) > 1:
            return Lookup(problem="ambiguous_mobile", candidates=[p.id for p in people])
        return Lookup(person=people[0] if people else None)
    return Lookup(problem=None if EMPLOYEE_ID.match(key) else "bad_key")


def _active(s: Session, condition) -> list[Person]:
    return list(s.scalars(select(Person).where(condition, Person.status != "merged").order_by(Person.id)))


def _digits(mobile: str) -> str:
    return "".join(c for c in mobile if c.isdigit() or c == "+")


def normalise_mobile(mobile: str | None) -> str | None:
    return _digits(mobile) if mobile else None


# --- linking -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkResult:
    status: str                      # linked | already | conflict
    reason: str | None = None        # why a conflict: account_taken | email_taken | employee_id_taken | ...
    other_person_id: int | None = None


def is_established(person: Person) -> bool:
    """A person someone vouched for: more than one account, or an employee id / e-mail on record.
    An auto-created person (one account, nothing else) may be folded into another by an explicit,
    audited link."""
    return len(person.accounts) > 1 or bool(person.employee_id) or bool(person.email)


def link(s: Session, account: Account, person: Person, now: datetime, actor: str) -> LinkResult:
    """Attach `account` to `person`, unless that would merge two established people."""
    if account.person_id == person.id:
        return LinkResult("already")
    old = account.person
    problem = "playground_separate" if not same_world(account, person) else conflict_between(old, person)
    if problem is not None:
        audit.record(s, at=now, actor=actor, action="identity.conflict", person_id=person.id,
                     account=f"{account.platform}:{account.user_id}", other_person_id=old.id, reason=problem)
        return LinkResult("conflict", problem, old.id)
    last_account = len(old.accounts) == 1
    for name in ("employee_id", "email", "mobile", "department", "position", "hire_date"):
        value = getattr(old, name)
        if getattr(person, name) is None and value is not None:
            if name in ("employee_id", "email"):
                if not last_account:
                    continue
                setattr(old, name, None)   # unique: the old person gives it up first
                s.flush()
            setattr(person, name, value)
    link_account(s, account, person)
    moved = move_records(s, old.id, person.id) if old.status == "merged" else {}
    audit.record(s, at=now, actor=actor, action="identity.linked", person_id=person.id,
                 account=f"{account.platform}:{account.user_id}", from_person_id=old.id, moved=moved)
    return LinkResult("linked", other_person_id=old.id)


# Moved by link_account itself; the audit log is append-only and keeps the ids it was written with.
_MOVED_BY_DIRECTORY = frozenset({"people", "accounts", "roles", "memberships", "cases", "messages"})


def move_records(s: Session, old_id: int, new_id: int) -> dict[str, int]:
    """Every other feature's rows of a merged person follow the person (training and assessment
    records, acknowledgements, requests), found through the foreign keys to people.id. A row the
    person already has an equivalent of (a unique constraint) stays where it was."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from core.db.models import Base

    moved: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in _MOVED_BY_DIRECTORY:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name != "people":
                continue
            column, key = fk.parent, list(table.primary_key.columns)[0]
            ids = list(s.execute(select(key).where(column == old_id)).scalars())
            count = 0
            for row_id in ids:
                savepoint = s.begin_nested()
                try:
                    s.execute(update(table).where(key == row_id).values({column.name: new_id}))
                    savepoint.commit()
                    count += 1
                except IntegrityError:
                    savepoint.rollback()
            if count:
                moved[f"{table.name}.{column.name}"] = count
    return moved


def same_world(account: Account, person: Person) -> bool:
    """The playground's accounts (a platform that is not `real`) are never one person with a real messenger's:
    anyone on the playground's machine may speak as any of them."""
    def real(platform: str) -> bool:
        info = platforms.get(platform)
        return info is None or info.real
    return all(real(a.platform) == real(account.platform) for a in person.accounts)


def conflict_between(old: Person, person: Person) -> str | None:
    """Why the account's current person cannot be folded into `person`, or None."""
    if not (is_established(old) and is_established(person)):
        return None
    if old.employee_id and person.employee_id and old.employee_id != person.employee_id:
        return "employee_id_differs"
    if old.email and person.email and old.email.lower() != person.email.lower():
        return "email_differs"
    return "account_taken"


def set_identifier(s: Session, person: Person, name: str, value: str, now: datetime, actor: str) -> LinkResult:
    """Record an employee id or e-mail on a person, unless another person already has it."""
    column = getattr(Person, name)
    match = func.lower(column) == value.lower() if name == "email" else column == value
    other = s.scalar(select(Person).where(match, Person.id != person.id, Person.status != "merged"))
    if other is not None:
        audit.record(s, at=now, actor=actor, action="identity.conflict", person_id=person.id,
                     other_person_id=other.id, reason=f"{name}_taken")
        return LinkResult("conflict", f"{name}_taken", other.id)
    current = getattr(person, name)
    if current and current.lower() != value.lower():
        audit.record(s, at=now, actor=actor, action="identity.conflict", person_id=person.id,
                     reason=f"{name}_differs", have=current, wanted=value)
        return LinkResult("conflict", f"{name}_differs", person.id)
    if current:
        return LinkResult("already")
    setattr(person, name, value)
    audit.record(s, at=now, actor=actor, action="identity.linked", person_id=person.id, **{name: value})
    return LinkResult("linked")


def link_by_key(s: Session, account: Account, key: str, now: datetime, actor: str) -> LinkResult:
    """`link @a KEY`: KEY is platform:user_id (that account joins @a's person), an e-mail or an employee id
    (@a joins the person who has it, or it is recorded on @a's person)."""
    ref = parse_account(key)
    if ref is not None:
        other = account_for(s, ref[0], ref[1], now)
        if is_established(other.person) and not is_established(account.person):
            # an explicit admin link: the bare newcomer joins the person who is known
            return link(s, account, other.person, now, actor)
        return link(s, other, account.person, now, actor)
    found = find_person(s, key)
    if found.problem:
        if found.problem.startswith("ambiguous"):
            audit.record(s, at=now, actor=actor, action="identity.conflict", person_id=account.person_id,
                         reason=found.problem, candidates=found.candidates)
        return LinkResult("conflict", found.problem)
    if found.person is not None:
        return link(s, account, found.person, now, actor)
    return set_identifier(s, account.person, "email" if EMAIL.match(key) else "employee_id", key, now, actor)


def duplicates_report(s: Session) -> list[tuple[str, str, list[int]]]:
    """(field, value, person ids) for every e-mail or mobile held by more than one active person."""
    found = []
    for name, column in (("email", func.lower(Person.email)), ("mobile", Person.mobile)):
        rows = s.execute(select(column, func.count()).where(column.is_not(None), Person.status != "merged")
                         .group_by(column).having(func.count() > 1)).all()
        for value, _ in rows:
            ids = list(s.scalars(select(Person.id).where(column == value, Person.status != "merged")
                                 .order_by(Person.id)))
            found.append((name, value, ids))
    return found


# --- automatic identity (every newly seen account, and every directory change) --------------------

KEYS = ("employee_id", "email", "mobile")
AUTO = "directory"


def identify_job(ctx, s: Session, payload: dict) -> None:
    """The worker's `IDENTIFY_JOB`: the directory is read once the job's own transaction has committed."""
    account_id = int(payload["account_id"])
    after_commit(s, lambda: identify(ctx, account_id))


def identify(ctx, account_id: int) -> str | None:
    """Look the account up in its platform's directory (outside any transaction), then link it:
    returns what `resolve` did, or None when there is no directory or no profile."""
    with ctx.sessions() as s:
        account = s.get(Account, account_id)
        if account is None or not has_directory(ctx, account.platform):
            return None
        platform, user_id = account.platform, account.user_id
    profile = profile_of(ctx, platform, user_id)
    if profile is None:
        return None
    with ctx.sessions.begin() as s:
        return resolve(ctx, s, s.get(Account, account_id), profile)


def _keys_of(profile: Profile) -> list[tuple[str, str]]:
    values = (profile.employee_id, (profile.email or "").lower() or None, normalise_mobile(profile.mobile))
    return [(k, v) for k, v in zip(KEYS, values) if v and (k != "email" or EMAIL.match(v))]


def _holders(s: Session, key: str, value: str) -> list[Person]:
    column = getattr(Person, key)
    match = func.lower(column) == value if key == "email" else column == value
    return _active(s, match)


def resolve(ctx, s: Session, account: Account, profile: Profile) -> str:
    """Automatic identity: when the directory's employee id, verified e-mail or mobile matches exactly
    one other person, the account is linked to them (audited with the key that matched). Two or more
    people, another account of that person on the same platform, or an account already tied to someone
    by an explicit link is a conflict: recorded, reported to the admins, never merged.
    Returns linked | recorded | conflict | unchanged."""
    now, actor, person = ctx.clock.now(), f"{account.platform}:{AUTO}", account.person
    keys = _keys_of(profile)
    found: dict[int, list[str]] = {}
    for key, value in keys:
        for other in _holders(s, key, value):
            if other.id != person.id:
                found.setdefault(other.id, []).append(key)
    if not found:
        recorded = []
        for key, value in keys:
            if not getattr(person, key):
                setattr(person, key, value)
                recorded.append(key)
        recorded += fill_from_profile(person, profile)
        if recorded:
            audit.record(s, at=now, actor=actor, action="identity.recorded", person_id=person.id,
                         account=f"{account.platform}:{account.user_id}", fields=sorted(set(recorded)))
        return "recorded" if recorded else "unchanged"
    key, value = next((k, v) for k, v in keys if any(k in ks for ks in found.values()))
    if len(found) > 1:
        return report_conflict(ctx, s, account, key, value, "ambiguous", sorted(found))
    (other_id, matched), = found.items()
    other = s.get(Person, other_id)
    if any(a.platform == account.platform and a.id != account.id for a in other.accounts):
        return report_conflict(ctx, s, account, key, value, "same_platform", [other_id])
    if is_established(person):
        # linked by an admin, or holding identifiers of its own: the directory contradicts it
        return report_conflict(ctx, s, account, key, value, "linked_elsewhere", [other_id])
    result = link(s, account, other, now, actor)
    if result.status == "conflict":
        return report_conflict(ctx, s, account, key, value, result.reason or "account_taken", [other_id])
    audit.record(s, at=now, actor=actor, action="identity.auto_linked", person_id=other.id,
                 account=f"{account.platform}:{account.user_id}", matched=matched, key=key)
    fill_from_profile(other, profile, identifiers=False)
    return "linked"


def report_conflict(ctx, s: Session, account: Account, key: str, value: str, reason: str,
                    people: list[int]) -> str:
    """Record the conflict once (while it is open) and tell the organisation's admins privately."""
    now = ctx.clock.now()
    open_one = s.scalar(select(IdentityConflict).where(
        IdentityConflict.account_id == account.id, IdentityConflict.key == key, IdentityConflict.value == value,
        IdentityConflict.resolved_at.is_(None)))
    if open_one is not None:
        return "conflict"
    conflict = IdentityConflict(account_id=account.id, person_id=account.person_id, key=key, value=value[:320],
                                reason=reason[:32], candidates={"people": people}, created_at=now)
    s.add(conflict)
    s.flush()
    audit.record(s, at=now, actor=f"{account.platform}:{AUTO}", action="identity.conflict",
                 person_id=account.person_id, account=f"{account.platform}:{account.user_id}", key=key,
                 reason=reason, candidates=people, conflict=conflict.id)
    admins = list(s.scalars(select(Person).join(Role, Role.person_id == Person.id).where(
        Role.role.in_(tuple(LINKERS)), Role.group_id.is_(None), Person.status == "active").distinct()))
    if not admins:   # no organisation-wide admin: the admins of any group
        admins = list(s.scalars(select(Person).join(Role, Role.person_id == Person.id).where(
            Role.role == ADMIN, Person.status == "active").distinct()))
    locale = ctx.config.locale
    text = t(locale, "identity.conflict.report", account=f"{account.platform}:{account.user_id}",
             field=key, value=value, reason=reason, people=", ".join(f"#{p}" for p in [account.person_id, *people]),
             conflict=conflict.id)
    for admin in admins:
        target = next((a for a in admin.accounts if a.platform == account.platform), None) or \
            (admin.accounts[0] if admin.accounts else None)
        if target is not None:
            enqueue(s, SendPrivate(target.platform, target.user_id, text),
                    key=f"identity-conflict:{conflict.id}:{admin.id}", now=now)
    return "conflict"


def open_conflicts(s: Session) -> list:
    return list(s.scalars(select(IdentityConflict).where(IdentityConflict.resolved_at.is_(None))
                          .order_by(IdentityConflict.id)))
