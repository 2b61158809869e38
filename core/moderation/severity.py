"""Severity per category and rule. A severe violation removes at once on the ladder
(R8.2.2: "repeated or serious violations"); a normal one warns first (R8.2.1).

Defaults: illegal content is severe (`severe_categories`), and so are leaked resident ID and
bank card numbers, lexicon terms marked !severe (threats, hard slurs) and the top
classification marker (绝密). A template overrides any of it by category ("ads") or by category
and detector ("ads.contact", "insult.lexicon", "dlp.phone").
"""
from __future__ import annotations

from core.moderation.settings import ModerationSettings
from core.moderation.verdict import NORMAL, SEVERE, Hit


class SeverityPolicy:
    def __init__(self, settings: ModerationSettings) -> None:
        self._severe_categories = frozenset(settings.severe_categories)
        self._overrides = dict(settings.severity_overrides)

    def __call__(self, hit: Hit) -> str:
        detector_key = (hit.detector if hit.detector.startswith(hit.category + ".")
                        else f"{hit.category}.{hit.detector}")
        for key in (detector_key, hit.category):
            if key in self._overrides:
                return self._overrides[key]
        if hit.severe or hit.category in self._severe_categories:
            return SEVERE
        return NORMAL
