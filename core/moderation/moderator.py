"""The `Moderator` facade: normalise once, run every detector, return verdicts with clause ids,
severity and redacted evidence against the original text.

Build one Moderator per group template and keep it: the constructor compiles the lexicon into
an automaton (shared between templates with the same lexicon) and loads OpenCC; `check` is then
a few tens of microseconds per message.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from core.moderation.contact import ContactDetector, find_links
from core.moderation.dlp import DlpDetector, find_numbers
from core.moderation.flood import FloodDetector, MemoryRecentMessages, RecentMessages
from core.moderation.lexicon import compose
from core.moderation.matcher import LexiconMatcher, Match
from core.moderation.normalise import Normalised, Normaliser, deleet
from core.moderation.nudges import NudgeDetector
from core.moderation.patterns import PatternDetector, in_context
from core.moderation.redact import mask, redact
from core.moderation.secrets import SecretsDetector
from core.moderation.settings import ModerationSettings
from core.moderation.severity import SeverityPolicy
from core.moderation.verdict import CLAUSES, NUDGE_CATEGORIES, SEVERE, Hit, Verdict

LEXICON_CATEGORIES_REPORTED = ("insult", "discrimination", "ads", "illegal")
_CONTEXT = 12          # characters of context either side of the evidence
_EVIDENCE_MAX = 80
_DIGIT = re.compile(r"\d")


# Cue lexicons that only matter once a confidentiality marker matched: kept out of the main
# automaton so that ordinary messages ("?", "吗" are everywhere) do not pay for them.
CUE_CATEGORIES = ("question", "share")


@lru_cache(maxsize=16)
def _compiled(key: tuple) -> tuple[LexiconMatcher, LexiconMatcher]:
    extra, removed, allow, code_names = key
    normaliser = Normaliser()
    terms = compose(dict(extra), dict(removed), allow, code_names, normaliser.fold)
    main = [t for t in terms if t.category not in CUE_CATEGORIES]
    cues = [t for t in terms if t.category in CUE_CATEGORIES]
    # The pattern rules' anchors ride in the main automaton: one pass finds both.
    return (LexiconMatcher(main, normaliser.fold, anchors=PatternDetector.anchors()),
            LexiconMatcher(cues, normaliser.fold))


def compile_lexicon(settings: ModerationSettings) -> LexiconMatcher:
    """The automaton for a template's lexicon, built once per distinct lexicon."""
    return _compiled(settings.lexicon_key())[0]


def compile_cues(settings: ModerationSettings) -> LexiconMatcher:
    """The small automaton of question and sharing cues (see dlp.py)."""
    return _compiled(settings.lexicon_key())[1]


class Moderator:
    def __init__(self, settings: ModerationSettings, recent: RecentMessages | None = None) -> None:
        self.settings = settings
        self._normalise = Normaliser()
        self._matcher = compile_lexicon(settings)
        self._contact = ContactDetector(settings.company_domains, settings.allowed_link_domains,
                                        settings.flag_external_links)
        self._dlp = DlpDetector(settings.company_domains, compile_cues(settings).find)
        recent = MemoryRecentMessages() if recent is None else recent
        self._flood = FloodDetector(
            recent, max_messages=settings.flood_max_messages,
            window_seconds=settings.flood_window_seconds, repeat_max=settings.repeat_max,
            repeat_window_seconds=settings.repeat_window_seconds,
            repeat_min_chars=settings.repeat_min_chars, mention_storm=settings.mention_storm)
        self._nudges = NudgeDetector(recent, offtopic=settings.offtopic_nudges,
                                     long_chars=settings.long_message_chars,
                                     interval_seconds=settings.nudge_interval_seconds)
        self._nudging = self._nudges.enabled
        self._severity = SeverityPolicy(settings)
        self._patterns = PatternDetector()
        self._secrets = SecretsDetector()

    def check(self, text: str, *, sender: str, chat: str, at: datetime,
              mentions: int = 0, message: str | None = None) -> list[Verdict]:
        """Every verdict on one message, most severe first; [] for ordinary talk. `message`: the message's
        key, so that the flood counts count it once however often it is checked."""
        norm = self._normalise(text)
        hits = self._detect(norm, sender=sender, chat=chat, at=at, mentions=mentions, message=message)
        return self._verdicts(norm, hits) if hits else []

    def _detect(self, norm: Normalised, *, sender: str, chat: str, at: datetime,
               mentions: int = 0, message: str | None = None) -> list[Hit]:
        s = norm.text
        anchors: list = []
        matches = self._matcher.find(s, anchors)
        # Most messages hold no digit: then leetspeak needs a $ or @, and no number can be there.
        digit = _DIGIT.search(s) is not None
        leet = deleet(s) if digit or "$" in s or "@" in s else None
        if leet is not None:
            seen = {(m.category, m.start, m.end) for m in matches}
            matches += [m for m in self._matcher.find(leet)
                        if (m.category, m.start, m.end) not in seen]
        hits = [_lexicon_hit(m) for m in matches if m.category in LEXICON_CATEGORIES_REPORTED] \
            if matches else []
        patterns = self._patterns.find(s, norm.original, anchors)
        hits += patterns
        numbers = find_numbers(s) if digit else []
        links = find_links(s)
        # a pitch makes a number an offer
        pitch = any(h.category == "ads" for h in patterns) if patterns else False
        contact, claimed = self._contact.find(s, numbers, matches, links, pitch=pitch)
        hits += contact
        hits += self._dlp.find(s, numbers, matches, links, claimed, digits=digit)
        hits += self._secrets.find(norm.original, s)
        if hits:
            hits = in_context(s, norm.original, hits)
        hits += self._flood.check(norm.original, s, chat=chat, sender=sender, at=at,
                                  mentions=mentions, message=message)
        if self._nudging:
            hits += self._nudges.check(norm.original, s, matches, chat=chat, sender=sender, at=at)
        return hits

    # ------------------------------------------------------------------------------ verdicts
    def _verdicts(self, norm: Normalised, hits: list[Hit]) -> list[Verdict]:
        """One verdict per category and detector (its most severe, then first, hit), with the
        span in the original text and evidence from the redacted original."""
        original = norm.original
        spans = [(0, len(original)) if h.whole_message else h.span if h.in_original
                 else norm.original_span(*h.span) for h in hits]
        redacted = redact(original)
        for hit, (a, b) in zip(hits, spans):
            if hit.sensitive and b > a:
                redacted = redacted[:a] + mask(original[a:b]) + redacted[b:]
        ranked = sorted(((self._severity(h), h, span) for h, span in zip(hits, spans)),
                        key=lambda x: (x[0] != SEVERE, x[2][0]))
        seen: set[tuple[str, str]] = set()
        verdicts: list[Verdict] = []
        for severity, hit, span in ranked:
            if (hit.category, hit.detector) in seen:
                continue
            seen.add((hit.category, hit.detector))
            verdicts.append(Verdict(
                category=hit.category, clause=CLAUSES[hit.category], rule=hit.rule,
                detector=hit.detector, severity=severity, evidence=_excerpt(redacted, span),
                span=span, nudge=hit.category in NUDGE_CATEGORIES, delete=hit.delete,
                score=_score(hit)))
        verdicts.sort(key=lambda v: (v.nudge, v.severity != SEVERE, v.span[0]))
        return verdicts


# How sure each detector is when it does not say itself (Verdict.score, 0..1): checksummed
# numbers and listed terms are near certain; a phone number may be a colleague's desk line;
# patterns.py and secrets.py give a score per rule.
_DEFAULT_SCORES = {
    "lexicon": 0.9, "contact": 0.85, "link": 0.8, "invite_code": 0.8, "dlp.id_card": 0.97,
    "dlp.bank_card": 0.95, "dlp.phone": 0.7, "dlp.email": 0.7, "dlp.marker": 0.8,
    "dlp.code_name": 0.85,
}


def _score(hit: Hit) -> float:
    if hit.score is not None:
        return hit.score
    if hit.detector == "lexicon" and hit.severe:
        return 0.95
    return _DEFAULT_SCORES.get(hit.detector, 1.0)


def _lexicon_hit(m: Match) -> Hit:
    return Hit(m.category, "lexicon", f"{m.category}: {m.term.text}", (m.start, m.end),
               severe=m.term.severe)


def _excerpt(redacted: str, span: tuple[int, int]) -> str:
    a, b = span
    if b - a > _EVIDENCE_MAX:
        half = _EVIDENCE_MAX // 2
        body = redacted[a:a + half] + "…" + redacted[b - half:b]
        return _oneline(body)
    start = max(0, a - _CONTEXT)
    end = min(len(redacted), b + _CONTEXT)
    out = redacted[start:end]
    if start > 0:
        out = "…" + out
    if end < len(redacted):
        out += "…"
    return _oneline(out)


def _oneline(text: str) -> str:
    return " ".join(text.split())
