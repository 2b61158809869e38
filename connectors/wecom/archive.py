"""会话内容存档 (the paid message archive): decrypted records -> MessagePosted events.

WeCom's archive SDK (GetChatData + DecryptData) yields one JSON object per message, e.g.
`{"msgid": "...", "action": "send", "from": "zhangsan", "tolist": ["lisi"], "roomid": "wr...",
"msgtime": 1547087894783, "msgtype": "text", "text": {"content": "..."}}`. Steward reads those
records (JSON lines) so the group conversation it cannot see through the app callback is
moderated too (`steward wecom ingest-archive FILE|-` feeds this module).

- Only group messages (`roomid` set) with `action` "send" become events; 1:1 chats between
  members, recalls and `switch` records are skipped.
- event_id is `archive:<msgid>`: re-ingesting the same file has no second effect.
- Names in `@mentions` are display names in the archive, not user ids, so `mentions` stays empty.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Collection, Iterable, Iterator

from core.events import MessagePosted

PLATFORM = "wecom"


class ArchiveError(ValueError):
    def __init__(self, line_no: int, reason: str) -> None:
        super().__init__(f"archive line {line_no}: {reason}")
        self.line_no = line_no
        self.reason = reason


@dataclass(frozen=True)
class ArchiveProblem:
    line_no: int
    reason: str


def _get(record: dict, *path: str) -> str:
    value: object = record
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def _joined(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


# msgtype -> (core kind, text). R4.1.1: every type is carried into the archive.
ARCHIVE_TYPES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "text": ("text", lambda r: _get(r, "text", "content")),
    "markdown": ("text", lambda r: _get(r, "info", "content") or _get(r, "markdown", "content")),
    "image": ("image", lambda r: ""),
    "emotion": ("image", lambda r: ""),
    "voice": ("voice", lambda r: ""),
    "video": ("video", lambda r: ""),
    "file": ("file", lambda r: _get(r, "file", "filename")),
    "link": ("link", lambda r: _joined(_get(r, "link", "title"), _get(r, "link", "description"),
                                       _get(r, "link", "link_url"))),
    "location": ("other", lambda r: _joined(_get(r, "location", "title"), _get(r, "location", "address"))),
}
SKIPPED_ACTIONS = frozenset({"recall", "switch"})


def _event(record: dict) -> MessagePosted | None:
    action = record.get("action")
    if action in SKIPPED_ACTIONS:
        return None
    if action != "send":
        raise ValueError(f"unknown action {action!r}")
    msg_id, sender, room = record.get("msgid"), record.get("from"), record.get("roomid") or ""
    if not isinstance(msg_id, str) or not msg_id or not isinstance(sender, str) or not sender:
        raise ValueError("record lacks msgid or from")
    if not room:
        return None                               # a 1:1 chat between members: not a training group
    msgtime = record.get("msgtime")
    if not isinstance(msgtime, int):
        raise ValueError("msgtime is not a number of milliseconds")
    kind, body = ARCHIVE_TYPES.get(str(record.get("msgtype")), ("other", lambda r: ""))
    return MessagePosted(
        platform=PLATFORM, event_id=f"archive:{msg_id}", chat_id=room, user_id=sender, message_id=msg_id,
        text=body(record), kind=kind, sent_at=datetime.fromtimestamp(msgtime / 1000, tz=timezone.utc),
    )


def archive_events(lines: Iterable[str | bytes], *, skip_senders: Collection[str] = (),
                   problems: list[ArchiveProblem] | None = None) -> Iterator[MessagePosted]:
    """MessagePosted for each group message in decrypted archive JSON lines.

    `skip_senders`: ids whose messages are not moderated (e.g. Steward's own app). A bad line raises
    ArchiveError, unless `problems` is given: then it is recorded there and skipped.
    """
    for line_no, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            event = _event(record)
        except (ValueError, UnicodeDecodeError) as exc:
            reason = "malformed JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            if problems is None:
                raise ArchiveError(line_no, reason) from None
            problems.append(ArchiveProblem(line_no, reason))
            continue
        if event is not None and event.user_id not in skip_senders:
            yield event
