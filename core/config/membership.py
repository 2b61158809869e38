"""steward.yaml `membership:` — new-hire groups (R2.1.2), acknowledgement reminders (R3.3), HR file limits."""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_GROUP_REF = re.compile(r"^(slack|wecom|dingtalk|sandbox):[^\s]{1,128}$")


class MembershipSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # platform:chat_id of the groups HR's new hires go to; empty: every governed new-hire group.
    new_hire_groups: tuple[str, ...] = ()
    ack_reminder_hours: int = Field(48, ge=1, le=24 * 60)
    import_max_rows: int = Field(5000, ge=1, le=100_000)
    import_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)

    @field_validator("new_hire_groups")
    @classmethod
    def _groups(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for ref in v:
            if not _GROUP_REF.match(ref):
                raise ValueError(f"{ref!r} is not a group: write platform:chat_id")
        return v
