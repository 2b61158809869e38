"""The domain's tables (SQLAlchemy 2 typed models). Every schema change comes with a migration."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


# --- people and their accounts -------------------------------------------------------------

class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    employee_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    mobile: Mapped[str | None] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    hire_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")   # active | departed
    created_at: Mapped[datetime]
    accounts: Mapped[list["Account"]] = relationship(back_populates="person")


class Account(Base):
    """One person's identity on one platform."""
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    person: Mapped[Person] = relationship(back_populates="accounts")


# --- trainings and their groups ---------------------------------------------------------

class Training(Base):
    """One training; its groups may sit on several messengers."""
    __tablename__ = "trainings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))            # R1.2: new-hire, skills, management, ...
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    training_id: Mapped[int | None] = mapped_column(ForeignKey("trainings.id"), index=True)
    owned: Mapped[bool] = mapped_column(Boolean, default=False)  # created by Steward (WeCom/DingTalk)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # R1.3.4: since when the group has no responsible person (its lead or last admin left); None: it has one
    unattended_since: Mapped[datetime | None]


class Role(Base):
    """admin | lead | instructor | reviewer | hr | member; `group_id` None means organisation-wide."""
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("person_id", "role", "group_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="config")   # config | command | cli
    created_at: Mapped[datetime]


class Membership(Base):
    """One stay of one person in one group; leaving closes the row, re-joining opens a new one."""
    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_open", "group_id", "person_id", "left_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    joined_at: Mapped[datetime]
    join_reason: Mapped[str | None] = mapped_column(String(200))
    left_at: Mapped[datetime | None]
    leave_reason: Mapped[str | None] = mapped_column(String(200))
    leave_clause: Mapped[str | None] = mapped_column(String(16))
    # How the stay was admitted (R2.1): recommendation | application | onboarding | config | staff | decided
    # (an admin admitted a held person) | allowed (membership.unadmitted: allow) | held (waiting for the
    # admins); None: recorded before admission was tracked, or not yet sorted.
    admission: Mapped[str | None] = mapped_column(String(32))


class IdentityConflict(Base):
    """An account whose directory entry matches two or more people, or contradicts an explicit link:
    reported to the admins and listed by `steward identity conflicts`, never merged."""
    __tablename__ = "identity_conflicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))          # the account's person then
    key: Mapped[str] = mapped_column(String(16))                             # employee_id | email | mobile
    value: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(32))                          # ambiguous | linked_elsewhere | ...
    candidates: Mapped[dict[str, Any]] = mapped_column(default=dict)         # {"people": [ids]}
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


# --- discipline ----------------------------------------------------------------------------

class Case(Base):
    """One violation and the decision taken on it (R8.2.1 warning, R8.2.2 removal)."""
    __tablename__ = "cases"
    # one detector case per message (its edits never count again), held by the database: two edits processed
    # at the same moment in two transactions cannot both insert one (core/discipline/moderation.py)
    __table_args__ = (Index("uq_cases_group_message_detected", "group_id", "message_id", unique=True,
                            postgresql_where=text("detector IS NOT NULL"),
                            sqlite_where=text("detector IS NOT NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    clause: Mapped[str] = mapped_column(String(16))          # the rule broken, e.g. R8.1.2
    rule: Mapped[str] = mapped_column(String(200))           # what exactly: "ads: 加我微信"
    category: Mapped[str] = mapped_column(String(32))        # manual | ads | insult | ...
    severe: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[str] = mapped_column(Text, default="")  # redacted
    message_id: Mapped[str | None] = mapped_column(String(128))
    detector: Mapped[str | None] = mapped_column(String(64))  # None for a human report
    decided_by: Mapped[str] = mapped_column(String(200))     # "person:12" or "detector:ads"
    # warning | removal | removal_pending | removal_rejected | exempt | removal_manual
    outcome: Mapped[str] = mapped_column(String(24))
    outcome_clause: Mapped[str] = mapped_column(String(16))  # R8.2.1 / R8.2.2 / R2.4.2 ...
    status: Mapped[str] = mapped_column(String(16), default="open")   # open | revoked | appeal_rejected (the case stands)
    created_at: Mapped[datetime] = mapped_column(index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200))   # who approved/rejected a pending removal
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    appeal_text: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None]


class ReviewItem(Base):
    """One thing held or flagged for the group's admins (R7.2.2): a message members reported (R2.3.3), a
    detector's hit below the confidence that acts alone, a held link or share. One item per message."""
    __tablename__ = "review_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(300), unique=True)   # msg:platform:chat:id | held:N
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))            # report | detector | held
    status: Mapped[str] = mapped_column(String(16), index=True)   # open | warned | dismissed | released
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str | None] = mapped_column(String(128))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)    # whose message
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    text: Mapped[str] = mapped_column(Text, default="")      # the member's text, exactly as typed
    category: Mapped[str | None] = mapped_column(String(32))  # a detector's category, when one matched
    clause: Mapped[str] = mapped_column(String(16), default="")   # the clause a warning would cite
    rule: Mapped[str] = mapped_column(String(200), default="")
    detector: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    severe: Mapped[bool] = mapped_column(Boolean, default=False)
    ref: Mapped[str | None] = mapped_column(String(64))      # the held material's number
    reporters: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(index=True)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(32))


class ReviewReport(Base):
    """Who reported an item: never shown to the reported member, nor named on the admins' card."""
    __tablename__ = "review_reports"
    __table_args__ = (UniqueConstraint("item_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_seq", "seq", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))          # person:12 | detector:ads | system | cli
    action: Mapped[str] = mapped_column(String(64))          # case.warning, command.refused, ...
    clause: Mapped[str | None] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    case_number: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the hash chain (core/kernel/audit.py, docs/audit-log.md): 1, 2, 3, … and SHA-256 hex digests
    seq: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


# --- messages: the archive and de-duplication ----------------------------------------------------

class ArchivedMessage(Base):
    """Everything Steward sees (R3.2.2, R4.1.1). Every read by time names the group (a search, an export,
    retention), so one index on (group_id, sent_at) serves them and the group's foreign key: each index is
    written for every message.

    `job`: work for the worker on this message, written with it (core/kernel/message_jobs.py) rather than as
    a scheduled job (a table and two indexes more per message); the partial index holds only the messages
    whose job is still to run."""
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id"),
                      Index("ix_messages_group_sent", "group_id", "sent_at"),
                      Index("ix_messages_job", "id", postgresql_where=text("job IS NOT NULL"),
                            sqlite_where=text("job IS NOT NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(128))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    thread_id: Mapped[str | None] = mapped_column(String(128))
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    from_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime]
    job: Mapped[str | None] = mapped_column(Text)    # JSON {"kind", "payload"} until the worker has run it


class InboundEvent(Base):
    """A platform delivery seen once: its key makes retries harmless. The key is the primary key and, on
    SQLite, the table itself (no rowid): one b-tree written per delivery rather than a table and an index."""
    __tablename__ = "inbound_events"
    __table_args__ = {"sqlite_with_rowid": False}
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]


class DeadEvent(Base):
    """An inbound event that failed on its own (a poison message): set aside with its error so every other
    event flows; `steward events dead` lists them, `steward events replay` tries them again."""
    __tablename__ = "dead_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str | None] = mapped_column(String(200))
    event: Mapped[dict[str, Any]]                       # the event as received (core.events.event_to_dict)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    set_aside_at: Mapped[datetime]


# --- outbox and scheduled work ---------------------------------------------------------------

class OutboxItem(Base):
    """An action waiting for delivery, written in the same transaction as its decision."""
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    action: Mapped[dict[str, Any]]
    group_id: Mapped[int | None] = mapped_column(Integer)
    case_number: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | dead | fallback
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ScheduledJob(Base):
    """Work due later (reminders, deadlines, digests): stored, never only in memory."""
    __tablename__ = "scheduled_jobs"
    __table_args__ = (Index("ix_scheduled_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class CachedToken(Base):
    """Platform access tokens shared by every web process and worker (WeCom, DingTalk)."""
    __tablename__ = "cached_tokens"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]


class SeenSignature(Base):
    """Signed inbound requests already accepted, while their signature could still be replayed (one row per
    signature, shared by every web process: steward/replay.py). `fingerprint` is the body's digest: the very
    same request may come again (a retry, de-duplicated anyway); the same signature with another body may not."""
    __tablename__ = "seen_signatures"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
