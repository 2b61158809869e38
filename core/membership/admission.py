"""Letting a person into a group: the stay, the platform invite through the outbox, the audit, the welcome.

Every way in (a recommendation R2.1.1, HR onboarding R2.1.2, an approved application R2.1.3) ends here,
so the same person is never invited twice into the same stay.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import Button, InviteMember, RemoveMember, SendPrivate, private_card
from core.db.models import Account, Group, Membership, Person
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import (
    account_on,
    display,
    find_account,
    join,
    leave,
    open_membership,
    people_with_role,
    roles_of,
)
from core.kernel.identity import after_commit, fill_from_profile, profile_of
from core.kernel.outbox import enqueue
from core.kernel.scheduler import schedule
from core.membership.welcome import welcome
from core.roles import DECIDERS


def admit(ctx: CoreContext, s: Session, group: Group, account: Account, *, reason: str, clause: str,
          actor: str) -> bool:
    """Add the account's person to the group; False when they already are a member."""
    now = ctx.clock.now()
    current = open_membership(s, account.person_id, group.id)
    if current is not None and current.admission not in (None, "held"):
        return False
    if current is not None:     # in the group already, held or not sorted yet: now admitted
        current.admission = admission_of(reason)
        audit.record(s, at=now, actor=actor, action="member.admitted", clause=clause, group_id=group.id,
                     person_id=account.person_id, reason=reason)
        welcome(ctx, s, group, account, current)
        return True
    membership = join(s, account, group, now, reason=f"{reason}:{clause}"[:200], admission=admission_of(reason))
    s.flush()
    enqueue(s, InviteMember(group.platform, group.chat_id, account.user_id),
            key=f"invite:{account.person_id}:{group.id}:{membership.id}", now=now, group_id=group.id)
    audit.record(s, at=now, actor=actor, action="member.admitted", clause=clause, group_id=group.id,
                 person_id=account.person_id, reason=reason)
    welcome(ctx, s, group, account, membership)
    return True


def deciders(s: Session, group: Group) -> list[Account]:
    """Who decides about the group's members on its platform: its leads, else its admins."""
    for role in ("lead", "admin"):
        accounts = [a for a in (account_on(p, group.platform) for p in people_with_role(s, group.id, role)) if a]
        if accounts:
            return accounts
    return []


def tell(ctx: CoreContext, s: Session, where: Group, person: Person, key: str, message: str, **values) -> None:
    """A private message to the person on the group's platform (when they have an account there)."""
    account = account_on(person, where.platform)
    if account is not None:
        enqueue(s, SendPrivate(where.platform, account.user_id, t(where.locale, message, **values)),
                key=key, now=ctx.clock.now(), group_id=where.id)


# --- people nobody admitted (R2.1.1, R2.1.3): membership.unadmitted ------------------------------------

UNADMITTED = "R2.1.1"
APPLY = "R2.1.3"
HELD_JOB = "membership.held"
HELD_SUMMARY_FROM = 2    # people held at once in one group (discovery, reconcile): one summary card, not one each
SUMMARY_NAMES = 10       # names on the summary card
REVIEW_CARDS = 10        # individual cards per press of "review"
#: the stays that count as admitted, by how (R2.1): everything else is held, removed or allowed
ADMISSIONS = ("recommendation", "application", "onboarding", "config", "staff", "decided", "allowed",
              "recorded")


def admission_of(reason: str) -> str:
    """The admission a way in stands for (admit()'s `reason`)."""
    if reason.startswith("recommended"):
        return "recommendation"
    if reason.startswith("application"):
        return "application"
    return "onboarding"      # HR's file (onboard:...) and the directory's rules (directory:...)


def sort_unadmitted(ctx: CoreContext, s: Session, group: Group, account: Account, found_by: str,
                    card: bool = True) -> str:
    """Someone in the group whom nobody admitted: what `membership.unadmitted` says (hold | remove | allow).
    Returns the policy applied. `card` False: a held person gets no card of their own (the caller sends one
    summary card for everyone it held, `held_summary`); they are told how to apply at once."""
    policy, now = ctx.config.membership.unadmitted, ctx.clock.now()
    person = account.person
    facts = dict(group_id=group.id, person_id=person.id, user_id=account.user_id, found_by=found_by)
    if policy == "remove":
        stay = open_membership(s, person.id, group.id)
        if stay is not None:
            leave(s, person.id, group.id, now, reason=f"unadmitted:{found_by}", clause=UNADMITTED)
            ctx.lookups.forget_member(person.id, group.id)
        tag = stay.id if stay is not None else now.isoformat()
        enqueue(s, RemoveMember(group.platform, group.chat_id, account.user_id),
                key=f"unadmitted:{person.id}:{group.id}:{tag}:remove", now=now, group_id=group.id)
        enqueue(s, SendPrivate(group.platform, account.user_id, t(
            group.locale, "membership.unadmitted.removed", group=group.name, chat=group.chat_id, clause=APPLY)),
            key=f"unadmitted:{person.id}:{group.id}:{tag}:told", now=now, group_id=group.id)
        audit.record(s, at=now, actor=f"system:{found_by}", action="member.unadmitted_removed", clause=UNADMITTED,
                     **facts)
        return policy
    stay = join(s, account, group, now, reason=f"found:{found_by}", admission="allowed" if policy == "allow"
                else "held")
    if policy == "allow":
        audit.record(s, at=now, actor=f"system:{found_by}", action="member.allowed", clause=UNADMITTED, **facts)
        return policy
    s.flush()
    audit.record(s, at=now, actor=f"system:{found_by}", action="member.held", clause=UNADMITTED, **facts)
    if card:
        schedule(s, key=f"{HELD_JOB}:{stay.id}", kind=HELD_JOB, due_at=now, now=now,
                 payload={"membership_id": stay.id})
    else:
        _tell_held(s, group, account, stay, now)
    return policy


def _tell_held(s: Session, group: Group, account: Account, stay: Membership, now) -> None:
    enqueue(s, SendPrivate(group.platform, account.user_id, t(
        group.locale, "membership.held.told", group=group.name, chat=group.chat_id, clause=APPLY)),
        key=f"held:{stay.id}:told", now=now, group_id=group.id)


def held_summary(ctx: CoreContext, s: Session, group: Group, stays: list[Membership]) -> None:
    """One card for the people held at once in the group (a discovery or a reconciliation of a group nobody
    had admitted yet), to each of its leads and admins: how many, the first names, and two buttons — admit
    them all, or review them a few cards at a time. The buttons carry the group and the last stay held, so
    a click never decides about someone held later."""
    now, locale = ctx.clock.now(), group.locale
    names = [display(s.get(Account, stay.account_id)) for stay in stays[:SUMMARY_NAMES]]
    more = len(stays) - len(names)
    upto = max(stay.id for stay in stays)
    title = t(locale, "membership.held.summary_title", group=group.name, count=len(stays))
    text = t(locale, "membership.held.summary", group=group.name, count=len(stays), names=", ".join(names),
             more=t(locale, "membership.held.more", count=more) if more else "", clause=UNADMITTED)
    value = f"{group.id}:{upto}"
    buttons = (Button(t(locale, "membership.button.admit_all"), "membership.admit_all_held", value, "primary"),
               Button(t(locale, "membership.button.review"), "membership.review_held", value))
    held = {stay.person_id for stay in stays}
    for decider in deciders_and_admins(s, group):
        if decider.person_id in held:
            continue
        action = private_card(group.platform, decider.user_id, title, text, buttons,
                              cards=ctx.caps(group.platform).cards)
        enqueue(s, action, key=f"held-summary:{value}:decider:{decider.id}", now=now, group_id=group.id)


def _still_held(s: Session, group_id: int, upto: int) -> list[Membership]:
    return list(s.scalars(select(Membership).where(
        Membership.group_id == group_id, Membership.id <= upto, Membership.admission == "held",
        Membership.left_at.is_(None)).order_by(Membership.id)))


def _summary_decider(ctx: CoreContext, s: Session, value: str, decider: Account,
                     command: str) -> tuple[Group | None, int]:
    """The group and last stay a summary card's button names, once the clicker may decide there; a forged
    value (no such group, or one the clicker does not decide in) is refused alike, audited."""
    head, _, tail = value.partition(":")
    group = s.get(Group, int(head)) if head.isdigit() and len(head) <= 9 else None
    if group is None or not tail.isdigit() or len(tail) > 12 or not (
            roles_of(s, decider.person_id, group.id) & DECIDERS):
        audit.record(s, at=ctx.clock.now(), actor=f"person:{decider.person_id}", action="command.refused",
                     clause="R7.1.1", group_id=group.id if group else None, person_id=decider.person_id,
                     command=command, reason="role" if group else "item")
        return None, 0
    return group, int(tail)


def admit_all_held(ctx: CoreContext, s: Session, value: str, decider: Account) -> tuple[str, dict]:
    """The summary card's "admit all": every person of that card still held is admitted (R7.1.1), each
    audited and welcomed as if admitted from their own card."""
    group, upto = _summary_decider(ctx, s, value, decider, "membership.admit_all_held")
    if group is None:
        return "membership.decide.refused", {"clause": "R7.1.1"}
    now, actor = ctx.clock.now(), f"person:{decider.person_id}"
    stays = _still_held(s, group.id, upto)
    for stay in stays:
        stay.admission = "decided"
        audit.record(s, at=now, actor=actor, action="member.admitted", clause="R7.1.1", group_id=group.id,
                     person_id=stay.person_id, reason="held:all")
        welcome(ctx, s, group, s.get(Account, stay.account_id), stay)
    return "membership.held.all_admitted", {"count": len(stays), "group": group.name, "clause": "R7.1.1"}


def review_held(ctx: CoreContext, s: Session, value: str, decider: Account) -> tuple[str, dict]:
    """The summary card's "review": the clicker gets the individual cards (admit or remove) of the next
    REVIEW_CARDS people of that card still held; pressed again, the next ones."""
    group, upto = _summary_decider(ctx, s, value, decider, "membership.review_held")
    if group is None:
        return "membership.decide.refused", {"clause": "R7.1.1"}
    stays = _still_held(s, group.id, upto)
    if not stays:
        return "membership.held.review_none", {"group": group.name}
    now = ctx.clock.now()
    batch = now.isoformat()
    for stay in stays[:REVIEW_CARDS]:
        account = s.get(Account, stay.account_id)
        person = account.person
        enqueue(s, _held_card_action(ctx, group, stay, display(account), person.department, person.position,
                                     account, decider),
                key=f"held:{stay.id}:review:{decider.id}:{batch}", now=now, group_id=group.id)
    return "membership.held.review", {"group": group.name, "shown": min(len(stays), REVIEW_CARDS),
                                      "count": len(stays)}


def _held_card_action(ctx: CoreContext, group: Group, stay: Membership, name: str, department: str | None,
                      position: str | None, account: Account, decider: Account):
    """One held person's card (admit or remove) for one decider."""
    text = t(group.locale, "membership.held.card", name=name, department=department or "-",
             position=position or "-", user=f"{account.platform}:{account.user_id}", group=group.name,
             clause=UNADMITTED)
    title = t(group.locale, "membership.held.title", group=group.name)
    buttons = (Button(t(group.locale, "membership.button.admit"), "membership.admit_held", str(stay.id), "primary"),
               Button(t(group.locale, "membership.button.remove"), "membership.remove_held", str(stay.id),
                      "danger"))
    return private_card(group.platform, decider.user_id, title, text, buttons, cards=ctx.caps(group.platform).cards)


def held_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    """`HELD_JOB`: the directory is read after the job's transaction, then the card goes out."""
    stay_id = int(payload["membership_id"])
    after_commit(s, lambda: _held_card(ctx, stay_id))


def _held_card(ctx: CoreContext, stay_id: int) -> None:
    with ctx.sessions() as s:
        stay = s.get(Membership, stay_id)
        account = s.get(Account, stay.account_id)
        platform, user_id = account.platform, account.user_id
    profile = profile_of(ctx, platform, user_id)
    with ctx.sessions.begin() as s:
        stay = s.get(Membership, stay_id)
        if stay.left_at is not None or stay.admission != "held":
            return
        group, account = s.get(Group, stay.group_id), s.get(Account, stay.account_id)
        person, now = account.person, ctx.clock.now()
        fill_from_profile(person, profile, identifiers=False)
        name = (profile.name if profile and profile.name else None) or display(account)
        department = (profile.department if profile else None) or person.department
        position = (profile.position if profile else None) or person.position
        for decider in deciders_and_admins(s, group):
            if decider.person_id == person.id:
                continue
            enqueue(s, _held_card_action(ctx, group, stay, name, department, position, account, decider),
                    key=f"held:{stay.id}:decider:{decider.id}", now=now, group_id=group.id)
        _tell_held(s, group, account, stay, now)


def deciders_and_admins(s: Session, group: Group) -> list[Account]:
    """The group's leads and admins (organisation-wide admins too), on the group's platform."""
    seen, out = set(), []
    for role in ("lead", "admin"):
        for p in people_with_role(s, group.id, role):
            account = account_on(p, group.platform)
            if account is not None and account.id not in seen and p.status == "active":
                seen.add(account.id)
                out.append(account)
    return out


def decide_held(ctx: CoreContext, s: Session, stay: Membership, admit_: bool, decider: Account) -> tuple[str, dict]:
    """The card's answer: admit (the stay counts as decided, the welcome follows) or remove."""
    group, now = s.get(Group, stay.group_id), ctx.clock.now()
    if not roles_of(s, decider.person_id, group.id) & DECIDERS:
        audit.record(s, at=now, actor=f"person:{decider.person_id}", action="command.refused", clause="R7.1.1",
                     group_id=group.id, person_id=decider.person_id,
                     command="membership.admit_held" if admit_ else "membership.remove_held")
        return "membership.decide.refused", {"clause": "R7.1.1"}
    account = s.get(Account, stay.account_id)
    name = display(account)
    if stay.left_at is not None or stay.admission != "held":
        return "membership.held.done", {"name": name, "group": group.name}
    actor = f"person:{decider.person_id}"
    if admit_:
        stay.admission = "decided"
        audit.record(s, at=now, actor=actor, action="member.admitted", clause="R7.1.1", group_id=group.id,
                     person_id=stay.person_id, reason="held")
        welcome(ctx, s, group, account, stay)
        return "membership.held.admitted", {"name": name, "group": group.name, "clause": "R7.1.1"}
    leave(s, stay.person_id, group.id, now, reason="unadmitted:decided", clause=UNADMITTED)
    ctx.lookups.forget_member(stay.person_id, group.id)
    enqueue(s, RemoveMember(group.platform, group.chat_id, account.user_id), key=f"held:{stay.id}:remove",
            now=now, group_id=group.id)
    audit.record(s, at=now, actor=actor, action="member.unadmitted_removed", clause=UNADMITTED, group_id=group.id,
                 person_id=stay.person_id, found_by="held")
    return "membership.held.removed", {"name": name, "group": group.name, "clause": UNADMITTED}


def on_member_joined(ctx: CoreContext, s: Session, group: Group, account: Account) -> None:
    """MemberJoined: a stay nobody admitted is sorted by `membership.unadmitted`; the group's staff, and a
    person added by the group's lead or an admin, are admitted."""
    s.flush()
    stay = open_membership(s, account.person_id, group.id)
    if stay is None or stay.admission is not None:
        return
    if roles_of(s, account.person_id, group.id) - {"member"}:
        stay.admission = "staff"
        return
    inviter = (stay.join_reason or "").partition("joined:")[2]
    by = find_account(s, group.platform, inviter) if inviter else None
    if by is not None and roles_of(s, by.person_id, group.id) & DECIDERS:
        stay.admission = "decided"
        return
    sort_unadmitted(ctx, s, group, account, "joined")
