"""DingTalkConnector: the connector contract for DingTalk (钉钉) internal apps."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Callable, Mapping

import requests

from connectors.base import (Connector, ConnectorDeps, Delivery, Health, InboundRequest,
                             InboundResult)
from connectors.dingtalk import files as dt_files, render, settings as dt_settings, verify
from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.parse import HANDSHAKE, Parsed, parse_event, parse_robot_message
from connectors.files import stored_bytes
from core.actions import (Action, DeleteMessage, InviteMember, PinMessage, PostCard, PostFile, PostMessage,
                          RemoveMember, SendEphemeral, SendPrivate)
from core.capabilities import DINGTALK, Capabilities
from core.errors import (BadRequest, DeliveryError, Forbidden, PermanentDeliveryError,
                         RetryableDeliveryError, UnsupportedAction)
from core.events import FileRef

log = logging.getLogger(__name__)

PROFILE_TTL = timedelta(hours=24)      # the standard edition allows 5,000 calls a month
CHATID_TTL = timedelta(days=3650)      # openConversationId -> chatid of groups Steward created
MEMBER_PAGE = 1000                     # batchQuery answers up to 1,000 members at once, then pages
NOT_A_SCENE_GROUP = {"groupPermissionDenied", "groupTemplatePermissionDenied"}
PROFILE_FIELDS = ("userid", "unionid", "name", "title", "dept_id_list", "job_number", "email",
                  "org_email", "manager_userid", "active")
UNSUPPORTED = {
    DeleteMessage: "DingTalk robots can recall only their own messages, never a member's",
    SendEphemeral: "DingTalk has no message that only one group member sees",
    PinMessage: "DingTalk has no API to pin a member's message (topBoxes pins a card, not a message)",
}


class DingTalkConnector(Connector):
    platform = "dingtalk"
    endpoints = {"robot": ("POST",), "events": ("POST",)}
    ENV = dt_settings.ENV

    def __init__(self, settings: dt_settings.Settings, deps: ConnectorDeps,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.deps = deps
        self.client = DingTalkClient(settings, deps, session)
        self._cipher: verify.EventCipher | None = None
        self.stream_mode = False            # set by stream.StreamRunner: events arrive without HTTP
        self._deliver: dict[type, Callable[[Any], Delivery]] = {
            PostMessage: self._post_message,
            SendPrivate: self._send_private,
            PostCard: self._post_card,
            PostFile: self._post_file,
            RemoveMember: lambda a: self._membership(a.chat_id, a.user_id, add=False),
            InviteMember: lambda a: self._membership(a.chat_id, a.user_id, add=True),
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps) -> "DingTalkConnector":
        return cls(dt_settings.load(env), deps)

    @property
    def capabilities(self) -> Capabilities:
        return DINGTALK.with_(
            pin=False,
            departure_events=self.settings.events_enabled or self.stream_mode,
        )

    # --- inbound -------------------------------------------------------------------------------
    def verify(self, request: InboundRequest) -> None:
        now = self.deps.clock.now()
        if request.endpoint == "robot":
            verify.verify_robot(request.headers, self.settings, now)
        elif request.endpoint == "events":
            verify.verify_event(request.query, request.body, self.settings, now)
        else:
            raise Forbidden(f"no such DingTalk endpoint {request.endpoint!r}")

    def parse(self, request: InboundRequest) -> InboundResult:
        if request.endpoint == "robot":
            return self._result(parse_robot_message(_json(request.body)), b"", "text/plain; charset=utf-8")
        if request.endpoint == "events":
            return self._parse_event_push(request.body)
        raise Forbidden(f"no such DingTalk endpoint {request.endpoint!r}")

    def cipher(self) -> verify.EventCipher:
        if not self.settings.events_enabled:
            raise Forbidden("event subscription is not configured")
        if self._cipher is None:
            self._cipher = verify.EventCipher(self.settings.token or "", self.settings.aes_key or "",
                                              self.settings.app_key)
        return self._cipher

    def _parse_event_push(self, body: bytes) -> InboundResult:
        cipher = self.cipher()
        payload = _json(cipher.decrypt(verify.encrypted_field(body)).encode("utf-8"))
        # Every answer, the check_url handshake included, is the encrypted "success".
        answer = json.dumps(cipher.reply("success", self.deps.clock.now())).encode("utf-8")
        if isinstance(payload, dict) and payload.get("EventType") == HANDSHAKE:
            return InboundResult(status=200, body=answer, content_type="application/json")
        return self._result(parse_event(payload), answer, "application/json")

    @staticmethod
    def _result(parsed: Parsed, body: bytes, content_type: str) -> InboundResult:
        return InboundResult(events=parsed.events, status=200, body=body, content_type=content_type,
                             ignored=parsed.ignored)

    # --- outbound ------------------------------------------------------------------------------
    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        # DingTalk's robot APIs take no idempotency key; the outbox's key is only logged.
        if type(action) in UNSUPPORTED:
            raise UnsupportedAction(UNSUPPORTED[type(action)])
        handler = self._deliver.get(type(action))
        if handler is None:
            raise UnsupportedAction(f"DingTalk cannot perform {type(action).__name__}")
        log.debug("dingtalk deliver %s key=%s", action.kind, idempotency_key)
        try:
            return handler(action)
        except ValueError as exc:           # e.g. longer than msgParam allows
            raise PermanentDeliveryError(str(exc), code="invalid_message") from None

    def _name_of(self, user_id: str) -> str | None:
        cached = self.deps.tokens.get(f"dingtalk:profile:{user_id}")
        return json.loads(cached).get("name") if cached else None

    def _post_message(self, action: PostMessage) -> Delivery:
        message = render.text_message(render.plain_mentions(action.text, self._name_of))
        return self._send_group(action.chat_id, message)

    def _send_private(self, action: SendPrivate) -> Delivery:
        message = render.text_message(render.plain_mentions(action.text, self._name_of))
        return self._send_user(action.user_id, message)

    def _post_card(self, action: PostCard) -> Delivery:
        message = render.card_message(action.title, render.plain_mentions(action.text, self._name_of),
                                      action.buttons)
        if action.chat_id:
            return self._send_group(action.chat_id, message)
        if action.user_id:
            return self._send_user(action.user_id, message)
        raise PermanentDeliveryError("card without chat_id or user_id", code="no_target")

    def _post_file(self, action: PostFile) -> Delivery:
        """Upload, then the caption and the file (sampleFile) into the group through the robot."""
        media_id = dt_files.upload(self.client, action.name, stored_bytes(self.deps.files, action.sha256))
        if action.caption:
            self._send_group(action.chat_id, render.text_message(action.caption))
        return self._send_group(action.chat_id, dt_files.file_message(media_id, action.name))

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        """The downloadCode of a 1:1 file or picture message -> a temporary downloadUrl -> the bytes."""
        return dt_files.fetch(self.client, self.settings.robot_code, ref.handle, max_bytes)

    def _send_group(self, chat_id: str, message: tuple[str, str]) -> Delivery:
        request = render.to_group(self.settings.robot_code, chat_id, message)
        data = self.client.api(request.path, request.body)
        return Delivery(remote_id=data.get("processQueryKey"))

    def _send_user(self, user_id: str, message: tuple[str, str]) -> Delivery:
        request = render.to_user(self.settings.robot_code, user_id, message)
        data = self.client.api(request.path, request.body)
        if user_id in (data.get("flowControlledStaffIdList") or []):
            raise RetryableDeliveryError("dingtalk batchSend: recipient flow-controlled", retry_after=60.0)
        if user_id in (data.get("invalidStaffIdList") or []):
            raise PermanentDeliveryError("dingtalk batchSend: recipient not reachable by the robot",
                                         code="invalid_user")
        return Delivery(remote_id=data.get("processQueryKey"))

    def _membership(self, chat_id: str, user_id: str, add: bool) -> Delivery:
        request = render.membership(chat_id, user_id, add, self.chatid_of(chat_id))
        data = self.client.api(request.path, request.body)
        if data.get("success") is False:
            raise PermanentDeliveryError(f"dingtalk {request.path} answered success=false", code="refused")
        return Delivery(detail={"api": request.path})

    # --- groups and people (used by the membership services) -----------------------------------
    def remember_group(self, open_conversation_id: str, chatid: str) -> None:
        """Record the chatid of a group Steward created (group/update needs it, robot callbacks and
        sends use the openConversationId). The composition root may re-prime this from its store."""
        self.deps.tokens.set(f"dingtalk:chatid:{open_conversation_id}", chatid,
                             self.deps.clock.now() + CHATID_TTL)

    def chatid_of(self, open_conversation_id: str) -> str | None:
        return self.deps.tokens.get(f"dingtalk:chatid:{open_conversation_id}")

    def create_group(self, name: str, owner: str, user_ids: list[str]) -> dict[str, Any]:
        """Create an internal group owned by `owner`, add the robot, and return
        {"chat_id": openConversationId, "chatid": ..., "robot_added": bool}."""
        if not 1 <= len(name) <= 20:
            raise ValueError("DingTalk group names are 1 to 20 characters")
        request = render.create_group(name, owner, user_ids)
        data = self.client.api(request.path, request.body)
        chat_id, chatid = data.get("openConversationId"), data.get("chatid")
        if not chat_id or not chatid:
            raise PermanentDeliveryError("group/create answered without ids", code="no_group_id")
        self.remember_group(chat_id, chatid)
        robot = render.add_robot(self.settings.robot_code, chat_id)
        try:
            self.client.api(robot.path, robot.body)
            robot_added = True
        except PermanentDeliveryError as exc:
            log.warning("dingtalk: adding the robot to %s failed (%s)", chat_id, exc.code)
            robot_added = False
        return {"chat_id": chat_id, "chatid": chatid, "robot_added": robot_added}

    def group_members(self, chat_id: str) -> list[str]:
        """The members of a scene group (场景群, created from a group template), every page of
        sceneGroups/members/batchQuery (permission qyapi_chat_manage). DingTalk offers new apps no
        member list of a group made with group/create (the old chat/get is closed to them): that
        group's answer is refused with a message that says so."""
        members: list[str] = []
        token: str | None = None
        while True:
            request = render.scene_members(chat_id, token, MEMBER_PAGE)
            try:
                data = self.client.api(request.path, request.body)
            except PermanentDeliveryError as exc:
                if exc.code in NOT_A_SCENE_GROUP:
                    raise PermanentDeliveryError(
                        f"dingtalk lists the members of scene groups (场景群) only, and {chat_id} is none "
                        f"or belongs to another app's template ({exc.code})", code=exc.code) from None
                raise
            members.extend(u for u in data.get("memberUserIds") or [] if isinstance(u, str) and u)
            token = data.get("nextToken") if data.get("hasMore") else None
            if not token:
                return list(dict.fromkeys(members))

    def user_profile(self, user_id: str) -> dict[str, Any]:
        """name, title, departments, ... from oapi topapi/v2/user/get, cached for a day."""
        key = f"dingtalk:profile:{user_id}"
        cached = self.deps.tokens.get(key)
        if cached:
            return json.loads(cached)
        request = render.user_get(user_id)
        result = self.client.oapi(request.path, request.body).get("result")
        if not isinstance(result, dict):
            raise PermanentDeliveryError("topapi/v2/user/get answered without a result", code="no_result")
        profile = {k: result[k] for k in PROFILE_FIELDS if k in result}
        self.deps.tokens.set(key, json.dumps(profile, ensure_ascii=False), self.deps.clock.now() + PROFILE_TTL)
        return profile

    def health(self) -> Health:
        try:
            self.client.access_token(fresh=True)
        except DeliveryError as exc:
            return Health(ok=False, detail=f"dingtalk token: {exc}")
        return Health(ok=True, detail="dingtalk token ok")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not JSON") from None
