"""What the discipline feature adds to Steward (core/kernel/features.py)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.db.models import Account
from core.discipline import commands, conflicts, lexicon_commands, review_commands
from core.discipline.cases import Discipline
from core.events import MessagePosted
from core.kernel.context import CoreContext
from core.kernel.directory import display
from core.kernel.features import Feature


def _heated(ctx: CoreContext, s: Session, group_id: int, account_id: int, person_id: int,
            e: MessagePosted) -> None:
    conflicts.check(ctx, s, group_id, person_id, e)      # R4.2.3, R7.3.2


def _record(ctx: CoreContext, s: Session, account: Account, locale: str) -> list[str]:
    return [Discipline(ctx, s).record_text(account.person, display(account), locale)]   # R2.3.3


FEATURE = Feature(
    name="discipline",
    commands=(*commands.COMMANDS, *lexicon_commands.COMMANDS, *review_commands.COMMANDS),
    card_actions={**commands.CARD_ACTIONS, **lexicon_commands.CARD_ACTIONS, **review_commands.CARD_ACTIONS},
    observers=(_heated,),
    record=(_record,),
)
