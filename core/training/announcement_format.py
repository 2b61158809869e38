"""The structured announcement of R3.1.2, as people type it in any messenger.

`key: value` pairs, one per line or all on one line (a Slack slash command is one line), English or
Chinese keys, `:` or `：`. Times are read in the group's time zone; an impossible time (30 February,
25:00, a clock hour skipped by daylight saving) is refused rather than guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

KEYS = {
    "topic": ("topic", "subject", "主题", "主題", "题目", "題目"),
    "time": ("time", "when", "时间", "時間"),
    "place": ("place", "link", "where", "地点", "地點", "链接", "連結", "鏈接"),
    "points": ("points", "key points", "要点", "要點", "内容", "內容"),
    "publish": ("publish", "post at", "发布", "發佈", "發布"),
    "questions": ("questions", "答疑"),    # R4.3.2: a topic session answering these questions
}
_ALIAS = {alias.casefold(): key for key, aliases in KEYS.items() for alias in aliases}
_KEY = re.compile(r"(?:^|(?<=[\s|;；]))(" + "|".join(re.escape(a) for a in sorted(_ALIAS, key=len, reverse=True))
                  + r")\s*[:：]", re.IGNORECASE)
_TIME = re.compile(r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:T|\s)?\s*"
                   r"(\d{1,2})\s*[:：点點时時]\s*(\d{1,2})?\s*分?$")


class BadTime(ValueError):
    pass


@dataclass(frozen=True)
class Draft:
    fields: dict[str, str]

    def get(self, key: str) -> str:
        return self.fields.get(key, "").strip()


def parse_fields(text: str) -> Draft:
    """`topic: A time: B ...` -> {"topic": "A", "time": "B"}; text before the first key is ignored."""
    found = list(_KEY.finditer(text))
    fields: dict[str, str] = {}
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        value = text[match.end():end].strip().strip("|;；").strip()
        fields[_ALIAS[match.group(1).casefold()]] = value
    return Draft(fields)


def missing(draft: Draft, session: bool) -> list[str]:
    """R3.1.2: topic, time and key points; a session also needs its place or link."""
    need = ["topic", "time", "points"] + (["place"] if session else [])
    return [key for key in need if not draft.get(key)]


def parse_time(value: str, tz: str, now: datetime) -> datetime:
    """A local wall-clock time in the group's zone -> UTC. Raises BadTime."""
    m = _TIME.match(value.strip())
    if not m:
        raise BadTime(value)
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    year = int(m.group(1)) if m.group(1) else local_now.year
    try:
        naive = datetime(year, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5) or 0))
    except ValueError:
        raise BadTime(value) from None
    local = naive.replace(tzinfo=zone)
    as_utc = local.astimezone(timezone.utc)
    if as_utc.astimezone(zone).replace(tzinfo=None) != naive:
        raise BadTime(value)    # a wall-clock time that does not exist (skipped by daylight saving)
    if not m.group(1) and as_utc < now - timedelta(days=1):
        as_utc = local.replace(year=year + 1).astimezone(timezone.utc)   # "01-05" typed in December
    return as_utc


def local_text(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%Y-%m-%d %H:%M} ({tz})"
