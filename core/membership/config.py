"""steward.yaml `membership:` — new-hire groups (R2.1.2), onboarding rules for directory events,
acknowledgement reminders (R3.3), HR file limits, and what reconciliation does with people nobody admitted."""
from __future__ import annotations

import re
from typing import Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core import platforms

_GROUP_REF = re.compile(r"^([a-z][a-z0-9_]{1,31}):[^\s]{1,128}$")


def _folded(values: Iterable[str | None]) -> set[str]:
    return {v.strip().casefold() for v in values if v and v.strip()}


class OnboardingRule(BaseModel):
    """A new member of the directory whose department or position matches joins the training's new-hire
    group(s) on their platform (R2.1.2). Departments match by name or by the platform's department id."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    departments: tuple[str, ...] = ()
    positions: tuple[str, ...] = ()
    training: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    @field_validator("departments", "positions")
    @classmethod
    def _no_empty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in v):
            raise ValueError("empty entry")
        return v

    @model_validator(mode="after")
    def _something(self) -> "OnboardingRule":
        if not self.departments and not self.positions:
            raise ValueError("a rule needs departments, positions or both (otherwise it would take everyone)")
        return self

    def matches(self, departments: Iterable[str | None], position: str | None) -> bool:
        """Every list the rule has must match: one of its departments and one of its positions."""
        if self.departments and not _folded(self.departments) & _folded(departments):
            return False
        return not self.positions or bool(_folded(self.positions) & _folded([position]))


class MembershipSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # platform:chat_id of the groups HR's new hires go to; empty: every governed new-hire group.
    new_hire_groups: tuple[str, ...] = ()
    # Directory events (WeCom create_user, DingTalk user_add_org): rules in order, every match applies.
    onboarding_rules: tuple[OnboardingRule, ...] = ()
    # Someone in a governed group whom nobody recommended, admitted on an application, onboarded from HR
    # or seeded in steward.yaml (R2.1.1, R2.1.3) — found when they join, at discovery or by reconcile:
    # hold (record them as held; the admins and the lead get a card to admit or remove; the newcomer is
    # told privately how to apply), remove (through the outbox), or allow (recorded as allowed).
    unadmitted: Literal["hold", "remove", "allow"] = "hold"
    # The worker reconciles every group whose platform can list members this often (0: only by hand).
    reconcile_every_hours: int = Field(24, ge=0, le=24 * 31)
    ack_reminder_hours: int = Field(48, ge=1, le=24 * 60)
    import_max_rows: int = Field(5000, ge=1, le=100_000)
    import_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)

    @field_validator("new_hire_groups")
    @classmethod
    def _groups(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for ref in v:
            m = _GROUP_REF.match(ref)
            if not m or not platforms.is_known(m.group(1)):
                raise ValueError(f"{ref!r} is not a group: write platform:chat_id "
                                 f"(platform one of {', '.join(platforms.ids())})")
        return v
