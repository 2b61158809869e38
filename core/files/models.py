"""Files members send Steward (R5.2.1 submissions, R3.1.3 shared materials). Imported at the end of
core/db/models.py, so Base.metadata knows it.

One row per file message: the platform's handle to download it, what the platform claimed (name, size,
type), then what Steward found (size, SHA-256) and where it stands. The bytes live in the file store,
addressed by their SHA-256.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class ReceivedFile(Base):
    __tablename__ = "received_files"
    __table_args__ = (UniqueConstraint("platform", "message_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    handle: Mapped[str] = mapped_column(String(2000))          # Slack file id, WeCom MediaId, DingTalk downloadCode
    name: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)        # claimed until stored, then what arrived
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))             # pending | stored | too_large | failed
    error: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(Text)            # a command sent with the file, run once stored
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]
