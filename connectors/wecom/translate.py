"""Core actions -> WeCom API calls, described and not made (pure functions, no I/O); connector.py makes
them through client.py.

- PostMessage -> appchat/send text (a `dm:<userid>` chat: message/send; an answer to an AI bot
  @-mention first tries the bot's response_url, see connector.py);
- SendPrivate -> message/send text; RemoveMember / InviteMember -> appchat/update;
- PostCard -> privately a message/send template_card; in a group only without buttons (markdown);
- PostFile -> media/upload, then appchat/send (caption, file);
- SendEphemeral, DeleteMessage, PinMessage -> Unsupported (the capability row says why).

Cards: `message/send` `template_card` of `card_type` `button_interaction`. Each button's
`key` is `"<action>|<value>"`, which WeCom echoes back as `EventKey` in the
`template_card_event`, so a click parses into CardActed(action, value).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from connectors.base import Unsupported
from connectors.markup import inert_markdown, inert_text, plain_mentions
from core.actions import (
    Action,
    Button,
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

TEXT_LIMIT_BYTES = 2048          # text/markdown content limit of message/send and appchat/send
KEY_SEPARATOR = "|"
KEY_LIMIT_BYTES = 1024           # button_list[].key
MAX_BUTTONS = 6                  # button_list length
# button_list[].style is 1..4 [U: colours not stated in the docs mirror; 1 is WeCom's default]
BUTTON_STYLES = {"primary": 1, "default": 2, "danger": 3}
DM_PREFIX = "dm:"                # Steward's chat id for a member's 1:1 chat with the app
AIBOT_MARKDOWN_LIMIT = 20480     # the AI bot's response_url markdown content


class TranslationError(ValueError):
    """The action cannot be expressed on WeCom as given (a permanent refusal, never retried)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def clip(text: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """Cut `text` to `limit` UTF-8 bytes on a character boundary, marking the cut with '…'."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", "ignore") + "…"


def encode_button_key(action: str, value: str) -> str:
    if KEY_SEPARATOR in action:
        raise TranslationError(f"card action {action!r} must not contain {KEY_SEPARATOR!r}", "card_action_name")
    key = f"{action}{KEY_SEPARATOR}{value}"
    if len(key.encode("utf-8")) > KEY_LIMIT_BYTES:
        raise TranslationError("card button action+value exceed WeCom's 1024-byte key", "card_key_too_long")
    return key


def decode_button_key(key: str) -> tuple[str, str]:
    """(action, value) from an EventKey; a key without the separator is an action with no value."""
    action, _, value = key.partition(KEY_SEPARATOR)
    return action, value


def task_id(idempotency_key: str) -> str:
    """A card's task_id ([0-9a-zA-Z_-@], <= 128 bytes, unique per app) derived from the delivery key.

    A retried delivery reuses the same task_id, which WeCom refuses to show twice.
    """
    return "stw_" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:48]


def text_message(text: str) -> dict:
    return {"msgtype": "text", "text": {"content": clip(plain_text(text))}, "safe": 0}


def plain_text(text: str) -> str:
    """Text messages render `<a href>`: member text quoted in them must not become a link (markup.py)."""
    return inert_text(plain_mentions(text))


def markdown_content(title: str, text: str) -> str:
    """Markdown with Steward's bold title; the words themselves inert (no link, <font>, <@mention>)."""
    title, text = inert_markdown(plain_mentions(title)), inert_markdown(plain_mentions(text))
    return clip(f"**{title}**\n{text}" if title else text)


def _button(button: Button) -> dict:
    return {
        "text": button.label,
        "style": BUTTON_STYLES.get(button.style, 1),
        "key": encode_button_key(button.action, button.value),
    }


def card_message(card: PostCard, idempotency_key: str) -> dict:
    """A private button_interaction card; a card without buttons is sent as markdown."""
    if not card.buttons:
        return {"msgtype": "markdown", "markdown": {"content": markdown_content(card.title, card.text)}}
    if len(card.buttons) > MAX_BUTTONS:
        raise TranslationError(f"WeCom cards carry at most {MAX_BUTTONS} buttons", "too_many_buttons")
    return {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": plain_text(card.title)},
            "sub_title_text": plain_text(card.text),
            "task_id": task_id(idempotency_key),
            "button_list": [_button(b) for b in card.buttons],
        },
    }


def duplicate_check(interval_seconds: int) -> dict:
    """message/send's own de-duplication: the same request JSON within the interval is delivered once."""
    return {"enable_duplicate_check": 1, "duplicate_check_interval": interval_seconds}


@dataclass(frozen=True)
class MessageSend:
    """message/send to one member (with WeCom's duplicate check)."""
    user_id: str
    msg: Mapping[str, Any]


@dataclass(frozen=True)
class AppchatSend:
    """appchat/send into a group the app created; `reply_to`: first try the AI bot's response_url for
    that event with `reply_markdown`."""
    chat_id: str
    msgtype: str
    content: Mapping[str, str]
    reply_to: str | None = None
    reply_markdown: str | None = None


@dataclass(frozen=True)
class AppchatUpdate:
    chat_id: str
    add_user_list: tuple[str, ...] = ()
    del_user_list: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSend:
    """media/upload of the stored file, then the caption (if any) and the file by appchat/send."""
    chat_id: str
    sha256: str
    name: str
    caption: str = ""


UNSUPPORTED: dict[type[Action], str] = {
    SendEphemeral: "wecom has no ephemeral messages in group chats",
    DeleteMessage: "wecom cannot delete members' messages (message/recall only recalls the app's own)",
    PinMessage: "wecom has no pin or group-announcement API for app groups",
}

Translation = MessageSend | AppchatSend | AppchatUpdate | FileSend | Unsupported


def translate(action: Action, idempotency_key: str = "") -> Translation:
    """Raises TranslationError for what WeCom would refuse as given (too many buttons, long keys)."""
    if type(action) in UNSUPPORTED:
        return Unsupported(UNSUPPORTED[type(action)])
    if isinstance(action, PostMessage):
        if action.chat_id.startswith(DM_PREFIX):          # a member's 1:1 chat with the app
            return MessageSend(action.chat_id[len(DM_PREFIX):], text_message(action.text))
        return AppchatSend(action.chat_id, "text", {"content": clip(plain_text(action.text))},
                           reply_to=action.reply_to,
                           reply_markdown=clip(inert_markdown(plain_mentions(action.text)), AIBOT_MARKDOWN_LIMIT)
                           if action.reply_to else None)
    if isinstance(action, SendPrivate):
        return MessageSend(action.user_id, text_message(action.text))
    if isinstance(action, RemoveMember):
        return AppchatUpdate(action.chat_id, del_user_list=(action.user_id,))
    if isinstance(action, InviteMember):
        return AppchatUpdate(action.chat_id, add_user_list=(action.user_id,))
    if isinstance(action, PostCard):
        if action.user_id:
            return MessageSend(action.user_id, card_message(action, idempotency_key))
        if action.chat_id and not action.buttons:
            return AppchatSend(action.chat_id, "markdown", {"content": markdown_content(action.title, action.text)})
        return Unsupported("wecom group chats (appchat/send) cannot carry buttons; "
                           "send the card privately (PostCard.user_id)")
    if isinstance(action, PostFile):
        return FileSend(action.chat_id, action.sha256, action.name, action.caption)
    return Unsupported(f"wecom cannot {action.kind}")
