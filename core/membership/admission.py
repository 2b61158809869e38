"""Letting a person into a group: the stay, the platform invite through the outbox, the audit, the welcome.

Every way in (a recommendation R2.1.1, HR onboarding R2.1.2, an approved application R2.1.3) ends here,
so the same person is never invited twice into the same stay.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.actions import InviteMember, SendPrivate
from core.db.models import Account, Group, Person
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_on, join, open_membership, people_with_role
from core.kernel.outbox import enqueue
from core.membership.welcome import welcome


def admit(ctx: CoreContext, s: Session, group: Group, account: Account, *, reason: str, clause: str,
          actor: str) -> bool:
    """Add the account's person to the group; False when they already are a member."""
    if open_membership(s, account.person_id, group.id) is not None:
        return False
    now = ctx.clock.now()
    membership = join(s, account, group, now, reason=f"{reason}:{clause}"[:200])
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
