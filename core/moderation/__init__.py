"""Moderation: detectors for every forbidden category of the regulation, Chinese-aware.

    moderator = Moderator(ModerationSettings(company_domains=("acme.com",)))
    verdicts = moderator.check(text, sender="U1", chat="C1", at=now)

Each `Verdict` names its category, clause (R1.3.3, R8.1.1-R8.1.4, R4.2.1-R4.2.2), rule, detector,
severity, a confidence score (0..1) and redacted evidence. Detectors: the lexicons (lexicon.py,
matcher.py), constructions beyond words (patterns.py), contact offers (contact.py), personal
data and markers (dlp.py), credentials (secrets.py, on detect-secrets), flood and nudges.
evaluate.py measures precision and recall on a labelled corpus (`steward moderate --eval`). Platform-neutral: no messenger, web framework or connector here.
"""
from core.moderation.flood import MemoryRecentMessages, NoRecentMessages, RecentMessages
from core.moderation.moderator import Moderator
from core.moderation.redact import redact
from core.moderation.settings import LEXICON_CATEGORIES, ModerationSettings
from core.moderation.verdict import CATEGORIES, CLAUSES, LADDER_CATEGORIES, Verdict

__all__ = ["CATEGORIES", "CLAUSES", "LADDER_CATEGORIES", "LEXICON_CATEGORIES",
           "MemoryRecentMessages", "ModerationSettings", "Moderator", "NoRecentMessages",
           "RecentMessages", "Verdict", "redact"]
