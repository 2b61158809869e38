"""Core actions -> DingTalk API requests (path and JSON body), described and not sent (pure; the lookups
it is given read caches only). connector.py sends them through client.py.

Messages go through the app's robot: `groupMessages/send` into a group (openConversationId) and
`oToMessages/batchSend` to one person. `msgParam` is a JSON *string* (≤ 15,000 bytes).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from connectors.base import Unsupported
from connectors.dingtalk import cards
from connectors.markup import inert_markdown
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
from core.errors import PermanentDeliveryError

GROUP_SEND = "/v1.0/robot/groupMessages/send"
PRIVATE_SEND = "/v1.0/robot/oToMessages/batchSend"
GROUP_CREATE = "/v1.0/im/group/create"
GROUP_UPDATE = "/v1.0/im/group/update"            # groups created by GROUP_CREATE, by chatid
SCENE_MEMBER_ADD = "/v1.0/im/sceneGroup/member/add"        # scene groups, by openConversationId
SCENE_MEMBER_DELETE = "/v1.0/im/sceneGroup/member/delete"
SCENE_MEMBERS = "/v1.0/im/sceneGroups/members/batchQuery"  # scene groups' members, by openConversationId
ADD_ROBOT = "/v1.0/im/conversations/robots"
USER_GET = "/topapi/v2/user/get"                    # oapi host
MSG_PARAM_LIMIT = 15000
_MENTION = re.compile(r"<@([^<>\s]+)>")


UNSUPPORTED: dict[type[Action], str] = {
    DeleteMessage: "DingTalk robots can recall only their own messages, never a member's",
    SendEphemeral: "DingTalk has no message that only one group member sees",
    PinMessage: "DingTalk has no API to pin a member's message (topBoxes pins a card, not a message)",
}


@dataclass(frozen=True)
class Request:
    path: str
    body: dict[str, Any]
    #: how the answer is read: "group" (processQueryKey), "user" (and the recipient's flow-control and
    #: reachability lists), "membership" (success), "" (the caller reads it)
    answer: str = ""


@dataclass(frozen=True)
class FileSend:
    """oapi media/upload of the stored file, then the caption (if any) and the robot's sampleFile."""
    chat_id: str
    sha256: str
    name: str
    caption: str = ""


def plain_mentions(text: str, name_of: Callable[[str], str | None]) -> str:
    """`<@staffId>` -> `@name` (robot messages cannot carry real @-mentions)."""
    return _MENTION.sub(lambda m: "@" + (name_of(m.group(1)) or m.group(1)), text)


def _param(data: dict[str, str]) -> str:
    encoded = json.dumps(data, ensure_ascii=False)
    if len(encoded.encode("utf-8")) > MSG_PARAM_LIMIT:
        raise ValueError(f"message is longer than DingTalk's {MSG_PARAM_LIMIT}-byte msgParam limit")
    return encoded


def text_message(text: str) -> tuple[str, str]:
    return "sampleText", _param({"content": text})


def card_message(title: str, text: str, buttons: tuple[Button, ...]) -> tuple[str, str]:
    """A markdown message whose buttons are dtmd links: a click sends `#steward <action> <value>`
    from the member to the robot (see cards.py). The title, text and labels are made inert first
    (connectors/markup.py): the only links on a card are these buttons."""
    lines = [f"#### {inert_markdown(title)}", "", inert_markdown(text)]
    if buttons:
        lines.append("")
        lines.extend(f"- [{inert_markdown(b.label)}]({cards.click_link(b.action, b.value)})" for b in buttons)
    return "sampleMarkdown", _param({"title": title, "text": "\n".join(lines)})


def to_group(robot_code: str, chat_id: str, message: tuple[str, str]) -> Request:
    msg_key, msg_param = message
    return Request(GROUP_SEND, {"robotCode": robot_code, "openConversationId": chat_id,
                                "msgKey": msg_key, "msgParam": msg_param}, answer="group")


def to_user(robot_code: str, user_id: str, message: tuple[str, str]) -> Request:
    msg_key, msg_param = message
    return Request(PRIVATE_SEND, {"robotCode": robot_code, "userIds": [user_id],
                                  "msgKey": msg_key, "msgParam": msg_param}, answer="user")


def membership(chat_id: str, user_id: str, add: bool, chatid: str | None) -> Request:
    """Add or remove one member: `group/update` when the group's chatid is known (groups Steward
    created), else the scene-group member API with the openConversationId."""
    if chatid:
        key = "add_useridlist" if add else "del_useridlist"
        return Request(GROUP_UPDATE, {"chatid": chatid, key: [user_id]}, answer="membership")
    return Request(SCENE_MEMBER_ADD if add else SCENE_MEMBER_DELETE,
                   {"open_conversation_id": chat_id, "user_ids": [user_id]}, answer="membership")


def scene_members(chat_id: str, next_token: str | None, page: int) -> Request:
    body: dict[str, Any] = {"openConversationId": chat_id, "maxResults": page}
    if next_token:
        body["nextToken"] = next_token
    return Request(SCENE_MEMBERS, body)


def create_group(name: str, owner: str, user_ids: list[str]) -> Request:
    members = list(dict.fromkeys([owner, *user_ids]))
    return Request(GROUP_CREATE, {"name": name, "owner": owner, "useridlist": members})


def add_robot(robot_code: str, chat_id: str) -> Request:
    return Request(ADD_ROBOT, {"robotCode": robot_code, "openConversationId": chat_id})


def user_get(user_id: str) -> Request:
    return Request(USER_GET, {"userid": user_id, "language": "zh_CN"})


def translate(action: Action, robot_code: str, chatid_of: Callable[[str], str | None],
              name_of: Callable[[str], str | None]) -> Request | FileSend | Unsupported:
    """`chatid_of`: the chatid of a group Steward created (group/update needs it); `name_of`: a member's
    cached name for `<@id>` mentions. Raises ValueError for a message longer than msgParam allows."""
    if type(action) in UNSUPPORTED:
        return Unsupported(UNSUPPORTED[type(action)])
    if isinstance(action, PostMessage):
        return to_group(robot_code, action.chat_id, text_message(plain_mentions(action.text, name_of)))
    if isinstance(action, SendPrivate):
        return to_user(robot_code, action.user_id, text_message(plain_mentions(action.text, name_of)))
    if isinstance(action, PostCard):
        message = card_message(action.title, plain_mentions(action.text, name_of), action.buttons)
        if action.chat_id:
            return to_group(robot_code, action.chat_id, message)
        if action.user_id:
            return to_user(robot_code, action.user_id, message)
        raise PermanentDeliveryError("card without chat_id or user_id", code="no_target")
    if isinstance(action, PostFile):
        return FileSend(action.chat_id, action.sha256, action.name, action.caption)
    if isinstance(action, (RemoveMember, InviteMember)):
        return membership(action.chat_id, action.user_id, isinstance(action, InviteMember), chatid_of(action.chat_id))
    return Unsupported(f"DingTalk cannot perform {type(action).__name__}")
