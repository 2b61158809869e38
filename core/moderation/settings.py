"""Per-template moderation settings, built by the caller from steward.yaml (and admins' edits).

Everything here is plain data: the `Moderator` compiles it once, in its constructor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

from core.moderation.verdict import CATEGORIES, SEVERITIES

# Lexicon categories an admin may extend or trim (`lexicon add|remove CATEGORY TERM`).
# insult/discrimination/ads/illegal report verdicts of their own; the others feed detectors:
# offtopic (nudges), markers (confidentiality markers, DLP), solicit (what makes a phone number,
# an e-mail or a link an offer: "私聊", "优惠", "dm me").
LEXICON_CATEGORIES = ("insult", "discrimination", "ads", "illegal", "offtopic", "markers",
                      "solicit")


def _terms(value: Mapping[str, Sequence[str]], name: str) -> Mapping[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for category, terms in dict(value).items():
        if category not in LEXICON_CATEGORIES:
            raise ValueError(f"{name}: unknown lexicon category {category!r} "
                             f"(known: {', '.join(LEXICON_CATEGORIES)})")
        if isinstance(terms, str):
            raise ValueError(f"{name}.{category}: give a list of terms, not one string")
        cleaned = tuple(t.strip() for t in terms)
        if any(not t for t in cleaned):
            raise ValueError(f"{name}.{category}: empty term")
        out[category] = cleaned
    return MappingProxyType(out)


def _strings(value: Sequence[str], name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValueError(f"{name}: give a list, not one string")
    cleaned = tuple(v.strip() for v in value)
    if any(not v for v in cleaned):
        raise ValueError(f"{name}: empty entry")
    return cleaned


@dataclass(frozen=True)
class ModerationSettings:
    extra_terms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    removed_terms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    allow_terms: Sequence[str] = ()            # per-group allow-list (a sales group may say 促销)
    company_domains: Sequence[str] = ()        # e-mail and link domains that are fine
    allowed_link_domains: Sequence[str] = ()   # further link domains that are fine (learning sites)
    flag_external_links: bool = False          # every link outside the domains above is an ad
    code_names: Sequence[str] = ()             # confidential project code names (R3.3.1)
    # R8.1.3: more than flood_max_messages in flood_window_seconds; the same (normalised) message
    # more than repeat_max times in repeat_window_seconds; mention_storm or more @-mentions.
    flood_max_messages: int = 8
    flood_window_seconds: int = 30
    repeat_max: int = 3
    repeat_window_seconds: int = 300
    repeat_min_chars: int = 4                  # "好的" / "ok" repeated is not junk
    mention_storm: int = 8
    # Severity: categories whose every verdict is severe, and overrides keyed by category
    # ("ads"), or category and detector ("ads.contact", "insult.lexicon", "dlp.phone" where the
    # detector already names its category); the most specific key wins.
    severe_categories: Sequence[str] = ("illegal",)
    severity_overrides: Mapping[str, str] = field(default_factory=dict)
    # Nudges (R4.2.1, R4.2.2, R2.2.3): off by default, at most one per member per interval.
    offtopic_nudges: bool = False
    long_message_chars: int | None = None
    nudge_interval_seconds: int = 3600

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "extra_terms", _terms(self.extra_terms, "extra_terms"))
        set_(self, "removed_terms", _terms(self.removed_terms, "removed_terms"))
        for name in ("allow_terms", "company_domains", "allowed_link_domains", "code_names"):
            set_(self, name, _strings(getattr(self, name), name))
        for name in ("company_domains", "allowed_link_domains"):
            set_(self, name, tuple(d.lower().lstrip("@.") for d in getattr(self, name)))
        for name in ("flood_max_messages", "flood_window_seconds", "repeat_max",
                     "repeat_window_seconds", "repeat_min_chars", "mention_storm",
                     "nudge_interval_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number, not {value!r}")
        if self.long_message_chars is not None and self.long_message_chars < 1:
            raise ValueError("long_message_chars must be positive (or None for off)")
        set_(self, "severe_categories", _strings(self.severe_categories, "severe_categories"))
        for category in self.severe_categories:
            if category not in CATEGORIES:
                raise ValueError(f"severe_categories: unknown category {category!r}")
        overrides = dict(self.severity_overrides)
        for key, value in overrides.items():
            if value not in SEVERITIES:
                raise ValueError(f"severity_overrides.{key}: {value!r} is not one of "
                                 f"{', '.join(SEVERITIES)}")
            if key.split(".", 1)[0] not in CATEGORIES:
                raise ValueError(f"severity_overrides: {key!r} names no category (write "
                                 f"'ads', 'ads.contact', 'dlp.phone', 'flood.rate', ...)")
        set_(self, "severity_overrides", MappingProxyType(overrides))

    def lexicon_key(self) -> tuple:
        """What the compiled lexicon depends on (used to share one automaton between groups)."""
        return (tuple(sorted(self.extra_terms.items())), tuple(sorted(self.removed_terms.items())),
                tuple(self.allow_terms), tuple(self.code_names))
