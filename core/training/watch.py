"""What the training feature looks at in every group message that is no command (an observer declared in
core/training/feature.py): questions and their answers (R4.3.1), links to hold for approval (R3.1.3,
R7.2.2). Heated exchanges (R4.2.3, R7.3.2) are the discipline feature's (core/discipline/conflicts.py)."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import DeleteMessage, SendPrivate
from core.db.models import Account, Case, Group
from core.events import MessagePosted
from core.i18n import t
from core.kernel.context import CoreContext
from core.kernel.directory import roles_of
from core.kernel.outbox import enqueue
from core.kernel.refusals import Refusal
from core.kernel.roster import STAFF
from core.training import questions
from core.training.materials import Materials

LINK = re.compile(r"https?://[^\s<>|]+")


def observe(ctx: CoreContext, s: Session, group_id: int, account_id: int, person_id: int, e: MessagePosted) -> None:
    questions.observe(ctx, s, group_id, account_id, person_id, e)
    if "http" in e.text:
        hold_link(ctx, s, group_id, account_id, person_id, e)


def hold_link(ctx: CoreContext, s: Session, group_id: int, account_id: int, person_id: int,
              e: MessagePosted) -> None:
    found = LINK.search(e.text)
    if found is None or not ctx.caps(e.platform).delete_others_messages:
        return
    group = s.get(Group, group_id)
    if not ctx.config.all_templates()[group.template].training.hold_links or roles_of(s, person_id, group_id) & STAFF:
        return
    if s.scalar(select(Case.id).where(Case.group_id == group_id, Case.message_id == e.message_id).limit(1)):
        return   # the detectors already took it up the ladder (an ad is no material)
    title = (e.text[:found.start()] + e.text[found.end():]).strip() or found.group(0)
    try:
        material = Materials(ctx, s).share(group, s.get(Account, account_id), f"{found.group(0)} {title}",
                                           group.locale)
    except Refusal:
        return
    now = ctx.clock.now()
    enqueue(s, DeleteMessage(e.platform, e.chat_id, e.message_id), key=f"training.hold:{e.platform}:{e.message_id}",
            now=now, group_id=group_id)
    enqueue(s, SendPrivate(e.platform, e.user_id, t(group.locale, "training.share.held", number=material.id,
                                                    group=group.name)),
            key=f"training.held:{e.platform}:{e.message_id}", now=now, group_id=group_id)
