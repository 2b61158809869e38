"""DingTalk payloads -> core events, through explicit tables.

Both transports feed these functions: the HTTP callbacks (after verify/decrypt) and Stream mode
(`stream.py`), whose frames carry the same JSON.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from connectors.dingtalk import cards
from core.events import (
    CardActed,
    Event,
    FileRef,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    UserChanged,
    UserDeparted,
    UserJoinedOrg,
)

PLATFORM = "dingtalk"
log = logging.getLogger(__name__)


@dataclass
class Parsed:
    events: list[Event] = field(default_factory=list)
    ignored: str | None = None


# --- robot messages (POST /dingtalk/robot, Stream topic /v1.0/im/bot/messages/get) ---------------

CONVERSATION_TYPES = {"1": True, "2": False}          # conversationType -> is_direct


def _text_of(payload: dict) -> str:
    text = payload.get("text")
    if isinstance(text, dict) and isinstance(text.get("content"), str):
        return text["content"]
    content = payload.get("content")          # the dingstart HTTP sample puts it at the top level
    if isinstance(content, str):
        return content
    if isinstance(content, dict) and isinstance(content.get("content"), str):
        return content["content"]
    return ""


def _content(payload: dict) -> dict:
    content = payload.get("content")
    return content if isinstance(content, dict) else {}


def _rich_text(payload: dict) -> str:
    parts = _content(payload).get("richText")
    if not isinstance(parts, list):
        return ""
    return "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


# msgtype -> (core kind, how to get its text). Anything else is answered 200 and ignored.
MESSAGE_KINDS: dict[str, tuple[str, Callable[[dict], str]]] = {
    "text": ("text", _text_of),
    "richText": ("text", _rich_text),
    "picture": ("image", lambda p: ""),
    "file": ("file", lambda p: str(_content(p).get("fileName") or "")),
    "audio": ("voice", lambda p: str(_content(p).get("recognition") or "")),   # DingTalk's transcript
    "video": ("video", lambda p: ""),
}

def _files(payload: dict, kind: str, msg_id: str) -> tuple[FileRef, ...]:
    """1:1 file and picture messages carry a downloadCode for messageFiles/download (doc 0719)."""
    content = _content(payload)
    code = content.get("downloadCode") or content.get("pictureDownloadCode")
    if kind not in ("file", "image") or not isinstance(code, str) or not code:
        return ()
    if kind == "image":
        return (FileRef(handle=code, name=f"picture-{msg_id[:24].strip('=')}.jpg", mime="image/jpeg"),)
    name = content.get("fileName")
    return (FileRef(handle=code, name=name if isinstance(name, str) and name else f"file-{msg_id[:24]}"),)


_AT_TOKEN = re.compile(r"@[^\s@]+")


def _mentions(payload: dict) -> tuple[str, ...]:
    bot = payload.get("chatbotUserId")
    staff_ids: list[str] = []
    for user in payload.get("atUsers") or []:
        if not isinstance(user, dict) or (bot and user.get("dingtalkId") == bot):
            continue
        staff_id = user.get("staffId")
        if isinstance(staff_id, str) and staff_id and staff_id not in staff_ids:
            staff_ids.append(staff_id)
    return tuple(staff_ids)


def _rewrite_mentions(text: str, mentions: tuple[str, ...]) -> str:
    """`@nick` -> `<@staffId>`. DingTalk removes the robot's own @ from the content and lists the
    other mentions in atUsers without their names, so the i-th `@token` is matched to the i-th
    listed user only when the counts agree; otherwise the text is left as sent (the ids are still
    in `mentions`)."""
    tokens = _AT_TOKEN.findall(text)
    if not mentions or len(tokens) != len(mentions):
        return text
    pieces = iter(f"<@{m}>" for m in mentions)
    return _AT_TOKEN.sub(lambda _m: next(pieces), text)


def _sent_at(payload: dict) -> datetime | None:
    created = payload.get("createAt")
    if isinstance(created, (int, float)) and created > 0:
        return datetime.fromtimestamp(created / 1000, timezone.utc)
    return None


def parse_robot_message(payload: Any) -> Parsed:
    if not isinstance(payload, dict):
        return Parsed(ignored="not a message object")
    msg_id = payload.get("msgId")
    if not isinstance(msg_id, str) or not msg_id:
        return Parsed(ignored="message without msgId")
    if payload.get("senderId") and payload.get("senderId") == payload.get("chatbotUserId"):
        return Parsed(ignored="the robot's own message")
    msgtype = payload.get("msgtype")
    if msgtype not in MESSAGE_KINDS:
        log.info("dingtalk robot: unknown msgtype %.64r in %s", msgtype, msg_id)
        return Parsed(ignored=f"unknown msgtype {str(msgtype)[:40]!r}")
    is_direct = CONVERSATION_TYPES.get(str(payload.get("conversationType")))
    if is_direct is None:
        log.info("dingtalk robot: unknown conversationType in %s", msg_id)
        return Parsed(ignored="unknown conversationType")
    user_id, chat_id = payload.get("senderStaffId"), payload.get("conversationId")
    if not user_id or not chat_id:
        # senderStaffId is filled only once the robot is published, and never for outsiders.
        log.info("dingtalk robot: %s has no senderStaffId or conversationId", msg_id)
        return Parsed(ignored="sender without staffId")
    kind, text_of = MESSAGE_KINDS[msgtype]
    text = text_of(payload).strip()
    click = cards.read_click(text) if kind == "text" else None
    if click:
        return Parsed(events=[CardActed(platform=PLATFORM, event_id=msg_id, user_id=user_id,
                                        action=click[0], value=click[1],
                                        chat_id=None if is_direct else chat_id)])
    mentions = _mentions(payload)
    return Parsed(events=[MessagePosted(
        platform=PLATFORM, event_id=msg_id, chat_id=chat_id, user_id=user_id, message_id=msg_id,
        text=_rewrite_mentions(text, mentions), kind=kind, mentions=mentions,
        # Only @-mentions of the robot and 1:1 chats are delivered at all (isInAtList in groups).
        addressed=bool(is_direct or payload.get("isInAtList", True)), is_direct=is_direct,
        sent_at=_sent_at(payload), display_name=payload.get("senderNick") or None,
        files=_files(payload, kind, msg_id),
    )])


# --- event subscription (POST /dingtalk/events, Stream EVENT frames) ----------------------------

def _first(payload: dict, *keys: str) -> Any:
    for key in keys:
        if payload.get(key) not in (None, "", []):
            return payload[key]
    return None


def _user_ids(payload: dict) -> list[str]:
    value = _first(payload, "userId", "UserId", "userIdList", "UserIdList")
    if isinstance(value, str):
        value = [value]
    return [u for u in value or [] if isinstance(u, str) and u]


def delivery_id(payload: dict) -> str:
    """eventId when DingTalk sends one; else EventType+BizId; else a digest of the payload
    (a retried push carries the same payload, so the digest is stable)."""
    event_id = _first(payload, "eventId", "EventId")
    if event_id:
        return str(event_id)
    biz_id = _first(payload, "BizId", "bizId")
    if biz_id:
        return f"{payload.get('EventType')}:{biz_id}"
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:32]


def _chat_id(payload: dict) -> str | None:
    value = _first(payload, "openConversationId", "OpenConversationId", "chatId", "ChatId")
    return str(value) if value else None


def _operator(payload: dict) -> str | None:
    value = _first(payload, "operator", "Operator", "OptStaffId", "optStaffId")
    return str(value) if value else None


def _user_leave_org(payload: dict, event_id: str) -> list[Event]:
    return [UserDeparted(platform=PLATFORM, event_id=f"{event_id}:{u}", user_id=u)
            for u in _user_ids(payload)]


def _user_modify_org(payload: dict, event_id: str) -> list[Event]:
    # The push names only the users; what changed (department, title) is read with user_profile().
    return [UserChanged(platform=PLATFORM, event_id=f"{event_id}:{u}", user_id=u)
            for u in _user_ids(payload)]


def _user_add_org(payload: dict, event_id: str) -> list[Event]:
    # The push names only the users; department and title are read with user_profile() (R2.1.2).
    return [UserJoinedOrg(platform=PLATFORM, event_id=f"{event_id}:{u}", user_id=u)
            for u in _user_ids(payload)]


def _chat_add_member(payload: dict, event_id: str) -> list[Event]:
    chat_id = _chat_id(payload)
    if not chat_id:
        return []
    return [MemberJoined(platform=PLATFORM, event_id=f"{event_id}:{u}", chat_id=chat_id, user_id=u,
                         inviter_id=_operator(payload)) for u in _user_ids(payload)]


def _chat_remove_member(payload: dict, event_id: str) -> list[Event]:
    chat_id = _chat_id(payload)
    if not chat_id:
        return []
    operator = _operator(payload)
    return [MemberLeft(platform=PLATFORM, event_id=f"{event_id}:{u}", chat_id=chat_id, user_id=u,
                       removed_by=operator if operator and operator != u else None)
            for u in _user_ids(payload)]


def _chat_quit(payload: dict, event_id: str) -> list[Event]:
    chat_id = _chat_id(payload)
    if not chat_id:
        return []
    return [MemberLeft(platform=PLATFORM, event_id=f"{event_id}:{u}", chat_id=chat_id, user_id=u)
            for u in _user_ids(payload)]


EVENT_HANDLERS: dict[str, Callable[[dict, str], list[Event]]] = {
    "user_leave_org": _user_leave_org,
    "user_modify_org": _user_modify_org,
    "user_add_org": _user_add_org,
    "chat_add_member": _chat_add_member,
    "chat_remove_member": _chat_remove_member,
    "chat_quit": _chat_quit,
}

# Subscribed or commonly pushed, deliberately without a core event.
IGNORED_EVENTS: dict[str, str] = {
    "chat_disband": "group disbanded; Steward only governs groups it created",
    "chat_update_owner": "owner change is not governed",
    "chat_update_title": "title change is not governed",
    "user_active_org": "activation is not governed",
    "org_dept_create": "departments are read on demand",
    "org_dept_modify": "departments are read on demand",
    "org_dept_remove": "departments are read on demand",
    "org_admin_add": "company admins are not training roles",
    "org_admin_remove": "company admins are not training roles",
    "robot_msg_recall": "the robot's own recall",
    "check_create_suite_url": "third-party suite check; Steward is an internal app",
}

HANDSHAKE = "check_url"


def parse_event(payload: Any) -> Parsed:
    if not isinstance(payload, dict):
        return Parsed(ignored="not an event object")
    event_type = payload.get("EventType")
    handler = EVENT_HANDLERS.get(event_type) if isinstance(event_type, str) else None
    if handler is None:
        if isinstance(event_type, str) and event_type in IGNORED_EVENTS:
            return Parsed(ignored=IGNORED_EVENTS[event_type])
        log.info("dingtalk events: unknown EventType %.64r (%s)", event_type, delivery_id(payload))
        return Parsed(ignored=f"unknown EventType {str(event_type)[:40]!r}")
    events = handler(payload, delivery_id(payload))
    return Parsed(events=events, ignored=None if events else f"{event_type} without users or chat")
