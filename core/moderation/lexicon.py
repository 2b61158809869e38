"""The curated lexicons: data files in core/moderation/lexicons/, merged with a template's settings.

File format (UTF-8, one term per line, zh-Hans, zh-Hant and en side by side):

    # a comment
    傻逼
    幹你娘              zh-Hant terms are written as people write them; matching folds them
    idiot*              a trailing * also matches longer words (idiots, idiotic)
    弄死你 !severe       flags: !severe (verdicts are severe), !weak (markers: see dlp.py)

Terms are matched after normalisation (normalise.py), so 傻逼, 傻 逼 and ＳＢ are one term each
however they are typed, and English terms only match whole words.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable, Iterable, Mapping, Sequence

from core.moderation.settings import LEXICON_CATEGORIES, ModerationSettings

# Built-in lists that feed the detectors but that admins do not edit in chat:
# share (cues that a message carries material: 附件, attached), question (cues that a message
# asks rather than tells), benign (phrases that contain a listed term and are ordinary training
# talk: 反洗钱, 企业微信, 加微信群).
INTERNAL_CATEGORIES = ("share", "question", "benign")
FLAGS = ("severe", "weak")


@dataclass(frozen=True)
class Term:
    category: str
    text: str
    severe: bool = False
    prefix: bool = False
    weak: bool = False
    source: str = ""

    @property
    def pattern(self) -> str:
        return self.text[:-1] if self.prefix else self.text


def parse(text: str, category: str, source: str = "") -> list[Term]:
    """Read one lexicon file; a bad flag names the file and line."""
    terms = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split(" !")
        term, flags = words[0].strip(), [w.strip() for w in words[1:]]
        for flag in flags:
            if flag not in FLAGS:
                raise ValueError(f"{source or category}:{number}: unknown flag !{flag} "
                                 f"(known: {', '.join('!' + f for f in FLAGS)})")
        terms.append(make_term(category, term, source=f"{source}:{number}",
                               severe="severe" in flags, weak="weak" in flags))
    return terms


def make_term(category: str, text: str, *, source: str = "", severe: bool = False,
              weak: bool = False) -> Term:
    text = text.strip()
    if not text or text == "*":
        raise ValueError(f"{source or category}: empty term")
    return Term(category, text, severe=severe, prefix=text.endswith("*") and len(text) > 1,
                weak=weak, source=source)


@lru_cache(maxsize=None)
def builtin(category: str) -> tuple[Term, ...]:
    """The built-in terms of one category, read from the package data on first use."""
    if category not in LEXICON_CATEGORIES and category not in INTERNAL_CATEGORIES:
        raise KeyError(category)
    name = f"{category}.txt"
    data = resources.files("core.moderation").joinpath("lexicons", name).read_text("utf-8")
    return tuple(parse(data, category, source=name))


def compose(extra_terms: Mapping[str, Sequence[str]], removed_terms: Mapping[str, Sequence[str]],
            allow_terms: Sequence[str], code_names: Sequence[str],
            fold: Callable[[str], str]) -> list[Term]:
    """Built-in terms, plus a template's additions, minus its removals, plus its code names
    (category `code_name`) and its allow-list (category `allow`).

    `fold` normalises a term, so that removing 促銷 also removes 促销.
    """
    removed = {(cat, fold(t.rstrip("*"))) for cat, terms in removed_terms.items() for t in terms}
    out: list[Term] = []
    for category in LEXICON_CATEGORIES + INTERNAL_CATEGORIES:
        extra = [make_term(category, t, source="settings") for t in extra_terms.get(category, ())]
        for term in (*builtin(category), *extra):
            if (category, fold(term.pattern)) not in removed:
                out.append(term)
    out.extend(make_term("code_name", t, source="settings") for t in code_names)
    out.extend(make_term("allow", t, source="settings") for t in allow_terms)
    return out


def listing(category: str, settings: ModerationSettings | None = None) -> list[str]:
    """What `lexicon list CATEGORY` shows: the effective terms of one category."""
    if category not in LEXICON_CATEGORIES:
        raise ValueError(f"unknown lexicon category {category!r} "
                         f"(known: {', '.join(LEXICON_CATEGORIES)})")
    settings = settings or ModerationSettings()
    removed = {t.rstrip("*") for t in settings.removed_terms.get(category, ())}
    terms: Iterable[str] = (t.text for t in builtin(category))
    merged = [t for t in terms if t.rstrip("*") not in removed]
    merged += [t for t in settings.extra_terms.get(category, ()) if t.rstrip("*") not in removed]
    return merged
