"""Lexicon edits made by admins in the chat (`lexicon add|remove`), on top of steward.yaml's lexicon."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class LexiconEdit(Base):
    """One admin's change to a category, organisation-wide; the newest edit of a term wins."""
    __tablename__ = "lexicon_edits"
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    term: Mapped[str] = mapped_column(String(200))
    op: Mapped[str] = mapped_column(String(8))          # add | remove
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
