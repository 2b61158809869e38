"""Onboarding from the directory (R2.1.2): a person who joins the organisation (WeCom create_user,
DingTalk user_add_org, Slack team_join) and matches a `membership.onboarding_rules` entry joins that training's new-hire
group(s) on their platform, through the same admission as `steward onboard` (the invite, the audit, the
welcome with the confidentiality terms, R3.3). No rule matching: nothing happens but an audit record.

The event names department ids at best (WeCom) or nobody's department at all (DingTalk), so when the
platform has a directory the profile is read after the event's transaction (see identity.after_commit)
and the rules are applied in a transaction of their own.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Account, Training
from core.events import UserJoinedOrg
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_for
from core.kernel.identity import Profile, after_commit, fill_from_profile, has_directory, profile_of
from core.membership.admission import admit
from core.membership.onboarding import CLAUSE, new_hire_groups


def on_user_joined_org(ctx: CoreContext, s: Session, e: UserJoinedOrg) -> None:
    now = ctx.clock.now()
    account = account_for(s, e.platform, e.user_id, now)
    fill_from_profile(account.person, Profile(name=e.name, email=e.email, mobile=e.mobile, position=e.position))
    audit.record(s, at=now, actor=_actor(e.platform), action="person.joined_org", clause=CLAUSE,
                 person_id=account.person_id, user_id=e.user_id, departments=list(e.departments),
                 position=e.position)
    if has_directory(ctx, e.platform):
        account_id, departments, position = account.id, e.departments, e.position
        after_commit(s, lambda: _after_lookup(ctx, account_id, departments, position))
    else:
        apply_rules(ctx, s, account, e.departments, e.position)


def _after_lookup(ctx: CoreContext, account_id: int, departments: tuple[str, ...], position: str | None) -> None:
    with ctx.sessions() as s:
        account = s.get(Account, account_id)
        platform, user_id = account.platform, account.user_id
    profile = profile_of(ctx, platform, user_id)          # outside any transaction
    with ctx.sessions.begin() as s:
        account = s.get(Account, account_id)
        fill_from_profile(account.person, profile)
        if profile is not None:
            departments = (*departments, *profile.departments, *([profile.department] if profile.department else []))
            position = profile.position or position
        apply_rules(ctx, s, account, departments, position)


def apply_rules(ctx: CoreContext, s: Session, account: Account, departments: tuple[str, ...],
                position: str | None) -> list[str]:
    """Admit the person into the new-hire group(s) of every training whose rule matches; returns the
    groups joined (platform:chat_id)."""
    now, actor, person = ctx.clock.now(), _actor(account.platform), account.person
    facts = {"user_id": account.user_id, "departments": list(dict.fromkeys(departments)), "position": position}
    if person.status != "active":
        audit.record(s, at=now, actor=actor, action="onboarding.skipped", clause=CLAUSE, person_id=person.id,
                     reason=f"person is {person.status}", **facts)
        return []
    trainings = list(dict.fromkeys(rule.training for rule in ctx.config.membership.onboarding_rules
                                   if rule.matches(departments, position)))
    if not trainings:
        audit.record(s, at=now, actor=actor, action="onboarding.no_rule", clause=CLAUSE, person_id=person.id,
                     **facts)
        return []
    candidates = [g for g in new_hire_groups(ctx, s) if g.platform == account.platform]
    joined = []
    for code in trainings:
        training_id = s.scalar(select(Training.id).where(Training.code == code))
        groups = [g for g in candidates if training_id is not None and g.training_id == training_id]
        if not groups:
            audit.record(s, at=now, actor=actor, action="onboarding.no_group", clause=CLAUSE, person_id=person.id,
                         training=code, platform=account.platform, **facts)
        for group in groups:
            if admit(ctx, s, group, account, reason=f"directory:{code}", clause=CLAUSE, actor=actor):
                joined.append(f"{group.platform}:{group.chat_id}")
    return joined


def _actor(platform: str) -> str:
    return f"{platform}:directory"
