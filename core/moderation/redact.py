"""Redaction for evidence and case records (R3.3.1): no full ID, bank card, phone number or
e-mail address survives.

Masking keeps the text's length (every masked character becomes '*'), so spans found in the
original still point at the same place in the redacted text. Long digit runs are masked whether
or not they pass a checksum, in any of the forms people write them: with spaces or hyphens,
full-width, circled, or as Chinese or English number words.
"""
from __future__ import annotations

import re

_NUMERAL = "0-9０-９零〇一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖貳參陸兩洞①-⑳⓪⓵-⓾❶-❿➀-➓"
# Runs of nine or more digits (as digits or numerals), with single separators between them,
# and an optional trailing X (resident ID check character).
_DIGIT_RUN = re.compile(rf"[{_NUMERAL}](?:[ \-.]?[{_NUMERAL}]){{8,}}[xX]?")
_WORDS = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_WORD_RUN = re.compile(rf"(?i)\b{_WORDS}(?:[\s,-]+{_WORDS}){{6,}}\b")
_EMAIL = re.compile(r"([\w.%+-]+)(@|＠)([\w-]+(?:\.[\w-]+)+)")
_IS_DIGIT = re.compile(rf"[{_NUMERAL}xX]")


def _mask_run(match: re.Match[str]) -> str:
    s = match.group(0)
    positions = [i for i, ch in enumerate(s) if _IS_DIGIT.match(ch)]
    keep_head, keep_tail = (3, 4) if len(positions) >= 11 else (2, 2)
    masked = set(positions[keep_head:len(positions) - keep_tail])
    return "".join("*" if i in masked else ch for i, ch in enumerate(s))


def _mask_words(match: re.Match[str]) -> str:
    return re.sub(r"[A-Za-z]", "*", match.group(0))


def _mask_email(match: re.Match[str]) -> str:
    name = match.group(1)
    return name[:1] + "*" * (len(name) - 1) + match.group(2) + match.group(3)


def mask(text: str) -> str:
    """Mask every letter and digit of `text` but the first three and last four (or, for short
    text, the first and last two)."""
    positions = [i for i, ch in enumerate(text) if ch.isalnum()]
    head, tail = (3, 4) if len(positions) >= 11 else (1, 1) if len(positions) < 6 else (2, 2)
    masked = set(positions[head:len(positions) - tail])
    return "".join("*" if i in masked else ch for i, ch in enumerate(text))


def redact(text: str) -> str:
    """Mask ID numbers, phone numbers, bank card numbers and e-mail addresses in `text`."""
    if "@" in text or "＠" in text:
        text = _EMAIL.sub(_mask_email, text)
    text = _DIGIT_RUN.sub(_mask_run, text)
    return _WORD_RUN.sub(_mask_words, text)
