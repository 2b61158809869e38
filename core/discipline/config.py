"""From steward.yaml to the moderation detectors' settings, per group template."""
from __future__ import annotations

from typing import Mapping

from core.config.schema import Moderation, StewardConfig, acts_alone
from core.moderation.settings import ModerationSettings
from core.moderation.verdict import Verdict


def moderation_settings(config: StewardConfig, template: str, added: Mapping[str, list[str]] | None = None,
                        removed: Mapping[str, list[str]] | None = None) -> ModerationSettings:
    """steward.yaml's settings plus the admins' lexicon edits; raises ValueError naming what is wrong."""
    m = config.all_templates()[template].moderation
    extra = {category: list(terms) for category, terms in config.lexicon.items()}
    for category, terms in (added or {}).items():
        extra.setdefault(category, []).extend(terms)
    return ModerationSettings(
        extra_terms=extra, removed_terms=dict(removed or {}), allow_terms=m.allow_terms,
        company_domains=config.company.email_domains, allowed_link_domains=config.company.link_domains,
        flag_external_links=m.flag_external_links, code_names=config.company.code_names,
        flood_max_messages=m.flood_max_messages, flood_window_seconds=m.flood_window_seconds,
        repeat_max=m.repeat_max, mention_storm=m.mention_storm, severe_categories=m.severe_categories,
        severity_overrides=dict(m.severity_overrides), offtopic_nudges=m.offtopic_nudges,
        long_message_chars=m.long_message_chars)


def acting(m: Moderation, verdict: Verdict) -> bool:
    """Does this hit act alone (a case), or wait in the review queue (templates.<kind>.moderation.act_at)?"""
    return acts_alone(m, verdict.category, verdict.score)
