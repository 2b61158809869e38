"""Tables of the assessment feature (R5, R6). On Base.metadata once the feature is imported (steward/features.py lists them).

Moodle's semantics are the bar: an assignment has a due date and an optional cut-off date, per-member
extensions, numbered attempts that a reviewer can reopen; a gradebook computes a weighted total from
components whose weights sum to 100 (R6.2.1).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class AssessmentScheme(Base):
    """One training's assessment scheme (R6.1.1, R6.2.1); locked once published (R6.2.2)."""
    __tablename__ = "assessment_schemes"
    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), unique=True)
    # [{"key": "exam", "kind": "exam|assignment|practical", "weight": 30, "standard": "..."}]
    components: Mapped[list[Any]] = mapped_column(JSON)
    pass_mark: Mapped[float] = mapped_column(Float)
    honours_top: Mapped[int] = mapped_column(Integer, default=0)
    honours_threshold: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="draft")   # draft | published
    version: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))


class Assignment(Base):
    """R5.1.1: requirements, deadline and submission method; R5.2.1: to the lead or named reviewers."""
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    requirements: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime]
    cutoff_at: Mapped[datetime | None]
    review_due_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(16))             # text | link | file
    file_types: Mapped[str] = mapped_column(String(200), default="")   # "pdf,docx"
    max_size_mb: Mapped[int | None] = mapped_column(Integer)
    reviewers: Mapped[dict[str, Any]] = mapped_column(default=dict)    # {"person_ids": [..]}
    rubric: Mapped[dict[str, Any]] = mapped_column(default=dict)       # {"criteria": [{name, points, required}]}
    component: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]


class Extension(Base):
    """A per-member due date granted by the lead (or by a reviewer's reopen)."""
    __tablename__ = "assignment_extensions"
    __table_args__ = (UniqueConstraint("assignment_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    due_at: Mapped[datetime]
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime]


class Submission(Base):
    """One attempt of one member; the latest attempt is the one reviewed (R5.2.1, R5.3.1)."""
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment_id", "person_id", "attempt"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))                # text | link | file | image
    content: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(128))
    checksum: Mapped[str] = mapped_column(String(64))            # sha256 of what was received
    submitted_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # submitted | graded | reopened (a reviewer asked for a new attempt) | superseded
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    score: Mapped[float | None] = mapped_column(Float)
    criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feedback: Mapped[str | None] = mapped_column(Text)
    graded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    graded_at: Mapped[datetime | None]


class Quiz(Base):
    """A multiple-choice / true-false exam answered in the chat (R6.1.1), graded automatically."""
    __tablename__ = "quizzes"
    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    component: Mapped[str | None] = mapped_column(String(64))
    # [{"text": "...", "options": ["A", "B"], "answer": 1, "points": 1}]
    questions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]


class QuizAnswer(Base):
    """One answer per member per question: the unique constraint refuses a second one."""
    __tablename__ = "quiz_answers"
    __table_args__ = (UniqueConstraint("quiz_id", "question", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"), index=True)
    question: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    option: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime]


class ComponentScore(Base):
    """A score entered by a reviewer for a component (practical work, R6.1.1) or a make-up attempt."""
    __tablename__ = "component_scores"
    __table_args__ = (UniqueConstraint("training_id", "person_id", "component"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    component: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)                  # 0..100
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    entered_at: Mapped[datetime]


class Remediation(Base):
    """R6.3.2: below the pass mark, a make-up exam or a tutoring plan, with a deadline and an attempt
    limit (Moodle's "reopen until pass")."""
    __tablename__ = "remediations"
    __table_args__ = (UniqueConstraint("training_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))                # makeup | tutoring
    due_at: Mapped[datetime]
    max_attempts: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    best_score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")   # open | passed | failed
    created_at: Mapped[datetime]


class HonoursConsent(Base):
    """Whether a member agrees to be named publicly when honoured (R6.3.2); absent means no."""
    __tablename__ = "honours_consents"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    consent: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]
