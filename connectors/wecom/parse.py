"""Decrypted WeCom callback XML -> core events, through explicit tables.

App callback (/wecom/callback), doc 90239/90240:
- messages a member sends the app in their 1:1 app chat -> MessagePosted(is_direct=True,
  addressed=True, chat_id="dm:<userid>", event_id=MsgId);
- `template_card_event` -> CardActed (EventKey = "<action>|<value>", see translate.py),
  event_id "<userid>:<CreateTime>:<EventKey>";
- the events in IGNORED_APP_EVENTS are answered 200 with nothing to do.

Contact sync (/wecom/contacts), doc 90970 (FromUserName is always "sys", so the user id
is part of the event id, or two people changed in the same second would collide):
- `change_contact` `delete_user` -> UserDeparted, event_id "sys:<CreateTime>:delete_user:<UserID>";
- `update_user` carrying Department or Position -> UserChanged(changes={"department": "1,2",
  "position": ...}) (department ids as WeCom sends them, comma separated);
- `create_user` -> UserJoinedOrg with the name, department ids, position, e-mail and mobile it carries
  (contact-sync callbacks configured after 2022-08-15 carry little more than UserID and Department),
  event_id "sys:<CreateTime>:create_user:<UserID>";
- the change types in IGNORED_CONTACT_CHANGES are answered 200 with nothing to do.

wechatpy 1.8's parser knows neither `file`, `template_card_event` nor `change_contact`
(they come out as UnknownMessage), so the fields are read here from the safely parsed XML.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from connectors.wecom.translate import DM_PREFIX, decode_button_key
from connectors.wecom.xmlparse import Fields, text
from core.errors import BadRequest
from core.events import CardActed, Event, FileRef, MessagePosted, UserChanged, UserDeparted, UserJoinedOrg

log = logging.getLogger(__name__)

PLATFORM = "wecom"


def dm_chat_id(user_id: str) -> str:
    """The chat id Steward uses for a member's 1:1 chat with the app."""
    return DM_PREFIX + user_id


@dataclass
class Parsed:
    events: list[Event] = field(default_factory=list)
    ignored: str | None = None


def _required(fields: Fields, *names: str) -> list[str]:
    values = [text(fields, n) for n in names]
    missing = [n for n, v in zip(names, values) if not v]
    if missing:
        raise BadRequest(f"WeCom payload lacks {', '.join(missing)}")
    return values


def _sent_at(fields: Fields) -> datetime | None:
    created = text(fields, "CreateTime")
    return datetime.fromtimestamp(int(created), tz=timezone.utc) if created.isdigit() else None


# --- app messages (1:1 chat with the app) -------------------------------------------------

def _link_text(fields: Fields) -> str:
    return "\n".join(p for p in (text(fields, "Title"), text(fields, "Description"), text(fields, "Url")) if p)


# MsgType -> (core kind, how to get the text). R4.1.1: every type reaches the archive.
MESSAGE_TYPES: dict[str, tuple[str, Callable[[Fields], str]]] = {
    "text": ("text", lambda f: text(f, "Content")),
    "image": ("image", lambda f: ""),
    "voice": ("voice", lambda f: text(f, "Recognition")),   # [U] speech-to-text, if WeCom sends it
    "video": ("video", lambda f: ""),
    "file": ("file", lambda f: text(f, "FileName")),      # [U] not in doc 90239; kept if WeCom sends it
    "link": ("link", _link_text),
    "location": ("other", lambda f: text(f, "Label")),
}


def _files(fields: Fields, msg_type: str, msg_id: str) -> tuple[FileRef, ...]:
    """A file or image message carries a MediaId for media/get (doc 90254); images have no name."""
    media_id = text(fields, "MediaId")
    if msg_type not in ("file", "image") or not media_id:
        return ()
    if msg_type == "image":
        return (FileRef(handle=media_id, name=f"image-{msg_id}.jpg", mime="image/jpeg"),)
    return (FileRef(handle=media_id, name=text(fields, "FileName") or f"file-{msg_id}"),)


def _message(fields: Fields, msg_type: str) -> Parsed:
    kind, body = MESSAGE_TYPES[msg_type]
    user_id, msg_id = _required(fields, "FromUserName", "MsgId")
    return Parsed([MessagePosted(
        platform=PLATFORM, event_id=msg_id, chat_id=dm_chat_id(user_id), user_id=user_id,
        message_id=msg_id, text=body(fields), kind=kind, addressed=True, is_direct=True,
        sent_at=_sent_at(fields), files=_files(fields, msg_type, msg_id),
    )])


# --- app events -----------------------------------------------------------------------------

def _card_acted(fields: Fields) -> Parsed:
    user_id, created, key = _required(fields, "FromUserName", "CreateTime", "EventKey")
    action, value = decode_button_key(key)
    return Parsed([CardActed(
        platform=PLATFORM, event_id=f"{user_id}:{created}:{key}", user_id=user_id,
        action=action, value=value, chat_id=None,
    )])


IGNORED_APP_EVENTS = frozenset({
    "enter_agent", "subscribe", "unsubscribe", "location", "click", "view", "view_miniprogram",
    "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin",
    "location_select", "batch_job_result", "template_card_menu_event", "open_approval_change",
    "share_agent_change", "share_chain_change", "close_inactive_agent", "reopen_inactive_agent",
})


# --- contact sync ---------------------------------------------------------------------------

def _contact_event_id(fields: Fields, change: str, user_id: str) -> str:
    sender, created = _required(fields, "FromUserName", "CreateTime")
    return f"{sender}:{created}:{change}:{user_id}"


def _departed(fields: Fields) -> Parsed:
    (user_id,) = _required(fields, "UserID")
    return Parsed([UserDeparted(
        platform=PLATFORM, event_id=_contact_event_id(fields, "delete_user", user_id), user_id=user_id)])


# update_user XML field -> key in UserChanged.changes
ROLE_FIELDS = {"Department": "department", "Position": "position"}
EXTRA_FIELDS = {"MainDepartment": "main_department", "NewUserID": "new_user_id"}


def _changed(fields: Fields) -> Parsed:
    (user_id,) = _required(fields, "UserID")
    if not any(name in fields for name in ROLE_FIELDS):
        return Parsed(ignored="change_contact:update_user:no_role_change")
    changes = {key: text(fields, name) for name, key in {**ROLE_FIELDS, **EXTRA_FIELDS}.items() if name in fields}
    return Parsed([UserChanged(
        platform=PLATFORM, event_id=_contact_event_id(fields, "update_user", user_id),
        user_id=user_id, changes=changes)])


def _created(fields: Fields) -> Parsed:
    """A new member of the directory: the onboarding rules may put them into a new-hire group (R2.1.2)."""
    (user_id,) = _required(fields, "UserID")
    departments = tuple(d.strip() for d in text(fields, "Department").split(",") if d.strip())
    return Parsed([UserJoinedOrg(
        platform=PLATFORM, event_id=_contact_event_id(fields, "create_user", user_id), user_id=user_id,
        name=text(fields, "Name") or None, departments=departments, position=text(fields, "Position") or None,
        email=text(fields, "Email") or text(fields, "BizMail") or None, mobile=text(fields, "Mobile") or None)])


CONTACT_CHANGES: dict[str, Callable[[Fields], Parsed]] = {
    "create_user": _created,
    "delete_user": _departed,
    "update_user": _changed,
}
IGNORED_CONTACT_CHANGES = frozenset({"create_party", "update_party", "delete_party", "update_tag"})


def _change_contact(fields: Fields) -> Parsed:
    (change,) = _required(fields, "ChangeType")
    handler = CONTACT_CHANGES.get(change)
    if handler is not None:
        return handler(fields)
    if change in IGNORED_CONTACT_CHANGES:
        return Parsed(ignored=f"change_contact:{change}")
    log.info("wecom: unknown change_contact type %s", change)
    return Parsed(ignored=f"unknown:change_contact:{change}")


# --- dispatch -------------------------------------------------------------------------------

APP_EVENTS: dict[str, Callable[[Fields], Parsed]] = {
    "template_card_event": _card_acted,
    # Only 代开发 apps get contact changes on the app callback; harmless to accept them here.
    "change_contact": _change_contact,
}
CONTACT_EVENTS: dict[str, Callable[[Fields], Parsed]] = {"change_contact": _change_contact}
IGNORED_CONTACT_EVENTS = frozenset({"batch_job_result"})


def _event(fields: Fields, table: dict[str, Callable[[Fields], Parsed]], ignored: frozenset[str]) -> Parsed:
    (name,) = _required(fields, "Event")
    handler = table.get(name)
    if handler is not None:
        return handler(fields)
    if name.lower() in ignored:
        return Parsed(ignored=f"event:{name}")
    log.info("wecom: unknown event %s from %s", name, text(fields, "FromUserName"))
    return Parsed(ignored=f"unknown:event:{name}")


def parse_app(fields: Fields) -> Parsed:
    """A decrypted /wecom/callback payload."""
    (msg_type,) = _required(fields, "MsgType")
    if msg_type == "event":
        return _event(fields, APP_EVENTS, IGNORED_APP_EVENTS)
    if msg_type in MESSAGE_TYPES:
        return _message(fields, msg_type)
    log.info("wecom: unknown message type %s, msg %s", msg_type, text(fields, "MsgId"))
    return Parsed(ignored=f"unknown:msgtype:{msg_type}")


def parse_contacts(fields: Fields) -> Parsed:
    """A decrypted /wecom/contacts payload."""
    (msg_type,) = _required(fields, "MsgType")
    if msg_type != "event":
        log.info("wecom: unexpected message type %s on the contacts callback", msg_type)
        return Parsed(ignored=f"unknown:msgtype:{msg_type}")
    return _event(fields, CONTACT_EVENTS, IGNORED_CONTACT_EVENTS)
