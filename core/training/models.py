"""Tables of the training feature. On Base.metadata once the feature is imported (steward/features.py lists them).

Announcements (R3.1.1, R3.1.2) and their change notices (R3.2.1), acknowledgements, tracked questions
(R4.3.1, R4.3.2), shared materials waiting for approval (R3.1.3) and feedback (R2.3.3).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class Announcement(Base):
    """A notice or a session, posted to every group of its training; a change notice points to its original."""
    __tablename__ = "training_announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)   # where it was written
    training_id: Mapped[int | None] = mapped_column(ForeignKey("trainings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))          # notice | session | change
    topic: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(500))
    points: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    publish_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))        # scheduled | published
    original_id: Mapped[int | None] = mapped_column(ForeignKey("training_announcements.id"), index=True)
    change_field: Mapped[str | None] = mapped_column(String(16))   # time | content
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class Acknowledgement(Base):
    __tablename__ = "training_acks"
    __table_args__ = (UniqueConstraint("announcement_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("training_announcements.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]


class Question(Base):
    __tablename__ = "training_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    asker_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    message_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))        # ask | mention | question
    status: Mapped[str] = mapped_column(String(16))        # open | answered
    cluster_id: Mapped[int | None] = mapped_column(Integer)   # the first question of a group of similar ones
    deadline_at: Mapped[datetime]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Material(Base):
    __tablename__ = "training_materials"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    sharer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    url: Mapped[str] = mapped_column(String(2000))         # the link; for a file, its name
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))        # pending | approved | rejected
    file_id: Mapped[int | None] = mapped_column(ForeignKey("received_files.id"))   # a shared file
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Feedback(Base):
    """Anonymous feedback stores no person and only the day it was given, so nobody can learn who."""
    __tablename__ = "training_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean)
    # the session (or notice) it is about; None: about the group (R2.3.3)
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("training_announcements.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)           # an admin's note for the lead (R7.3.1)
    noted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
