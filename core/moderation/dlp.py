"""Confidential and personal data (R3.3.1, R8.1.4): ID numbers, bank cards, mobile numbers,
e-mail addresses outside the company, confidentiality markers and project code names.

Numbers are only reported when they are what they claim to be: a resident ID number passes the
GB 11643-1999 check digit, a plausible region and birth date (a Taiwan ID, its own check digit);
a bank card passes Luhn and starts with a card scheme's prefix; a mobile number is a mainland
1[3-9]xxxxxxxxx or a Taiwan 09xxxxxxxx number. Order numbers,
meeting ids and dates pass none of these.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Callable, Sequence

from core.moderation.matcher import Match
from core.moderation.verdict import Hit

# ---------------------------------------------------------------------------------- checksums
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10x98765432"
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83 91".split())


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of a 17-digit prefix."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def is_resident_id(value: str, today: date | None = None) -> bool:
    """An 18-character mainland resident ID: region, birth date and check digit all valid."""
    value = value.lower()
    if len(value) != 18 or not value[:17].isdigit() or value[:2] not in _PROVINCES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= (today or date.today()):
        return False
    return id_check_digit(value[:17]) == value[17]


_TW_LETTERS = dict(zip("abcdefghjklmnpqrstuvxywzio", range(10, 36)))


def is_taiwan_id(value: str) -> bool:
    """A Taiwan national ID or resident certificate number (A123456789): a letter, 1/2 (or 8/9),
    eight digits, and the check digit of the Ministry of the Interior's weighted sum."""
    value = value.lower()
    if len(value) != 10 or value[0] not in _TW_LETTERS or not value[1:].isdigit() \
            or value[1] not in "1289":
        return False
    area = _TW_LETTERS[value[0]]
    total = area // 10 + (area % 10) * 9
    total += sum(int(d) * w for d, w in zip(value[1:9], (8, 7, 6, 5, 4, 3, 2, 1)))
    return (total + int(value[9])) % 10 == 0


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_bank_card(digits: str) -> bool:
    """A payment card number: a scheme's prefix and length, and the Luhn check."""
    n = len(digits)
    if not 15 <= n <= 19 or not digits.isdigit():
        return False
    if digits.startswith("62") or digits.startswith("60") or digits.startswith("65"):
        ok = 16 <= n <= 19                                    # UnionPay, Discover
    elif digits[0] == "4":
        ok = n in (16, 19)                                    # Visa
    elif "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720":
        ok = n == 16                                          # Mastercard
    elif digits[:2] in ("34", "37"):
        ok = n == 15                                          # American Express
    elif digits[:2] == "35":
        ok = 16 <= n <= 19                                    # JCB
    else:
        ok = False
    return ok and luhn_valid(digits)


def is_mobile(digits: str) -> bool:
    """A mainland (1[3-9]xxxxxxxxx) or Taiwan (09xxxxxxxx) mobile number."""
    if len(digits) == 11:
        return digits[0] == "1" and digits[1] in "3456789"
    return len(digits) == 10 and digits.startswith("09")


# ------------------------------------------------------------------------------ number finder
_TW_ID = re.compile(r"[a-z](?<![0-9a-z_][a-z])[1289]\d{8}(?![0-9a-z])")
_NINE_DIGITS = re.compile(r"\d(?=\d{8})")     # what a Taiwan ID needs; skips ahead in C
_RUN = re.compile(r"\d(?<![0-9a-z_]\d)(?:[ \-]?\d){9,}x?(?![0-9])")
_SEPARATORS = re.compile(r"[ \-]")


@dataclass(frozen=True)
class Number:
    kind: str                 # id_card | bank_card | phone | hotline
    digits: str
    span: tuple[int, int]     # in the normalised text


def _classify(digits: str) -> str | None:
    if len(digits) == 18 and is_resident_id(digits):
        return "id_card"
    if is_bank_card(digits):
        return "bank_card"
    if is_mobile(digits):
        return "phone"
    if len(digits) == 13 and digits.startswith("86") and is_mobile(digits[2:]):
        return "phone"
    if len(digits) == 12 and digits.startswith("8869") and is_mobile("0" + digits[3:]):
        return "phone"
    if len(digits) == 15 and digits.startswith("0086") and is_mobile(digits[4:]):
        return "phone"
    if len(digits) == 10 and digits[:3] in ("400", "800"):
        return "hotline"
    return None


def find_numbers(text: str) -> list[Number]:
    """Every ID, card, mobile and hotline number in normalised text, written with or without
    spaces or hyphens between groups ("138 0013 8000", "6222-0212-3456-7890")."""
    out: list[Number] = []
    for m in _RUN.finditer(text):
        run = m.group(0)
        digits = _SEPARATORS.sub("", run)
        kind = _classify(digits)
        if kind is not None:
            out.append(Number(kind, digits, m.span()))
            continue
        # Several numbers in one run ("13800138000 110101199003071234"): try group windows.
        groups = [(g.start() + m.start(), g.end() + m.start())
                  for g in re.finditer(r"[0-9x]+", run)]
        i = 0
        while i < len(groups):
            for j in range(min(len(groups), i + 6), i, -1):
                a, b = groups[i][0], groups[j - 1][1]
                kind = _classify(_SEPARATORS.sub("", text[a:b]))
                if kind is not None:
                    out.append(Number(kind, _SEPARATORS.sub("", text[a:b]), (a, b)))
                    i = j - 1
                    break
            i += 1
    return out


# -------------------------------------------------------------------------------- e-mail, links
EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+-]*@([a-z0-9-]+(?:\.[a-z0-9-]+)+)")
_FILE = re.compile(r"[\w\u4e00-\u9fff-]+\."
                   r"(?:pdf|docx?|xlsx?|pptx?|csv|zip|rar|7z|key|pages|numbers)(?![a-z0-9])")


def domain_allowed(host: str, domains: Sequence[str]) -> bool:
    """`host` is one of `domains` or a subdomain of one."""
    domains = tuple(domains)
    return host in domains or host.endswith(_subdomain_suffixes(domains))


@lru_cache(maxsize=64)
def _subdomain_suffixes(domains: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("." + d for d in domains)


# ------------------------------------------------------------------------------------ detector
_NUMBER_RULES = {
    "id_card": ("dlp: resident ID number (GB 11643 checksum valid)", True),
    "bank_card": ("dlp: bank card number (Luhn valid)", True),
    "phone": ("dlp: mobile number", False),
}


class DlpDetector:
    def __init__(self, company_domains: Sequence[str],
                 cues: Callable[[str], Sequence[Match]]) -> None:
        self._company = tuple(company_domains)
        self._cues = cues          # question and share cues, looked for only next to a marker

    def find(self, text: str, numbers: Sequence[Number], matches: Sequence[Match],
             links: Sequence[tuple[str, tuple[int, int]]],
             claimed: set[tuple[int, int]], digits: bool = True) -> list[Hit]:
        """`digits`: False when the caller knows that `text` holds no digit."""
        hits: list[Hit] = []
        for number in numbers:
            if number.kind not in _NUMBER_RULES or number.span in claimed:
                continue
            rule, severe = _NUMBER_RULES[number.kind]
            hits.append(Hit("dlp", f"dlp.{number.kind}", rule, number.span, severe=severe,
                            delete=True, sensitive=True))
        if "@" in text:
            for m in EMAIL.finditer(text):
                if m.span() in claimed or domain_allowed(m.group(1), self._company):
                    continue
                hits.append(Hit("dlp", "dlp.email", "dlp: e-mail address outside the company",
                                m.span(), delete=True))      # redact() masks the address
        for m in _TW_ID.finditer(text) if digits and _NINE_DIGITS.search(text) else ():
            if is_taiwan_id(m.group(0)):
                hits.append(Hit("dlp", "dlp.id_card", "dlp: Taiwan ID number (checksum valid)",
                                m.span(), severe=True, delete=True, sensitive=True))
        if not matches:
            return hits
        hits.extend(self._markers(text, matches, links))
        for match in matches:
            if match.category == "code_name":
                hits.append(Hit("dlp", "dlp.code_name",
                                f"dlp: confidential project code name ({match.term.text})",
                                (match.start, match.end), severe=match.term.severe, delete=True))
        return hits

    def _markers(self, text: str, matches: Sequence[Match],
                 links: Sequence[tuple[str, tuple[int, int]]]) -> list[Hit]:
        markers = [m for m in matches if m.category == "markers"]
        if not markers:
            return []
        cues = {m.category for m in self._cues(text)}
        if "question" in cues:
            return []
        external = any(not domain_allowed(host, self._company) for host, _ in links)
        carries = (bool(links) or "share" in cues
                   or _FILE.search(text) is not None)
        hits = []
        for m in markers:
            if m.term.weak:
                # internal-use markers: with a link outside the company, or in front of a file
                # or labelled content ("内部文件勿转：薪酬方案.pdf")
                fires = external or _FILE.search(text) is not None or _labelled(text, m.end)
            else:
                fires = carries or _labelled(text, m.end)
            if fires:
                hits.append(Hit("dlp", "dlp.marker",
                                f"dlp: material marked '{m.term.text}' shared in the group",
                                (m.start, m.end), severe=m.term.severe, delete=True))
        return hits


_LABEL = re.compile(r"[ ,]*(?:(?:勿转|勿外传|请勿外传|勿外流|请勿转发|不得外传|do not share|"
                    r"do not forward|only)[ ,]*)?[:】\]|\-—–]")


def _labelled(text: str, end: int) -> bool:
    """A marker used as a label in front of content: "机密：Q3 营收 3.2 亿 ...", "【机密】...",
    "内部资料，勿外传：..."."""
    m = _LABEL.match(text, end)
    return m is not None and len(text) - m.end() >= 8
