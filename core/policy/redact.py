"""Redaction of personal data in evidence (R3.3.1): a case record never holds a full number."""
from __future__ import annotations

import re

_PATTERNS = (
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),          # resident ID (GB 11643)
    re.compile(r"(?<!\d)\d{15,19}(?!\d)"),              # bank card numbers
    re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),            # mainland mobile numbers
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),          # e-mail addresses
)


def _mask(match: re.Match[str]) -> str:
    s = match.group(0)
    if "@" in s:
        name, _, domain = s.partition("@")
        return f"{name[:1]}***@{domain}"
    keep = 3 if len(s) > 8 else 1
    return s[:keep] + "*" * (len(s) - keep - 2) + s[-2:]


def redact(text: str, limit: int = 300) -> str:
    """Mask ID, card, mobile numbers and e-mails; cut to `limit` characters."""
    for pattern in _PATTERNS:
        text = pattern.sub(_mask, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
