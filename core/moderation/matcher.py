"""Every lexicon term in one Aho-Corasick automaton (pyahocorasick): one pass per message,
whatever the size of the lexicon.

The automaton runs over UTF-16 code units written as Latin-1 characters (two symbols per
character), not over the characters themselves: pyahocorasick looks a symbol up by scanning a
node's children, and a Chinese lexicon gives the root thousands of children (every first
character of a term), which made each character of a message cost hundreds of nanoseconds.
With bytes for symbols no node has more than 256 children; a 10,000-term lexicon runs about
fifteen times faster (see bench/moderation_bench.py). Matches that start between the two halves
of a character are dropped.

English terms (those that begin or end with a Latin letter or digit) only match whole words:
"class" does not contain "ass". A term ending in * matches the start of a word ("fuck*").
Matches inside a built-in benign phrase (反洗钱 holds 洗钱) or overlapping a group's allow-list
term (a sales group may say 促销) are dropped.
"""
from __future__ import annotations

import re
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


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def encode(text: str) -> str:
    """Two Latin-1 symbols per character (its UTF-16 code unit); characters outside the BMP
    (emoji) stand in as U+FFFD, so that every character is exactly two symbols."""
    out = text.encode("utf-16-be").decode("latin-1")
    if len(out) != 2 * len(text):
        out = _ASTRAL.sub("\ufffd", text).encode("utf-16-be").decode("latin-1")
    return out


class LexiconMatcher:
    """`anchors` (optional): more keys to look for in the same pass, each with a value that
    `find` reports when the key occurs anywhere in the text (no word boundaries, no
    suppression). patterns.py uses them as its prefilter, so that a message is walked once for
    the lexicon and the pattern rules together. Anchors are taken as they are (already in the
    form of normalised text), not folded."""

    def __init__(self, terms: Iterable[Term], fold: Callable[[str], str],
                 anchors: Mapping[str, object] | None = None) -> None:
        import ahocorasick  # the C extension loads here, not at import of this module

        grouped: dict[str, list[tuple[Term, bool, bool]]] = {}
        for term in terms:
            key = fold(term.pattern).strip()
            if not key:
                continue
            left = _is_word_char(key[0])
            right = _is_word_char(key[-1]) and not term.prefix
            grouped.setdefault(key, []).append((term, left, right))
        anchors = anchors or {}
        self._automaton = ahocorasick.Automaton()
        for key in {**dict.fromkeys(grouped), **dict.fromkeys(anchors)}:
            self._automaton.add_word(encode(key), (2 * len(key), tuple(grouped.get(key, ())),
                                                   anchors.get(key)))
        self.size = len(grouped)
        if grouped or anchors:
            self._automaton.make_automaton()
        self._empty = not grouped and not anchors

    def stats(self) -> dict[str, int]:
        return dict(self._automaton.get_stats())

    def find(self, text: str, anchors: list | None = None) -> list[Match]:
        """Lexicon matches in `text`; with a list for `anchors`, the values of the anchors
        found are appended to it."""
        if self._empty:
            return []
        found: list[Match] = []
        suppress: list[tuple[str, int, int]] = []
        n = len(text)
        words = _WORD_CHARS
        new = tuple.__new__             # a NamedTuple without its Python-level __new__
        for last, (length, entries, anchor) in self._automaton.iter(encode(text)):
            first = last - length + 1
            if first & 1:
                continue                       # began in the middle of a character
            if anchor is not None and anchors is not None:
                anchors.append(anchor)
            if not entries:
                continue
            start, end = first >> 1, (last + 1) >> 1
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
