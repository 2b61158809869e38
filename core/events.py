"""Platform-neutral inbound events: facts a connector parsed from a verified request.

Mentions inside `text` are always written `<@USER_ID>` (the connector rewrites its own markup),
so the core parses one form. `event_id` is the platform's delivery id used for de-duplication.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Event:
    platform: str
    event_id: str


@dataclass(frozen=True)
class FileRef:
    """A file attached to a message, as the platform names it; the bytes are fetched later (R5.2.1, R3.1.3).

    `handle` is what the platform's download API takes: a Slack file id, a WeCom `MediaId`, a DingTalk
    `downloadCode`. `size` and `mime` are what the platform claims, when it says."""
    handle: str
    name: str
    size: int | None = None
    mime: str | None = None


@dataclass(frozen=True)
class MessagePosted(Event):
    chat_id: str
    user_id: str
    message_id: str
    text: str = ""
    kind: str = "text"                       # text | image | file | voice | video | link | other (R4.1.1)
    mentions: tuple[str, ...] = ()
    addressed: bool = False                  # the bot was @-mentioned, or it is a 1:1 chat
    is_direct: bool = False                  # a 1:1 chat with the bot
    thread_id: str | None = None
    sent_at: datetime | None = None
    edited: bool = False
    display_name: str | None = None
    files: tuple[FileRef, ...] = ()          # attachments Steward may fetch (1:1 chats, shares)


@dataclass(frozen=True)
class CommandInvoked(Event):
    """An explicit command (Slack slash command). `chat_id` is None when run outside a group."""
    user_id: str
    text: str
    chat_id: str | None = None
    is_direct: bool = False
    display_name: str | None = None


@dataclass(frozen=True)
class CardActed(Event):
    """A member pressed a button on a card Steward posted (`action` and `value` are ours)."""
    user_id: str
    action: str
    value: str
    chat_id: str | None = None


@dataclass(frozen=True)
class MemberJoined(Event):
    chat_id: str
    user_id: str
    inviter_id: str | None = None


@dataclass(frozen=True)
class MemberLeft(Event):
    chat_id: str
    user_id: str
    removed_by: str | None = None


@dataclass(frozen=True)
class UserDeparted(Event):
    """The person left the organisation (R2.4.1): Slack user deleted, WeCom delete_user, DingTalk user_leave_org."""
    user_id: str


@dataclass(frozen=True)
class UserChanged(Event):
    """A directory change of department or position (R2.4.1)."""
    user_id: str
    changes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UserJoinedOrg(Event):
    """A person joined the organisation's directory (WeCom change_contact create_user, DingTalk
    user_add_org, Slack team_join): the onboarding rules may put them into a new-hire group (R2.1.2).

    `departments` are what the platform sent (WeCom: department ids; DingTalk sends none); names
    come from the directory when the connector has one."""
    user_id: str
    name: str | None = None
    departments: tuple[str, ...] = ()
    position: str | None = None
    email: str | None = None
    mobile: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in (
    MessagePosted, CommandInvoked, CardActed, MemberJoined, MemberLeft, UserDeparted, UserChanged,
    UserJoinedOrg)}


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready form (the spool writes it; `event_from_dict` reads it back equal). Shallow on purpose:
    it runs on every request the spool answers, and `dataclasses.asdict` deep-copies."""
    data: dict[str, Any] = {"type": type(event).__name__}
    for name in _field_names(type(event)):
        value = getattr(event, name)
        if isinstance(value, datetime):
            value = {"at": value.isoformat()}
        elif name == "files":
            value = [asdict(ref) for ref in value]
        data[name] = value
    return data


@lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def event_from_dict(data: dict[str, Any]) -> Event:
    """Raises KeyError or TypeError for a record that is no event of this version."""
    data = dict(data)
    cls = EVENT_TYPES[data.pop("type")]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, dict) and set(value) == {"at"}:
            value = datetime.fromisoformat(value["at"])
        elif isinstance(value, list):
            value = tuple(FileRef(**v) if f.name == "files" else v for v in value)
        values[f.name] = value
    return cls(**values)
