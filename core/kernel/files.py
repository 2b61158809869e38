"""Files members send Steward (R5.2.1 submissions, R3.1.3 shared materials): the kernel's port to them.
The files feature (core/files/) fetches and stores them; assessment and training use what was stored
through this module, so they need not know the feature.

One row per file message: the platform's handle to download it, what the platform claimed (name, size,
type), then what Steward found (size, SHA-256) and where it stands. The bytes live in the file store,
addressed by their SHA-256.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

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


RECENT = timedelta(hours=24)            # `submit N` and `share` take a file sent within the last day
MIB = 1024 * 1024


def human_size(n: int) -> str:
    if n >= MIB:
        return f"{n / MIB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


# --- what `submit N` and `share` use ------------------------------------------------------------------

def latest(s: Session, platform: str, user_id: str, now: datetime) -> ReceivedFile | None:
    """The member's latest file sent to Steward within the last day, whatever became of it."""
    return s.scalars(select(ReceivedFile).where(
        ReceivedFile.platform == platform, ReceivedFile.user_id == user_id,
        ReceivedFile.received_at >= now - RECENT).order_by(ReceivedFile.id.desc()).limit(1)).first()


def not_usable(f: ReceivedFile) -> tuple[str, dict[str, object]] | None:
    """Why the file cannot be handed in (a message key and its values), or None when it is stored."""
    if f.status == "stored":
        return None
    if f.status == "pending":
        return "files.pending", {"name": f.name}
    return f"files.not_{f.status}", {"name": f.name, "reason": (f.error or "-")[:200]}
