"""Every lexicon term in one Aho-Corasick automaton (ahocorasick-rs, the Rust aho-corasick crate):
one pass per message, whatever the size of the lexicon.

ahocorasick-rs rather than pyahocorasick: pyahocorasick looks a symbol up by scanning a node's
children, and a Chinese lexicon gives the root thousands of them (every first character of a
term); even fed UTF-16 code units to bound that, it runs a 10,000-term lexicon markedly slower than
ahocorasick-rs's contiguous NFA (`make bench` prints both), which also takes a third of the memory
of ahocorasick-rs's DFA for about the same speed. Its indexes are character offsets of the Python string.

English terms (those that begin or end with a Latin letter or digit) only match whole words:
"class" does not contain "ass". A term ending in * matches the start of a word ("fuck*").
Matches inside a built-in benign phrase (反洗钱 holds 洗钱) or overlapping a group's allow-list
term (a sales group may say 促销) are dropped.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, NamedTuple

from core.moderation.lexicon import Term

_SUPPRESSORS = ("benign", "allow")


class Match(NamedTuple):
    category: str
    term: Term
    start: int      # in the normalised text
    end: int


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _is_word_char(ch: str) -> bool:
    return ch in _WORD_CHARS


class LexiconMatcher:
    """`anchors` (optional): more keys to look for in the same pass, each with a value that
    `find` reports when the key occurs anywhere in the text (no word boundaries, no
    suppression). patterns.py uses them as its prefilter, so that a message is walked once for
    the lexicon and the pattern rules together. Anchors are taken as they are (already in the
    form of normalised text), not folded."""

    def __init__(self, terms: Iterable[Term], fold: Callable[[str], str],
                 anchors: Mapping[str, object] | None = None) -> None:
        import ahocorasick_rs  # the extension loads here, not at import of this module

        grouped: dict[str, list[tuple[Term, bool, bool]]] = {}
        for term in terms:
            key = fold(term.pattern).strip()
            if not key:
                continue
            left = _is_word_char(key[0])
            right = _is_word_char(key[-1]) and not term.prefix
            grouped.setdefault(key, []).append((term, left, right))
        anchors = anchors or {}
        keys = list({**dict.fromkeys(grouped), **dict.fromkeys(anchors)})
        # pattern index -> (the terms of that key, the anchor's value)
        self._values = [(tuple(grouped.get(key, ())), anchors.get(key)) for key in keys]
        self._automaton = (ahocorasick_rs.AhoCorasick(keys, matchkind=ahocorasick_rs.MatchKind.Standard,
                                                      implementation=ahocorasick_rs.Implementation.ContiguousNFA)
                           if keys else None)
        self.size = len(grouped)
        self._stats = {"words_count": len(keys)}

    def stats(self) -> dict[str, int]:
        return dict(self._stats)

    def find(self, text: str, anchors: list | None = None) -> list[Match]:
        """Lexicon matches in `text`; with a list for `anchors`, the values of the anchors
        found are appended to it."""
        if self._automaton is None:
            return []
        found: list[Match] = []
        suppress: list[tuple[str, int, int]] = []
        n = len(text)
        words = _WORD_CHARS
        values = self._values
        new = tuple.__new__             # a NamedTuple without its Python-level __new__
        for index, start, end in self._automaton.find_matches_as_indexes(text, overlapping=True):
            entries, anchor = values[index]
            if anchor is not None and anchors is not None:
                anchors.append(anchor)
            if not entries:
                continue
            for term, left, right in entries:
                if left and start and text[start - 1] in words:
                    continue
                if right and end < n and text[end] in words:
                    continue
                category = term.category
                if category == "benign" or category == "allow":
                    suppress.append((category, start, end))
                else:
                    found.append(new(Match, (category, term, start, end)))
        if suppress:
            found = [m for m in found if not any(
                (a <= m.start and m.end <= b) if kind == "benign" else (m.start < b and a < m.end)
                for kind, a, b in suppress)]
        return found
