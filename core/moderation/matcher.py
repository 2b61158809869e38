"""Every lexicon term in one Aho-Corasick automaton (pyahocorasick): one pass per message,
whatever the size of the lexicon.

English terms (those that begin or end with a Latin letter or digit) only match whole words:
"class" does not contain "ass". A term ending in * matches the start of a word ("fuck*").
Matches inside a built-in benign phrase (反洗钱 holds 洗钱) or overlapping a group's allow-list
term (a sales group may say 促销) are dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from core.moderation.lexicon import Term

_SUPPRESSORS = ("benign", "allow")


@dataclass(frozen=True)
class Match:
    category: str
    term: Term
    start: int      # in the normalised text
    end: int


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class LexiconMatcher:
    def __init__(self, terms: Iterable[Term], fold: Callable[[str], str]) -> None:
        import ahocorasick   # the C extension loads here, not at import of this module

        grouped: dict[str, list[tuple[Term, bool, bool]]] = {}
        for term in terms:
            key = fold(term.pattern).strip()
            if not key:
                continue
            left = _is_word_char(key[0])
            right = _is_word_char(key[-1]) and not term.prefix
            grouped.setdefault(key, []).append((term, left, right))
        self._automaton = ahocorasick.Automaton()
        for key, entries in grouped.items():
            self._automaton.add_word(key, (len(key), tuple(entries)))
        self.size = len(grouped)
        if self.size:
            self._automaton.make_automaton()

    def stats(self) -> dict[str, int]:
        return dict(self._automaton.get_stats())

    def find(self, text: str) -> list[Match]:
        if not self.size:
            return []
        found: list[Match] = []
        benign: list[tuple[int, int]] = []
        allowed: list[tuple[int, int]] = []
        n = len(text)
        for last, (length, entries) in self._automaton.iter(text):
            start, end = last - length + 1, last + 1
            for term, left, right in entries:
                if left and start > 0 and _is_word_char(text[start - 1]):
                    continue
                if right and end < n and _is_word_char(text[end]):
                    continue
                if term.category == "benign":
                    benign.append((start, end))
                elif term.category == "allow":
                    allowed.append((start, end))
                else:
                    found.append(Match(term.category, term, start, end))
        if benign or allowed:
            found = [m for m in found
                     if not any(a <= m.start and m.end <= b for a, b in benign)
                     and not any(m.start < b and a < m.end for a, b in allowed)]
        return found
