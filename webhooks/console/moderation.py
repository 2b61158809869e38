"""The console's moderation page: the admins' lexicon edits (the same service as `lexicon add|remove` in
the chat, audited, live in every process), and a what-if box that runs a text — and the last archived
messages — through the detectors with and without a proposed change, before it is saved."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import ArchivedMessage, Group
from core.discipline import lexicon
from core.discipline.config import moderation_settings
from core.discipline.lexicon_commands import MAX_TERM
from core.moderation import CLAUSES, LEXICON_CATEGORIES, MemoryRecentMessages, Moderator, Verdict

ARCHIVE_SAMPLE = 200


@dataclass(frozen=True)
class Proposal:
    category: str
    term: str
    op: str            # add | remove

    def problem(self) -> str | None:
        if self.category not in LEXICON_CATEGORIES:
            return "category"
        if self.op not in ("add", "remove"):
            return "op"
        if not self.term or len(self.term) > MAX_TERM or "\n" in self.term:
            return "term"
        return None


def moderators(config, s: Session, template: str, proposal: Proposal | None) -> tuple[Moderator, Moderator | None]:
    """The template's moderator as it is now, and as it would be with the proposal (fresh flood memory)."""
    added, removed = lexicon.current_edits(s)
    now = Moderator(moderation_settings(config, template, added, removed), MemoryRecentMessages())
    if proposal is None:
        return now, None
    added = {k: [t for t in v if not (k == proposal.category and t == proposal.term)] for k, v in added.items()}
    removed = {k: [t for t in v if not (k == proposal.category and t == proposal.term)] for k, v in removed.items()}
    (added if proposal.op == "add" else removed).setdefault(proposal.category, []).append(proposal.term)
    return now, Moderator(moderation_settings(config, template, added, removed), MemoryRecentMessages())


def verdicts(moderator: Moderator, text: str, at: datetime, n: int = 0) -> list[Verdict]:
    # a sender and chat of their own for each text: the what-if judges the words, not a flood
    return moderator.check(text, sender=f"whatif:{n}", chat=f"whatif:{n}", at=at)


def summary(found: list[Verdict]) -> str:
    return "; ".join(f"{v.clause} {v.rule}" for v in found if not v.nudge)


def archive_changes(config, s: Session, group_ids: set[int] | None, proposal: Proposal, at: datetime,
                    limit: int = ARCHIVE_SAMPLE) -> tuple[int, list[tuple[ArchivedMessage, str, str]]]:
    """The last `limit` archived group messages whose verdict the proposal would change: (checked, changes)."""
    query = select(ArchivedMessage).where(ArchivedMessage.direct.is_(False), ArchivedMessage.from_bot.is_(False),
                                          ArchivedMessage.group_id.is_not(None), ArchivedMessage.text != "")
    if group_ids is not None:
        query = query.where(ArchivedMessage.group_id.in_(group_ids or {-1}))
    rows = list(s.scalars(query.order_by(ArchivedMessage.id.desc()).limit(limit)))
    templates = {g.id: g.template for g in s.scalars(select(Group))}
    pairs: dict[str, tuple[Moderator, Moderator]] = {}
    changes = []
    for n, row in enumerate(rows):
        template = templates.get(row.group_id)
        if template is None:
            continue
        if template not in pairs:
            before, after = moderators(config, s, template, proposal)
            pairs[template] = (before, after)
        before, after = pairs[template]
        was, would = summary(verdicts(before, row.text, at, n)), summary(verdicts(after, row.text, at, n))
        if was != would:
            changes.append((row, was, would))
    return len(rows), changes


def save(s: Session, proposal: Proposal, by: str, at: datetime) -> None:
    lexicon.edit(s, category=proposal.category, term=proposal.term, op=proposal.op, by=by, at=at,
                 clause=CLAUSES.get(proposal.category, "R7.1.2"))


__all__ = ["LEXICON_CATEGORIES", "Proposal", "archive_changes", "moderators", "save", "summary", "verdicts"]
