"""Core actions -> transcript entries (pure): what the sandbox will show, or Unsupported when the
capabilities it declares (its own, or the emulated messenger's) lack what the action needs."""
from __future__ import annotations

from dataclasses import dataclass, field

from connectors.base import Unsupported, required_capabilities
from core.actions import (
    Action,
    DeleteMessage,
    InviteMember,
    PinMessage,
    PostCard,
    PostFile,
    PostMessage,
    RemoveMember,
    SendEphemeral,
    SendPrivate,
)
from core.capabilities import Capabilities

REASONS = {
    "ephemeral": "no ephemeral messages here",
    "delete_others_messages": "cannot delete other people's messages here",
    "pin": "no pins here",
    "cards": "no cards here",
    "group_buttons": "no buttons on cards in groups here; send the card privately",
    "private_messages": "no private messages here",
    "remove_member": "cannot remove members here",
    "invite_member": "cannot add members here",
}


@dataclass(frozen=True)
class Line:
    """A line for the transcript (`kind` as in client.Entry)."""
    kind: str
    text: str = ""
    chat_id: str | None = None
    to_user: str | None = None
    buttons: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)   # (label, action, value)
    file_sha256: str | None = None       # a PostFile: the stored bytes to show
    file_name: str = ""


def translate(action: Action, caps: Capabilities) -> Line | Unsupported:
    for flag in required_capabilities(action):
        if not getattr(caps, flag):
            return Unsupported(REASONS.get(flag, f"no {flag} here"))
    if isinstance(action, PostMessage):
        return Line("message", action.text, chat_id=action.chat_id)
    if isinstance(action, SendPrivate):
        return Line("private", action.text, to_user=action.user_id)
    if isinstance(action, SendEphemeral):
        return Line("ephemeral", action.text, chat_id=action.chat_id, to_user=action.user_id)
    if isinstance(action, RemoveMember):
        return Line("removed", action.user_id, chat_id=action.chat_id, to_user=action.user_id)
    if isinstance(action, InviteMember):
        return Line("invited", action.user_id, chat_id=action.chat_id, to_user=action.user_id)
    if isinstance(action, DeleteMessage):
        return Line("deleted", action.message_id, chat_id=action.chat_id)
    if isinstance(action, PinMessage):
        return Line("pinned", action.message_id, chat_id=action.chat_id)
    if isinstance(action, PostCard):
        return Line("card", f"{action.title}\n{action.text}", chat_id=action.chat_id, to_user=action.user_id,
                     buttons=tuple((b.label, b.action, b.value) for b in action.buttons))
    if isinstance(action, PostFile):
        return Line("file", action.caption, chat_id=action.chat_id, file_sha256=action.sha256,
                     file_name=action.name)
    return Unsupported(f"unknown action {action.kind}")
