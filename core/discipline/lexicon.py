"""Admins' lexicon edits in the chat (`lexicon add|remove|list`), audited and shared by every process."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.discipline.models import LexiconEdit
from core.kernel import audit


def current_edits(s: Session) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(added, removed) terms per category; the newest edit of each term wins."""
    latest: dict[tuple[str, str], str] = {}
    for edit in s.scalars(select(LexiconEdit).order_by(LexiconEdit.id)):
        latest[(edit.category, edit.term)] = edit.op
    added: dict[str, list[str]] = {}
    removed: dict[str, list[str]] = {}
    for (category, term), op in latest.items():
        (added if op == "add" else removed).setdefault(category, []).append(term)
    return added, removed


def version(s: Session) -> int:
    """Changes whenever an admin edits the lexicon (the newest edit's id)."""
    return s.scalar(select(func.max(LexiconEdit.id))) or 0


def edit(s: Session, *, category: str, term: str, op: str, by: str, at: datetime, clause: str) -> None:
    s.add(LexiconEdit(category=category, term=term, op=op, by=by, at=at))
    audit.record(s, at=at, actor=by, action=f"lexicon.{op}", clause=clause, category=category, term=term)
