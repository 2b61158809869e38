"""Flooding and junk (R8.1.3): too many messages too fast, the same message again and again,
mention storms.

State lives behind the `RecentMessages` port, so several web processes can share it (a DB or
Redis implementation is added elsewhere); `MemoryRecentMessages` serves one process and tests.
A verdict is raised once, when a sender crosses a threshold, not on every message after it:
Steward never floods a group it is protecting.
"""
from __future__ import annotations

import hashlib
import re
import threading
from bisect import bisect_left, insort
from collections import deque
from datetime import datetime, timedelta
from typing import Protocol

from core.moderation.verdict import Hit

_NUMERALS = "零〇一二三四五六七八九十百千万两"


def _letters_class() -> str:
    """a-z and the CJK ideographs, except the numerals."""
    ranges, start = ["a-z", "\u3400-\u4dbf"], 0x4E00
    for cp in sorted(ord(ch) for ch in _NUMERALS if ord(ch) >= start):   # 〇 (U+3007) lies outside them
        if cp > start:
            ranges.append(f"{chr(start)}-{chr(cp - 1)}")
        start = cp + 1
    ranges.append(f"{chr(start)}-\u9fff")
    return "".join(ranges)


_WORD_RUNS = re.compile(f"[{_letters_class()}]+")
_MENTION = re.compile(r"(?<![\w.])@[^\s@<>]+|<@[^>\s]+>")


class RecentMessages(Protocol):
    """Recent message fingerprints per (chat, sender). Keys are opaque strings; the moderator
    also keeps its own bookkeeping here under chat keys ending in '#nudge'.

    A store may also offer `counts(chat, sender, since, fingerprint, since_same) -> (all, same)`
    to answer both of the flood detector's questions in one round trip (the Redis store does), or
    `tally(chat, sender, fingerprint, at, since, since_same)` to record and count in one call
    (MemoryRecentMessages does)."""

    def record(self, chat: str, sender: str, fingerprint: str, at: datetime, message: str | None = None) -> None:
        """Remember that `sender` posted a message with `fingerprint` in `chat` at `at`. A `message` (its
        platform's key) already recorded is not counted again: a message may be decided twice (a batch
        decided again after a race, a redelivery that reached another process)."""

    def count(self, chat: str, sender: str, since: datetime,
              fingerprint: str | None = None) -> int:
        """Messages of `sender` in `chat` at or after `since` (only those with `fingerprint`,
        if given)."""


class _Sent:
    """One (chat, sender)'s recent messages: their times sorted (a message may arrive stamped earlier than
    the last: a redelivery, an edit, another clock), the times of each fingerprint sorted too (a lone time
    for a fingerprint seen once, as most are), the order they arrived in, for evicting the oldest, and the
    keys of the messages among them, so that one message decided twice counts once."""
    __slots__ = ("times", "arrived", "by_print", "messages")

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.arrived: deque[tuple[datetime, str, str | None]] = deque()
        self.by_print: dict[str, datetime | list[datetime]] = {}
        self.messages: set[str] = set()

    def add(self, at: datetime, fingerprint: str, keep: int, message: str | None = None) -> None:
        if message is not None:
            if message in self.messages:
                return
            self.messages.add(message)
        _insert(self.times, at)
        self.arrived.append((at, fingerprint, message))
        same = self.by_print.get(fingerprint)
        if same is None:
            self.by_print[fingerprint] = at
        elif type(same) is list:
            _insert(same, at)
        else:
            self.by_print[fingerprint] = sorted((same, at))
        if len(self.arrived) > keep:
            old, oldest, gone = self.arrived.popleft()
            self.messages.discard(gone)
            del self.times[bisect_left(self.times, old)]
            same = self.by_print[oldest]
            if type(same) is list and len(same) > 1:
                del same[bisect_left(same, old)]
            else:
                del self.by_print[oldest]

    def same_since(self, fingerprint: str, since: datetime) -> int:
        same = self.by_print.get(fingerprint)
        if same is None:
            return 0
        if type(same) is list:
            return _since(same, since)
        return 1 if same >= since else 0


def _insert(times: list[datetime], at: datetime) -> None:
    if not times or at >= times[-1]:
        times.append(at)         # in time order, as nearly every message comes
    else:
        insort(times, at)


def _since(times: list[datetime], since: datetime) -> int:
    """How many of `times` (ascending) are at or after `since`: a binary search, so a sender with a long
    history (a flooder, or a load test) costs no more than one with a short one."""
    return len(times) - bisect_left(times, since) if times else 0


class MemoryRecentMessages:
    """In-process RecentMessages; forgets entries older than `horizon` and keeps at most
    `per_key` entries per (chat, sender)."""

    def __init__(self, horizon: timedelta = timedelta(hours=2), per_key: int = 500) -> None:
        self._horizon = horizon
        self._per_key = per_key
        self._items: dict[tuple[str, str], _Sent] = {}
        self._lock = threading.Lock()
        self._records = 0

    def record(self, chat: str, sender: str, fingerprint: str, at: datetime, message: str | None = None) -> None:
        with self._lock:
            self._add(chat, sender, fingerprint, at, message)

    def _add(self, chat: str, sender: str, fingerprint: str, at: datetime, message: str | None = None) -> _Sent:
        sent = self._items.get((chat, sender))
        if sent is None:
            sent = self._items[(chat, sender)] = _Sent()
        sent.add(at, fingerprint, self._per_key, message)
        self._records += 1
        if self._records % 4096 == 0:
            self._prune(at - self._horizon)
        return sent

    def count(self, chat: str, sender: str, since: datetime,
              fingerprint: str | None = None) -> int:
        with self._lock:
            sent = self._items.get((chat, sender))
            if sent is None:
                return 0
            return _since(sent.times, since) if fingerprint is None else sent.same_since(fingerprint, since)

    def tally(self, chat: str, sender: str, fingerprint: str, at: datetime, since: datetime,
              since_same: datetime, message: str | None = None) -> tuple[int, int]:
        """`record`, then `counts`, under one lock and one lookup (FloodDetector's fast path)."""
        with self._lock:
            sent = self._add(chat, sender, fingerprint, at, message)
            return _since(sent.times, since), sent.same_since(fingerprint, since_same)

    def counts(self, chat: str, sender: str, since: datetime, fingerprint: str,
               since_same: datetime, enough: int | None = None) -> tuple[int, int]:
        """count(chat, sender, since) and count(chat, sender, since_same, fingerprint) under one lock
        (an optional fast path: FloodDetector uses it when a store offers it). `enough`: where counting
        may stop (the Redis store's bound); the binary search needs none."""
        with self._lock:
            sent = self._items.get((chat, sender))
            if sent is None:
                return 0, 0
            return _since(sent.times, since), sent.same_since(fingerprint, since_same)

    def _prune(self, before: datetime) -> None:
        for key in [k for k, v in self._items.items() if not v.times or v.times[-1] < before]:
            del self._items[key]


class NoRecentMessages:
    """Remembers nothing: checks one message on its own (no rate or repeat verdicts)."""

    def record(self, chat: str, sender: str, fingerprint: str, at: datetime, message: str | None = None) -> None:
        return None

    def count(self, chat: str, sender: str, since: datetime,
              fingerprint: str | None = None) -> int:
        return 0


def fingerprint(normalised: str) -> tuple[str, int]:
    """A hash of the message's letters and CJK characters only, numbers left out, so that
    "就差十个了！！" and "就差9个了~~" are the same message; and how many such characters
    there are."""
    core = "".join(_WORD_RUNS.findall(normalised))
    if not core:
        core = "".join(normalised.split())
    digest = hashlib.blake2b(core[:1000].encode("utf-8"), digest_size=8).hexdigest()
    return digest, len(core)


def mentions_in(text: str) -> int:
    """@-mentions written in the text (the connector's <@USER> form or a plain @name)."""
    return len(_MENTION.findall(text)) if "@" in text else 0


class FloodDetector:
    def __init__(self, recent: RecentMessages, *, max_messages: int, window_seconds: int,
                 repeat_max: int, repeat_window_seconds: int, repeat_min_chars: int,
                 mention_storm: int) -> None:
        self._recent = recent
        self._max = max_messages
        self._window = timedelta(seconds=window_seconds)
        self._window_s = window_seconds
        self._repeat_max = repeat_max
        self._repeat_window = timedelta(seconds=repeat_window_seconds)
        self._repeat_min = repeat_min_chars
        self._storm = mention_storm
        self._counts = getattr(recent, "counts", None)   # one round trip, where a store offers it
        self._tally = getattr(recent, "tally", None)     # recording too (MemoryRecentMessages)
        self._enough = max(max_messages, repeat_max) + 2     # counting further changes nothing

    def check(self, original: str, normalised: str, *, chat: str, sender: str, at: datetime,
              mentions: int, message: str | None = None) -> list[Hit]:
        hits: list[Hit] = []
        whole = (0, len(normalised))
        mentioned = max(mentions, mentions_in(original)) if "@" in original else mentions
        if mentioned >= self._storm:
            hits.append(Hit("flood", "flood.mentions",
                            f"flood: mention storm ({mentioned} @-mentions)", whole,
                            whole_message=True))
        fp, size = fingerprint(normalised)
        recent = self._recent
        if self._tally is not None:
            sent, same = self._tally(chat, sender, fp, at, at - self._window, at - self._repeat_window, message)
        elif self._counts is not None:
            recent.record(chat, sender, fp, at, message)
            sent, same = self._counts(chat, sender, at - self._window, fp, at - self._repeat_window,
                                      enough=self._enough)
        else:
            recent.record(chat, sender, fp, at, message)
            sent = recent.count(chat, sender, at - self._window)
            same = recent.count(chat, sender, at - self._repeat_window, fp) \
                if size >= self._repeat_min else 0
        if sent == self._max + 1:
            hits.append(Hit("flood", "flood.rate",
                            f"flood: more than {self._max} messages in {self._window_s} s",
                            whole, whole_message=True))
        if size >= self._repeat_min:
            if same == self._repeat_max + 1:
                hits.append(Hit("flood", "flood.repeat",
                                f"flood: the same message {same} times", whole,
                                whole_message=True))
        return hits
