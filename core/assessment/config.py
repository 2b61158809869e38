"""steward.yaml `assessment:` — defaults of assignments, reviews, quizzes and grades (R5, R6)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Assessment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reminder_hours: tuple[int, ...] = (24, 2)        # before the due date, privately, to those missing (R5.2.1)
    review_days: int = Field(7, ge=1, le=90)         # review deadline after the due date (R5.3.1)
    review_reminder_hours: int = Field(24, ge=1, le=720)
    reopen_days: int = Field(3, ge=1, le=60)         # time given for a new attempt a reviewer asked for
    min_text_chars: int = Field(10, ge=1, le=10_000)
    max_text_chars: int = Field(20_000, ge=100, le=200_000)
    max_file_mb: int = Field(20, ge=1, le=2048)       # files sent to Steward; the platform's limit may be lower
    pass_mark: float = Field(60, ge=0, le=100)       # used until a scheme sets its own
    makeup_days: int = Field(14, ge=1, le=180)
    makeup_attempts: int = Field(2, ge=1, le=10)

    @field_validator("reminder_hours")
    @classmethod
    def _hours(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(h < 1 or h > 24 * 30 for h in v):
            raise ValueError("reminder_hours must be between 1 and 720")
        return tuple(sorted(set(v), reverse=True))
