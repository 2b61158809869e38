"""Tables of the membership feature. On Base.metadata once the feature is imported (steward/features.py lists them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class MembershipRequest(Base):
    """A question about one person and one group, waiting for the lead.

    kind `application` (R2.1.3): status collecting -> pending -> approved | rejected;
    kind `move` (R2.4.1, a department or position change): pending -> kept | removed.
    """
    __tablename__ = "membership_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    asked: Mapped[str | None] = mapped_column(String(16))       # the field the applicant was asked for
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Acknowledgement(Base):
    """A member's acknowledgement of a group's rules and confidentiality terms (R3.3.1, R3.3.2)."""
    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("person_id", "group_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    sent_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
