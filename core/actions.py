"""Platform-neutral outbound actions, stored as outbox rows and delivered by a connector.

Text is already rendered in the group's locale when an action is created. Every action
serialises to a JSON-safe dict (`to_dict`) and back (`action_from_dict`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class Action:
    kind: ClassVar[str] = ""
    platform: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.kind
        return data


@dataclass(frozen=True)
class PostMessage(Action):
    kind: ClassVar[str] = "post"
    chat_id: str
    text: str
    thread_id: str | None = None
    # The event id of the message this answers: a connector may answer through the platform's own
    # reply channel for it (WeCom's AI bot response_url), and falls back to an ordinary post.
    reply_to: str | None = None


@dataclass(frozen=True)
class SendPrivate(Action):
    kind: ClassVar[str] = "private"
    user_id: str
    text: str


@dataclass(frozen=True)
class SendEphemeral(Action):
    kind: ClassVar[str] = "ephemeral"
    chat_id: str
    user_id: str
    text: str


@dataclass(frozen=True)
class RemoveMember(Action):
    kind: ClassVar[str] = "remove"
    chat_id: str
    user_id: str


@dataclass(frozen=True)
class InviteMember(Action):
    kind: ClassVar[str] = "invite"
    chat_id: str
    user_id: str


@dataclass(frozen=True)
class DeleteMessage(Action):
    kind: ClassVar[str] = "delete"
    chat_id: str
    message_id: str


@dataclass(frozen=True)
class PinMessage(Action):
    kind: ClassVar[str] = "pin"
    chat_id: str
    message_id: str


@dataclass(frozen=True)
class Button:
    label: str
    action: str          # e.g. "case.approve"
    value: str           # e.g. the case number
    style: str = "default"   # default | primary | danger


@dataclass(frozen=True)
class PostCard(Action):
    """An interactive card, in a group (`chat_id`) or privately (`user_id`)."""
    kind: ClassVar[str] = "card"
    title: str
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    chat_id: str | None = None
    user_id: str | None = None


def private_card(platform: str, user_id: str, title: str, text: str, buttons, *, cards: bool,
                 typed: str = "") -> Action:
    """A decision asked of one person: a private card with `buttons` where the platform has cards, else the
    same words and `typed`, the commands that do what the buttons do."""
    if cards:
        return PostCard(platform, title, text, tuple(buttons), user_id=user_id)
    return SendPrivate(platform, user_id, "\n".join(part for part in (title, text, typed) if part))


@dataclass(frozen=True)
class PostFile(Action):
    """A stored file posted into a group with a caption (R3.1.3: an approved material, with attribution).

    The bytes are read from the file store by `sha256` at delivery time (WeCom's media ids last 3 days)."""
    kind: ClassVar[str] = "file"
    chat_id: str
    sha256: str
    name: str
    caption: str = ""


ACTION_TYPES: dict[str, type[Action]] = {
    cls.kind: cls
    for cls in (PostMessage, SendPrivate, SendEphemeral, RemoveMember, InviteMember,
                DeleteMessage, PinMessage, PostCard, PostFile)
}


def action_from_dict(data: dict[str, Any]) -> Action:
    data = dict(data)
    cls = ACTION_TYPES[data.pop("type")]
    if cls is PostCard:
        data["buttons"] = tuple(Button(**b) for b in data.get("buttons", ()))
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
