"""steward.yaml `templates.<kind>.training`: how a training runs in its groups (chapters 3, 4 and 7)."""
from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class TrainingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # R4.3.1: an unanswered question reminds the instructor after this many working hours, then the lead
    # after `lead_after_hours` more.
    question_deadline_hours: float = Field(4, gt=0, le=200)
    lead_after_hours: float = Field(4, gt=0, le=200)
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)      # Monday is 0
    working_hours: tuple[str, str] = ("09:00", "18:00")  # in the group's time zone
    # The working calendar's exceptions: public holidays off, and working days moved onto a weekend (调休).
    holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()
    # R4.3.2: questions at least this similar (character bigram/trigram Jaccard) are grouped.
    similar_questions: float = Field(0.5, gt=0, le=1)
    # R3.2.1: members who have not acknowledged a change are reminded this long before the session.
    change_reminder_hours: float = Field(24, ge=0, le=24 * 30)
    # R7.3.1: the weekly feedback digest goes to the lead on this weekday at this time.
    digest_weekday: int = Field(4, ge=0, le=6)
    digest_time: str = "17:00"
    # R3.1.3, R7.2.2: a member's link posted in the group is taken down and queued for the lead's approval
    # (only where Steward sees every message and may delete it: Slack with the admin token).
    hold_links: bool = False
    # R3.2.2: messages older than this are deleted weekly (with the group's digest) and by
    # `steward archive prune`; None keeps everything.
    archive_retention_days: int | None = Field(None, ge=30, le=36500)

    @field_validator("working_days")
    @classmethod
    def _days(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(d < 0 or d > 6 for d in v) or len(set(v)) != len(v):
            raise ValueError("working_days: distinct weekday numbers 0 (Monday) to 6 (Sunday), at least one")
        return tuple(sorted(v))

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, v: tuple[str, str]) -> tuple[str, str]:
        if not all(_HHMM.match(h) for h in v):
            raise ValueError("working_hours: two times written HH:MM, e.g. [\"09:00\", \"18:00\"]")
        return v

    @field_validator("digest_time")
    @classmethod
    def _digest(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("digest_time: a time written HH:MM")
        return v

    @model_validator(mode="after")
    def _order(self) -> "TrainingSettings":
        if self.working_hours[0] >= self.working_hours[1]:
            raise ValueError("working_hours: the day must start before it ends")
        both = sorted(set(self.holidays) & set(self.extra_workdays))
        if both:
            raise ValueError(f"holidays and extra_workdays both name {both[0].isoformat()}")
        return self
