"""What the training feature looks at in every group message that is no command (called from inbound):
questions and their answers (R4.3.1), heated exchanges (R4.2.3, R7.3.2)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.events import MessagePosted
from core.services import conflicts, questions
from core.services.context import CoreContext


def observe(ctx: CoreContext, s: Session, group_id: int, account_id: int, person_id: int, e: MessagePosted) -> None:
    questions.observe(ctx, s, group_id, account_id, person_id, e)
    conflicts.check(ctx, s, group_id, person_id, e)
