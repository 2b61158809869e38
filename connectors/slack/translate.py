"""Core actions -> Slack Web API calls, described and not made (pure; `client.SlackApi.perform` makes them).

One function per action type, dispatched through TRANSLATIONS. Errors Slack reports for a state that
already holds ("already_in_channel", "already_pinned", the target "not_in_channel" for a kick,
"message_not_found" for a delete) are listed in `Call.done`, so a retried outbox row converges
instead of failing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    HeaderBlock,
    PlainTextObject,
    RichTextBlock,
    RichTextElementParts,
    RichTextSectionElement,
    SectionBlock,
)

from connectors.base import Unsupported
from connectors.slack.mrkdwn import escape, pieces
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
from core.errors import PermanentDeliveryError

SECTION_MAX = 3000          # Block Kit: section text (and, to be safe, one rich text element)
HEADER_MAX = 150            # Block Kit: header text
BUTTON_LABEL_MAX = 75       # Block Kit: button text
BUTTONS_PER_BLOCK = 25      # Block Kit: elements in one actions block
BUTTON_STYLES = {"primary": "primary", "danger": "danger", "default": None}

KICK_DONE = frozenset({"not_in_channel"})          # conversations.kick: "User was not in the channel."
INVITE_DONE = frozenset({"already_in_channel"})
PIN_DONE = frozenset({"already_pinned"})
DELETE_DONE = frozenset({"message_not_found"})


@dataclass(frozen=True)
class Call:
    """One Web API call and how to read its answer."""
    method: str                                   # "chat.postMessage"
    args: Mapping[str, Any]
    admin: bool = False                           # with the admin user token
    done: frozenset[str] = frozenset()            # error codes that mean "already so"
    pace: str | None = None                       # limiter key taken before anything is called
    dm_user: str | None = None                    # open a DM with this user first; it becomes `channel`
    #: what the Delivery reports: "post" (ts and channel), "ephemeral" (message_ts), "state" (already?),
    #: "message" (the action's own message id)
    answer: str = "post"
    message_id: str | None = None


@dataclass(frozen=True)
class Upload:
    """A stored file posted into a channel (files_upload_v2, see files.py)."""
    chat_id: str
    sha256: str
    name: str
    caption: str = ""


def literal(text: str) -> list[Block]:
    """Core text as a reader should see it: a `rich_text` block. Its text elements are shown as typed
    (`*bold*`, `_italic_`, `~strike~`, backticks, `>` from a member's words stay characters), its user
    elements are the core's own mentions. Nothing is added to the text (no invisible joiners to copy along)."""
    elements: list[RichTextElementParts.Text | RichTextElementParts.User] = []
    for kind, value in pieces(text):
        if kind == "user":
            elements.append(RichTextElementParts.User(user_id=value))
            continue
        elements.extend(RichTextElementParts.Text(text=value[start:start + SECTION_MAX])
                        for start in range(0, len(value), SECTION_MAX))
    return [RichTextBlock(elements=[RichTextSectionElement(elements=elements)])] if elements else []


def _shown(text: str) -> dict[str, object]:
    """The message's fields: the literal blocks, and the escaped mrkdwn text for notifications."""
    blocks = literal(text)
    return {"text": escape(text), **({"blocks": blocks} if blocks else {})}


def post_message(action: PostMessage, admin: bool) -> Call:
    return _post(action.chat_id, **_shown(action.text), thread_ts=action.thread_id)


def send_private(action: SendPrivate, admin: bool) -> Call:
    # paced before conversations.open: no wasted call
    return Call("chat.postMessage", _shown(action.text), pace=f"chat.postMessage:dm:{action.user_id}",
                dm_user=action.user_id)


def send_ephemeral(action: SendEphemeral, admin: bool) -> Call:
    return Call("chat.postEphemeral", {"channel": action.chat_id, "user": action.user_id, **_shown(action.text)},
                answer="ephemeral")


def remove_member(action: RemoveMember, admin: bool) -> Call:
    # restricted_action / cant_kick_from_general / cant_kick_self fall through as PermanentDeliveryError(code).
    return Call("conversations.kick", {"channel": action.chat_id, "user": action.user_id}, done=KICK_DONE,
                answer="state")


def invite_member(action: InviteMember, admin: bool) -> Call:
    return Call("conversations.invite", {"channel": action.chat_id, "users": action.user_id}, done=INVITE_DONE,
                answer="state")


def delete_message(action: DeleteMessage, admin: bool) -> Call | Unsupported:
    if not admin:
        return Unsupported("slack: deleting other people's messages needs SLACK_ADMIN_USER_TOKEN "
                           "(a bot token may delete only the bot's own messages)")
    return Call("chat.delete", {"channel": action.chat_id, "ts": action.message_id}, admin=True, done=DELETE_DONE,
                answer="message", message_id=action.message_id)


def pin_message(action: PinMessage, admin: bool) -> Call:
    return Call("pins.add", {"channel": action.chat_id, "timestamp": action.message_id}, done=PIN_DONE,
                answer="message", message_id=action.message_id)


def post_card(action: PostCard, admin: bool) -> Call:
    if not action.chat_id and not action.user_id:
        raise PermanentDeliveryError("slack card: neither chat_id nor user_id", code="no_target")
    blocks = card_blocks(action)   # refuses what Block Kit would refuse, before any call
    fallback = escape(f"{action.title}\n{action.text}" if action.text else action.title)
    if action.chat_id:
        return _post(action.chat_id, text=fallback, blocks=blocks)
    return Call("chat.postMessage", {"text": fallback, "blocks": blocks},
                pace=f"chat.postMessage:dm:{action.user_id}", dm_user=action.user_id or "")


def post_file(action: PostFile, admin: bool) -> Upload:
    return Upload(action.chat_id, action.sha256, action.name, action.caption)


def card_blocks(card: PostCard) -> list[Block]:
    """A header (the title; a long one a plain-text section), the text as literal rich text (`literal`: a
    member's words quoted on a card are never formatted), and the buttons: action_id = action, value = value."""
    blocks: list[Block] = []
    if 0 < len(card.title) <= HEADER_MAX:
        blocks.append(HeaderBlock(text=PlainTextObject(text=card.title)))
    elif card.title:
        blocks.extend(SectionBlock(text=PlainTextObject(text=chunk)) for chunk in _chunks(card.title, SECTION_MAX))
    blocks += literal(card.text)
    buttons = []
    seen: dict[str, int] = {}
    for button in card.buttons:
        if len(button.value) > ButtonElement.value_max_length:
            raise PermanentDeliveryError("slack card: a button value is over 2000 characters",
                                         code="button_value_too_long")
        n = seen.get(button.action, 0)
        seen[button.action] = n + 1
        # Slack wants action_ids unique within a block; parse.py strips the "#n" again.
        action_id = button.action if n == 0 else f"{button.action}#{n}"
        buttons.append(ButtonElement(
            text=PlainTextObject(text=_clip(button.label, BUTTON_LABEL_MAX)),
            action_id=action_id, value=button.value, style=BUTTON_STYLES.get(button.style),
        ))
    for start in range(0, len(buttons), BUTTONS_PER_BLOCK):
        blocks.append(ActionsBlock(elements=buttons[start:start + BUTTONS_PER_BLOCK]))
    return blocks


def _post(channel: str, **args: object) -> Call:
    return Call("chat.postMessage", {"channel": channel, **{k: v for k, v in args.items() if v is not None}},
                pace=f"chat.postMessage:{channel}")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _chunks(text: str, limit: int) -> list[str]:
    """Split at line ends where possible; Slack refuses a section over the limit."""
    chunks = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
            tail = text[cut - 16:cut]   # never split an entity (&amp;) or a mention (<@U123>)
            opened = max(tail.rfind("&"), tail.rfind("<"))
            if opened >= 0 and ";" not in tail[opened:] and ">" not in tail[opened:]:
                cut -= len(tail) - opened
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


TRANSLATIONS: dict[type[Action], Callable[[Any, bool], Call | Upload | Unsupported]] = {
    PostMessage: post_message,
    SendPrivate: send_private,
    SendEphemeral: send_ephemeral,
    RemoveMember: remove_member,
    InviteMember: invite_member,
    DeleteMessage: delete_message,
    PinMessage: pin_message,
    PostCard: post_card,
    PostFile: post_file,
}


def translate(action: Action, *, admin: bool) -> Call | Upload | Unsupported:
    """`admin`: an admin user token is configured (deleting other people's messages needs it)."""
    translation = TRANSLATIONS.get(type(action))
    if translation is None:
        return Unsupported(f"slack: no translation for {type(action).__name__}")
    return translation(action, admin)
