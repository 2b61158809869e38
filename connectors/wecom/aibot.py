"""Decrypted WeCom AI bot (智能机器人, API mode) callbacks -> core events, through explicit tables.

The plaintext is JSON (doc 100719 messages, doc 101027 events): `msgid`, `aibotid`, `chatid` (groups
only), `chattype` (single | group), `from.userid`, `response_url` (one POST within an hour, doc 101138),
`msgtype` and its body.

- `text`, `mixed` (text and pictures), and in a 1:1 chat `voice` (WeCom's transcript), `image` and
  `file` -> MessagePosted(addressed=True): in a group only @-mentions of the bot arrive at all.
  event_id and message_id "aibot:<msgid>" (the doc: callbacks may repeat, de-duplicate on msgid).
  chat_id: the group's chatid (or the governed group it is mapped to, `aibot_chat_id` in steward.yaml);
  a 1:1 chat is "dm:<userid>", like the app's. The bot's own @name is stripped; other `@userid` tokens
  become `<@userid>` (the callback carries no mention list, only the text as typed).
- event `template_card_event` -> CardActed (event_key "<action>|<value>", as translate.py writes keys).
- event `enter_chat`, event `feedback_event` and `stream` refreshes are listed as ignored: Steward sends
  no welcome, no feedback ids and no streams, and the doc allows an empty answer to each.
- anything else is logged (ids only) and answered 200 with nothing to do.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping

from connectors.wecom.parse import PLATFORM, Parsed, dm_chat_id
from connectors.wecom.translate import decode_button_key
from core.errors import BadRequest
from core.events import CardActed, MessagePosted

log = logging.getLogger(__name__)

EVENT_PREFIX = "aibot:"
CHAT_TYPES = {"single": True, "group": False}               # chattype -> is_direct
# A WeCom userid: letters, digits and _-@. (up to 64). `@` followed by one is read as a mention of it;
# display names (what the client inserts when a member picks someone) stay as typed.
MENTION = re.compile(r"(?<![\w.@-])@([A-Za-z0-9_.\-]{1,64})(?=\s|$)")
LEADING_MENTION = re.compile(r"^\s*@\S+")


@dataclass
class AibotMessage:
    """What the connector needs besides the events: where to answer this callback once."""
    parsed: Parsed = field(default_factory=Parsed)
    event_id: str | None = None
    response_url: str | None = None


def loads(plaintext: str) -> dict:
    try:
        payload = json.loads(plaintext)
    except ValueError:
        raise BadRequest("WeCom AI bot payload is not JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("WeCom AI bot payload is not a JSON object")
    return payload


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _content(body: object) -> str:
    return _str(body.get("content")) if isinstance(body, dict) else ""


def _mixed(payload: dict) -> str:
    items = (payload.get("mixed") or {}).get("msg_item") if isinstance(payload.get("mixed"), dict) else None
    if not isinstance(items, list):
        return ""
    return "\n".join(_content(i.get("text")) for i in items
                     if isinstance(i, dict) and i.get("msgtype") == "text" and _content(i.get("text")))


# msgtype -> (core kind, how to get its text). R4.1.1: every kind reaches the archive.
MESSAGE_KINDS: dict[str, tuple[str, Callable[[dict], str]]] = {
    "text": ("text", lambda p: _content(p.get("text"))),
    "mixed": ("text", _mixed),
    "voice": ("voice", lambda p: _content(p.get("voice"))),   # 1:1 only; WeCom's transcript
    "image": ("image", lambda p: ""),                          # 1:1 only; the picture is not fetched
    "file": ("file", lambda p: ""),                            # 1:1 only; the file is not fetched
}
IGNORED_MESSAGE_TYPES = frozenset({"stream"})                  # refreshes of a stream Steward never starts
IGNORED_EVENTS = frozenset({"enter_chat", "feedback_event"})


def rewrite_mentions(text: str, bot_name: str | None, is_direct: bool) -> tuple[str, tuple[str, ...]]:
    """Strip the bot's own @name; `@userid` -> `<@userid>`. Without a configured name, a group message's
    leading @-token is the bot's (WeCom calls the bot only when it is @-mentioned)."""
    if bot_name:
        text = re.sub(rf"@{re.escape(bot_name)}(?=\s|$)", " ", text)
    elif not is_direct:
        text = LEADING_MENTION.sub(" ", text, count=1)
    mentions = tuple(dict.fromkeys(MENTION.findall(text)))
    return MENTION.sub(lambda m: f"<@{m.group(1)}>", text).strip(), mentions


def _ids(payload: dict) -> tuple[str, str, bool]:
    msg_id, user_id = _str(payload.get("msgid")), _str((payload.get("from") or {}).get("userid")
                                                          if isinstance(payload.get("from"), dict) else None)
    chat_type = _str(payload.get("chattype"))
    if not msg_id or not user_id:
        raise BadRequest("WeCom AI bot payload lacks msgid or from.userid")
    if chat_type not in CHAT_TYPES and payload.get("msgtype") != "event":
        raise BadRequest("WeCom AI bot payload has no chattype single or group")
    return msg_id, user_id, CHAT_TYPES.get(chat_type, not payload.get("chatid"))


def _chat_id(payload: dict, user_id: str, is_direct: bool, aliases: Mapping[str, str]) -> str:
    if is_direct:
        return dm_chat_id(user_id)
    chat_id = _str(payload.get("chatid"))
    if not chat_id:
        raise BadRequest("WeCom AI bot group payload lacks chatid")
    if chat_id not in aliases and chat_id not in aliases.values():
        log.info("wecom aibot: chatid %s has no aibot_chat_id entry; read as a chat_id", chat_id)
    return aliases.get(chat_id, chat_id)


def _sent_at(payload: dict) -> datetime | None:
    created = payload.get("create_time")
    return datetime.fromtimestamp(created, tz=timezone.utc) if isinstance(created, int) else None


def _message(payload: dict, msg_type: str, bot_name: str | None, aliases: Mapping[str, str]) -> Parsed:
    msg_id, user_id, is_direct = _ids(payload)
    kind, body = MESSAGE_KINDS[msg_type]
    text, mentions = rewrite_mentions(body(payload), bot_name, is_direct)
    event_id = EVENT_PREFIX + msg_id
    return Parsed([MessagePosted(
        platform=PLATFORM, event_id=event_id, chat_id=_chat_id(payload, user_id, is_direct, aliases),
        user_id=user_id, message_id=event_id, text=text, kind=kind, mentions=mentions,
        addressed=True, is_direct=is_direct, sent_at=_sent_at(payload),
    )])


def _card_acted(payload: dict, event: dict, aliases: Mapping[str, str]) -> Parsed:
    msg_id, user_id, is_direct = _ids(payload)
    card = event.get("template_card_event")
    key = _str(card.get("event_key") or card.get("eventkey")) if isinstance(card, dict) else ""
    if not key:
        raise BadRequest("WeCom AI bot template_card_event lacks event_key")
    action, value = decode_button_key(key)
    chat_id = None if is_direct or not payload.get("chatid") else _chat_id(payload, user_id, False, aliases)
    return Parsed([CardActed(platform=PLATFORM, event_id=EVENT_PREFIX + msg_id, user_id=user_id,
                             action=action, value=value, chat_id=chat_id)])


def parse_aibot(plaintext: str, bot_name: str | None, aliases: Mapping[str, str]) -> AibotMessage:
    """A decrypted /wecom/aibot payload."""
    payload = loads(plaintext)
    msg_type = _str(payload.get("msgtype"))
    msg_id = _str(payload.get("msgid"))
    url = _str(payload.get("response_url")) or None
    if msg_type == "event":
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        name = _str(event.get("eventtype"))
        if name == "template_card_event":
            return AibotMessage(_card_acted(payload, event, aliases))
        if name in IGNORED_EVENTS:
            return AibotMessage(Parsed(ignored=f"aibot:event:{name}"))
        log.info("wecom aibot: unknown event %s, msgid %s", name[:40], msg_id[:64])
        return AibotMessage(Parsed(ignored=f"unknown:aibot:event:{name[:40]}"))
    if msg_type in MESSAGE_KINDS:
        parsed = _message(payload, msg_type, bot_name, aliases)
        return AibotMessage(parsed, parsed.events[0].event_id, url)
    if msg_type in IGNORED_MESSAGE_TYPES:
        return AibotMessage(Parsed(ignored=f"aibot:msgtype:{msg_type}"))
    log.info("wecom aibot: unknown message type %s, msgid %s", msg_type[:40], msg_id[:64])
    return AibotMessage(Parsed(ignored=f"unknown:aibot:msgtype:{msg_type[:40]}"))
