"""Nudges, not punishments (R4.2.1, R4.2.2, R2.2.3): a gentle private hint about off-topic
chatter or a very long message. Off by default per template, at most one hint of each kind per
member and chat per interval, and never counted on the ladder (`Verdict.nudge`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from core.moderation.flood import RecentMessages
from core.moderation.matcher import Match
from core.moderation.verdict import Hit


class NudgeDetector:
    def __init__(self, recent: RecentMessages, *, offtopic: bool, long_chars: int | None,
                 interval_seconds: int) -> None:
        self._recent = recent
        self._offtopic = offtopic
        self._long = long_chars
        self._interval = timedelta(seconds=interval_seconds)

    @property
    def enabled(self) -> bool:
        return self._offtopic or self._long is not None

    def check(self, original: str, normalised: str, matches: Sequence[Match], *, chat: str,
              sender: str, at: datetime) -> list[Hit]:
        hits: list[Hit] = []
        if self._offtopic:
            topic = next((m for m in matches if m.category == "offtopic"), None)
            if topic is not None and self._due(chat, sender, "offtopic", at):
                hits.append(Hit("offtopic", "nudge.offtopic",
                                f"off-topic: {topic.term.text}", (topic.start, topic.end)))
        if self._long is not None:
            size = len("".join(original.split()))
            if size > self._long and self._due(chat, sender, "long", at):
                hits.append(Hit("long", "nudge.long",
                                f"long message: {size} characters (limit {self._long})",
                                (0, len(normalised)), whole_message=True))
        return hits

    def _due(self, chat: str, sender: str, kind: str, at: datetime) -> bool:
        key = f"{chat}#nudge"
        if self._recent.count(key, sender, at - self._interval, kind):
            return False
        self._recent.record(key, sender, kind, at)
        return True
