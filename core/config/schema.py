"""The validated shape of steward.yaml. Unknown keys are errors, so a typo never goes unnoticed."""
from __future__ import annotations

import re
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core import platforms, roles
from core.assessment.config import Assessment
from core.membership.config import MembershipSettings
from core.training.config import TrainingSettings

LOCALES = ("zh-Hans", "zh-Hant", "en")
ROLES = (*roles.ROLES, "member")
# R1.2: new-hire, professional-skill, management and other training groups.
BUILTIN_KINDS = ("new-hire", "skills", "management", "other")
_CHAT_ID = re.compile(r"^[^\s]{1,128}$")

Locale = Literal["zh-Hans", "zh-Hant", "en"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)")
    return value


def _known() -> str:
    return ", ".join(platforms.ids()) or "none registered"


def _check_platform(value: str) -> str:
    if not platforms.is_known(value):
        raise ValueError(f"unknown platform {value!r} (known: {_known()})")
    return value


def _check_account(value: str) -> str:
    if platforms.split_account(value) is None:
        raise ValueError(f"{value!r} is not an account: write platform:user_id, platform one of {_known()}")
    return value


class Discipline(Strict):
    """The escalation ladder of R8.2.1 / R8.2.2 / R2.4.2."""
    warnings_before_removal: int = Field(1, ge=0, le=20)
    removal: Literal["auto", "confirm"] = "auto"
    warning_expiry_days: int = Field(180, ge=1, le=3650)
    severe_removes: bool = True
    exempt_roles: tuple[Literal[roles.ROLES], ...] = (roles.ADMIN, roles.LEAD, roles.INSTRUCTOR)  # type: ignore[valid-type]


class Moderation(Strict):
    """Content detectors (R1.3.3, R8.1.1-R8.1.4; nudges R4.2.1, R4.2.2). See core/moderation."""
    enabled: bool = True
    allow_terms: tuple[str, ...] = ()          # words this kind of group may use (a sales course: 促销)
    flag_external_links: bool = False          # every link outside the company's domains is an ad
    flood_max_messages: int = Field(8, ge=1, le=1000)
    flood_window_seconds: int = Field(30, ge=1, le=86400)
    repeat_max: int = Field(3, ge=1, le=1000)
    mention_storm: int = Field(8, ge=1, le=1000)
    severe_categories: tuple[str, ...] = ("illegal",)
    severity_overrides: dict[str, Literal["normal", "severe"]] = {}
    offtopic_nudges: bool = False
    long_message_chars: int | None = Field(None, ge=20, le=100_000)
    # R7.2.2: a detector's hit acts alone (a case, the ladder) at this confidence (Verdict.score) or above;
    # below it, the hit waits in the admins' review queue. 0 (the default): every hit acts, as before.
    act_at: float = Field(0.0, ge=0.0, le=1.0)
    act_at_by_category: dict[str, float] = {}     # e.g. {insult: 0.95, dlp: 0.5}; else act_at

    @model_validator(mode="after")
    def _check(self) -> "Moderation":
        from core.moderation.settings import ModerationSettings
        from core.moderation.verdict import LADDER_CATEGORIES
        for category, value in self.act_at_by_category.items():
            if category not in LADDER_CATEGORIES:
                raise ValueError(f"act_at_by_category: unknown category {category!r} "
                                 f"(one of {', '.join(LADDER_CATEGORIES)})")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"act_at_by_category.{category}: {value} is not between 0 and 1")
        ModerationSettings(allow_terms=self.allow_terms, severe_categories=self.severe_categories,
                           severity_overrides=dict(self.severity_overrides))   # raises ValueError
        return self


def acts_alone(m: Moderation, category: str, score: float) -> bool:
    """Does a detector's hit of `category` with confidence `score` act without an admin (R7.2.2)?"""
    return score >= m.act_at_by_category.get(category, m.act_at)


class Template(Strict):
    discipline: Discipline = Discipline()
    moderation: Moderation = Moderation()
    training: TrainingSettings = TrainingSettings()
    locale: Locale | None = None


class AuditSettings(Strict):
    """The audit log's hash chain (docs/audit-log.md): how often its head is posted to the admins (0: never)."""
    anchor_every_hours: int = Field(24, ge=0, le=24 * 31)


class Company(Strict):
    email_domains: tuple[str, ...] = ()        # e-mail and link domains that are the company's own
    link_domains: tuple[str, ...] = ()         # further link domains that are fine (learning sites)
    code_names: tuple[str, ...] = ()           # confidential project code names (R3.3.1)

    @field_validator("email_domains", "link_domains", "code_names")
    @classmethod
    def _no_empty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in v):
            raise ValueError("empty entry")
        return v


class GroupConfig(Strict):
    platform: str                     # a registered platform id (core/platforms.py)
    chat_id: str
    name: str = Field(min_length=1, max_length=200)
    kind: str
    template: str | None = None       # defaults to the kind's template
    training: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    locale: Locale | None = None
    timezone: str | None = None
    lead: str
    admins: tuple[str, ...] = Field(min_length=1)
    instructors: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    members: tuple[str, ...] = ()     # known members (the sandbox seeds these)
    # Platforms with chat aliases only (WeCom's AI bot, 智能机器人): the chatid the bot reports for this
    # group, when it differs from chat_id (the appchat id Steward created); its @-mentions are then read
    # as this group's.
    aibot_chat_id: str | None = Field(None, pattern=r"^[0-9A-Za-z_\-@.]{1,128}$")

    _tz = field_validator("timezone")(_check_timezone)
    _platform = field_validator("platform")(_check_platform)

    @field_validator("chat_id")
    @classmethod
    def _chat(cls, v: str) -> str:
        if not _CHAT_ID.match(v):
            raise ValueError("chat_id must be 1-128 characters without spaces")
        return v

    @field_validator("lead")
    @classmethod
    def _lead(cls, v: str) -> str:
        return _check_account(v)

    @field_validator("admins", "instructors", "reviewers", "members")
    @classmethod
    def _accounts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            _check_account(item)
        return v

    @model_validator(mode="after")
    def _same_platform(self) -> "GroupConfig":
        for ref in (self.lead, *self.admins, *self.instructors, *self.reviewers, *self.members):
            if ref.split(":", 1)[0] != self.platform:
                raise ValueError(f"{ref} is on another platform than the group ({self.platform})")
        if self.aibot_chat_id is not None and not platforms.capabilities(self.platform).chat_aliases:
            raise ValueError(f"aibot_chat_id: {self.platform} groups have no second chat id "
                             "(it is the chatid of WeCom's AI bot)")
        return self


class StewardConfig(Strict):
    locale: Locale = "zh-Hans"
    timezone: str = "Asia/Shanghai"
    # Names that address Steward when typed as `@name` or `＠name` (besides the platform's own mention).
    bot_names: tuple[str, ...] = ("steward", "管家")
    templates: dict[str, Template] = {}
    groups: tuple[GroupConfig, ...] = ()
    roles: dict[Literal["admin", "hr"], tuple[str, ...]] = {}   # organisation-wide roles
    company: Company = Company()
    lexicon: dict[str, tuple[str, ...]] = {}
    assessment: Assessment = Assessment()   # R5, R6: core/assessment/config.py
    membership: MembershipSettings = MembershipSettings()
    audit: AuditSettings = AuditSettings()

    _tz = field_validator("timezone")(_check_timezone)

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for refs in v.values():
            for ref in refs:
                _check_account(ref)
        return v

    @field_validator("lexicon")
    @classmethod
    def _lexicon(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        from core.moderation.settings import LEXICON_CATEGORIES
        for category, terms in v.items():
            if category not in LEXICON_CATEGORIES:
                raise ValueError(f"unknown lexicon category {category!r} (known: {', '.join(LEXICON_CATEGORIES)})")
            for term in terms:
                if not term.strip():
                    raise ValueError(f"lexicon {category}: empty term")
        return v

    @model_validator(mode="after")
    def _groups(self) -> "StewardConfig":
        kinds = self.all_templates()
        seen: set[tuple[str, str]] = set()
        aliases: set[str] = set()
        for group in self.groups:
            if group.kind not in kinds:
                raise ValueError(f"group {group.name!r}: unknown group kind {group.kind!r} "
                                 f"(known: {', '.join(sorted(kinds))})")
            if group.template is not None and group.template not in kinds:
                raise ValueError(f"group {group.name!r}: unknown template {group.template!r}")
            key = (group.platform, group.chat_id)
            if key in seen:
                raise ValueError(f"group {group.platform}:{group.chat_id} is listed twice")
            seen.add(key)
            if group.aibot_chat_id is not None:
                if group.aibot_chat_id in aliases or (group.aibot_chat_id != group.chat_id and
                                                      (group.platform, group.aibot_chat_id) in self._chat_keys):
                    raise ValueError(f"group {group.name!r}: aibot_chat_id {group.aibot_chat_id} names "
                                     "another group too")
                aliases.add(group.aibot_chat_id)
        return self

    @cached_property
    def _chat_keys(self) -> set[tuple[str, str]]:
        return {(g.platform, g.chat_id) for g in self.groups}

    def chat_aliases(self, platform: str) -> dict[str, str]:
        """Another chat id a platform reports for a governed group -> the group's chat_id (WeCom's AI bot)."""
        return {g.aibot_chat_id: g.chat_id for g in self.groups
                if g.platform == platform and g.aibot_chat_id and g.aibot_chat_id != g.chat_id}

    def all_templates(self) -> dict[str, Template]:
        """The built-in kinds of R1.2, overridden and extended by `templates:` (built once: hot path)."""
        return self._merged_templates

    @cached_property
    def _merged_templates(self) -> dict[str, Template]:
        merged = {kind: Template() for kind in BUILTIN_KINDS}
        merged.update(self.templates)
        return merged

    def template_for(self, group: GroupConfig) -> Template:
        return self.all_templates()[group.template or group.kind]

    def platforms_in_use(self) -> set[str]:
        return {g.platform for g in self.groups}
