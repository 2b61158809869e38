"""Core actions -> Slack Web API calls, one function per action type, dispatched through RENDERERS.

Errors Slack reports for a state that already holds ("already_in_channel", "already_pinned", the
target "not_in_channel" for a kick, "message_not_found" for a delete) count as done, so a retried
outbox row converges instead of failing.
"""
from __future__ import annotations

from typing import Callable

from slack_sdk.models.blocks import (ActionsBlock, Block, ButtonElement, MarkdownTextObject,
                                     PlainTextObject, SectionBlock)

from connectors.base import Delivery
from connectors.slack.client import SlackApi
from connectors.slack.mrkdwn import escape
from core.actions import (Action, DeleteMessage, InviteMember, PinMessage, PostCard, PostMessage,
                          RemoveMember, SendEphemeral, SendPrivate)
from core.errors import PermanentDeliveryError, UnsupportedAction

SECTION_MAX = 3000          # Block Kit: section text
BUTTON_LABEL_MAX = 75       # Block Kit: button text
BUTTONS_PER_BLOCK = 25      # Block Kit: elements in one actions block
BUTTON_STYLES = {"primary": "primary", "danger": "danger", "default": None}

KICK_DONE = frozenset({"not_in_channel"})          # conversations.kick: "User was not in the channel."
INVITE_DONE = frozenset({"already_in_channel"})
PIN_DONE = frozenset({"already_pinned"})
DELETE_DONE = frozenset({"message_not_found"})


def post_message(action: PostMessage, api: SlackApi) -> Delivery:
    return _post(api, action.chat_id, text=escape(action.text), thread_ts=action.thread_id)


def send_private(action: SendPrivate, api: SlackApi) -> Delivery:
    api.pace(f"chat.postMessage:dm:{action.user_id}")   # before conversations.open: no wasted call
    return _post(api, _open_dm(api, action.user_id), paced=True, text=escape(action.text))


def send_ephemeral(action: SendEphemeral, api: SlackApi) -> Delivery:
    data = api.call("chat.postEphemeral", channel=action.chat_id, user=action.user_id, text=escape(action.text))
    return Delivery(remote_id=data.get("message_ts"), detail={"channel": action.chat_id})


def remove_member(action: RemoveMember, api: SlackApi) -> Delivery:
    # restricted_action / cant_kick_from_general / cant_kick_self fall through as PermanentDeliveryError(code).
    data = api.call("conversations.kick", done=KICK_DONE, channel=action.chat_id, user=action.user_id)
    return Delivery(detail=_already(data))


def invite_member(action: InviteMember, api: SlackApi) -> Delivery:
    data = api.call("conversations.invite", done=INVITE_DONE, channel=action.chat_id, users=action.user_id)
    return Delivery(detail=_already(data))


def delete_message(action: DeleteMessage, api: SlackApi) -> Delivery:
    if api.admin is None:
        raise UnsupportedAction("slack: deleting other people's messages needs SLACK_ADMIN_USER_TOKEN "
                                "(a bot token may delete only the bot's own messages)")
    data = api.call("chat.delete", admin=True, done=DELETE_DONE, channel=action.chat_id, ts=action.message_id)
    return Delivery(remote_id=action.message_id, detail=_already(data))


def pin_message(action: PinMessage, api: SlackApi) -> Delivery:
    data = api.call("pins.add", done=PIN_DONE, channel=action.chat_id, timestamp=action.message_id)
    return Delivery(remote_id=action.message_id, detail=_already(data))


def post_card(action: PostCard, api: SlackApi) -> Delivery:
    if not action.chat_id and not action.user_id:
        raise PermanentDeliveryError("slack card: neither chat_id nor user_id", code="no_target")
    blocks = card_blocks(action)   # refuses what Block Kit would refuse, before any call
    fallback = escape(f"{action.title}\n{action.text}" if action.text else action.title)
    if action.chat_id:
        return _post(api, action.chat_id, text=fallback, blocks=blocks)
    api.pace(f"chat.postMessage:dm:{action.user_id}")
    return _post(api, _open_dm(api, action.user_id or ""), paced=True, text=fallback, blocks=blocks)


def card_blocks(card: PostCard) -> list[Block]:
    """A section (title in bold, then the text) and the buttons: action_id = action, value = value."""
    body = f"*{escape(card.title)}*" + (f"\n{escape(card.text)}" if card.text else "")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=chunk))
                           for chunk in _chunks(body, SECTION_MAX)]
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


def _post(api: SlackApi, channel: str, *, paced: bool = False, **args: object) -> Delivery:
    if not paced:
        api.pace(f"chat.postMessage:{channel}")
    data = api.call("chat.postMessage", channel=channel, **{k: v for k, v in args.items() if v is not None})
    return Delivery(remote_id=data.get("ts"), detail={"channel": data.get("channel") or channel})


def _open_dm(api: SlackApi, user_id: str) -> str:
    data = api.call("conversations.open", users=user_id)
    channel = data.get("channel") if isinstance(data.get("channel"), dict) else {}
    if not isinstance(channel.get("id"), str):
        raise PermanentDeliveryError("slack conversations.open: no channel in the answer", code="no_channel")
    return channel["id"]


def _already(data: dict) -> dict:
    return {"already": data["already"]} if "already" in data else {}


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


RENDERERS: dict[type[Action], Callable[[Action, SlackApi], Delivery]] = {
    PostMessage: post_message,
    SendPrivate: send_private,
    SendEphemeral: send_ephemeral,
    RemoveMember: remove_member,
    InviteMember: invite_member,
    DeleteMessage: delete_message,
    PinMessage: pin_message,
    PostCard: post_card,
}
