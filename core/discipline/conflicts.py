"""Conflict alerts (R4.2.3, R7.3.2): insults flying both ways between the same two people within a few
minutes tell the group's admins privately, so a person can calm things down before the ladder does."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import Account, ArchivedMessage, Case, Group, Person
from core.discipline.moderation import CASES_BY_MESSAGE
from core.events import MessagePosted
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.roster import name_of, staff_accounts

HEATED = frozenset({"insult", "discrimination"})
WINDOW = timedelta(minutes=10)


def _heated_case(s: Session, group_id: int, e: MessagePosted) -> Case | None:
    """The insult case the detectors just opened on this message. They ran in this transaction and
    left it in the session's info (core/discipline/moderation.py): no query per message on the hot path."""
    case = s.info.get(CASES_BY_MESSAGE, {}).get(e.message_id)
    if case is not None and case.group_id == group_id and case.category in HEATED:
        return case
    return None


def _targets(s: Session, group: Group, e: MessagePosted, person_id: int, since) -> set[int]:
    """Whom the message answers: the people it mentions, else the last other person who spoke."""
    if e.mentions:
        rows = s.scalars(select(Account.person_id).where(Account.platform == e.platform,
                                                         Account.user_id.in_(e.mentions)))
        return set(rows) - {person_id}
    last = s.scalar(select(ArchivedMessage.person_id).where(
        ArchivedMessage.group_id == group.id, ArchivedMessage.person_id != person_id,
        ArchivedMessage.sent_at >= since, ArchivedMessage.from_bot.is_(False))
        .order_by(ArchivedMessage.sent_at.desc(), ArchivedMessage.id.desc()).limit(1))
    return {last} if last is not None else set()


def check(ctx: CoreContext, s: Session, group_id: int, person_id: int, e: MessagePosted) -> None:
    if ctx.detectors is None or not e.text:
        return
    case = _heated_case(s, group_id, e)
    if case is None:
        return
    now = ctx.clock.now()
    group = s.get(Group, group_id)
    for other in _targets(s, group, e, person_id, now - WINDOW):
        back = s.scalar(select(Case.id).where(Case.group_id == group_id, Case.person_id == other,
                                              Case.category.in_(HEATED), Case.created_at >= now - WINDOW).limit(1))
        if back is None:
            continue
        a, b = sorted((person_id, other))
        bucket = int(now.timestamp() // WINDOW.total_seconds())
        names = [name_of(s.get(Person, p), group.platform) for p in (a, b)]
        text = t(group.locale, "training.conflict.alert", a=names[0], b=names[1], group=group.name,
                 minutes=int(WINDOW.total_seconds() // 60))
        for admin in staff_accounts(s, group, "admin"):
            enqueue(s, SendPrivate(admin.platform, admin.user_id, text),
                    key=f"training.conflict:{group_id}:{a}:{b}:{bucket}:{admin.id}", now=now, group_id=group_id)
        audit.record(s, at=now, actor="system", action="training.conflict", clause="R7.3.2", group_id=group_id,
                     people=[a, b], case_number=case.number)
