"""Chinese-aware text similarity for grouping questions (R4.3.2).

No whitespace tokenisation (Chinese has none): text is folded (NFKC, case, Traditional -> Simplified),
stripped of punctuation and spaces, and compared as sets of character bigrams and trigrams (Jaccard).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NOISE = re.compile(r"[\W_]+", re.UNICODE)
_CUES = re.compile(r"请问|請問|怎么|怎麼|如何|为什么|為什麼|吗|嗎|呢|能否|可否|是否")


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # loaded on first use, not at import
    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    if any("\u3400" <= ch <= "\u9fff" for ch in text):
        text = _t2s().convert(text)
    return _NOISE.sub("", _CUES.sub("", text))


@lru_cache(maxsize=4096)
def shingles(text: str) -> frozenset[str]:
    folded = fold(text)
    if len(folded) < 2:
        return frozenset({folded}) if folded else frozenset()
    return frozenset(folded[i:i + n] for n in (2, 3) for i in range(len(folded) - n + 1))


def similarity(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


_QUESTION_WORDS = ("?", "？", "请问", "請問", "怎么", "怎麼", "如何", "为什么", "為什麼")
_QUESTION_ENDS = ("吗", "嗎", "呢")
_QUESTION_START = re.compile(r"(?:how|what|why|when|where|who|which|can|could|should|is|are|do|does)\b",
                             re.IGNORECASE)


def reads_as_question(text: str) -> bool:
    """A question mark or a question word anywhere, a particle at the end, or an English question's first
    word. Substring tests rather than one regex alternation: this runs on every chat message."""
    text = text.strip()
    return (any(word in text for word in _QUESTION_WORDS) or text.endswith(_QUESTION_ENDS)
            or _QUESTION_START.match(text) is not None)
