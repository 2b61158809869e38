"""DingTalkConnector: the connector contract for DingTalk (钉钉) internal apps, wiring settings, verify,
parse, translate and the HTTP client."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, ClassVar, Mapping, Sequence

import requests

from connectors.base import (
    Connector,
    ConnectorDeps,
    Delivery,
    Health,
    InboundRequest,
    InboundResult,
    Payload,
    Unsupported,
    unsupported,
)
from connectors.dingtalk import files as dt_files
from connectors.dingtalk import settings as dt_settings
from connectors.dingtalk import translate as dt_translate
from connectors.dingtalk import verify
from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.manifest import CAPABILITIES
from connectors.dingtalk.parse import HANDSHAKE, Parsed, parse_event, parse_robot_message
from connectors.dingtalk.translate import FileSend, Request
from connectors.files import stored_bytes
from core.actions import Action
from core.capabilities import Capabilities
from core.errors import BadRequest, DeliveryError, Forbidden, PermanentDeliveryError, RetryableDeliveryError
from core.events import FileRef
from core.ports import CreatedGroup, Directory, GroupCreator, Profile

log = logging.getLogger(__name__)

PROFILE_TTL = timedelta(hours=24)      # the standard edition allows 5,000 calls a month
CHATID_TTL = timedelta(days=3650)      # openConversationId -> chatid of groups Steward created
MEMBER_PAGE = 1000                     # batchQuery answers up to 1,000 members at once, then pages
NOT_A_SCENE_GROUP = {"groupPermissionDenied", "groupTemplatePermissionDenied"}
PROFILE_FIELDS = ("userid", "unionid", "name", "title", "dept_id_list", "job_number", "email",
                  "org_email", "mobile", "manager_userid", "active")


class DingTalkConnector(Connector, Directory, GroupCreator):
    platform: ClassVar[str] = "dingtalk"

    def __init__(self, settings: dt_settings.Settings, deps: ConnectorDeps,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.deps = deps
        self.client = DingTalkClient(settings, deps, session)
        self._cipher: verify.EventCipher | None = None
        self.stream_mode = False            # set by stream.StreamRunner: events arrive without HTTP
        self.replay = deps.replay_guard()   # each signature accepted once, in every process sharing it

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps) -> "DingTalkConnector":
        return cls(dt_settings.load(env), deps)

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES.with_(departure_events=self.settings.events_enabled or self.stream_mode)

    # --- inbound -------------------------------------------------------------------------------
    def verify(self, request: InboundRequest) -> Payload:
        return verify.verify(request, self.settings, self.deps.clock.now(), self.cipher, self.replay)

    def parse(self, request: InboundRequest, payload: Payload) -> InboundResult:
        if request.endpoint == "robot":
            return self._result(parse_robot_message(_json(payload.raw)), b"", "text/plain; charset=utf-8")
        if request.endpoint == "events":
            return self._parse_event_push(payload)
        raise Forbidden(f"no such DingTalk endpoint {request.endpoint!r}")

    def cipher(self) -> verify.EventCipher:
        if not self.settings.events_enabled:
            raise Forbidden("event subscription is not configured")
        if self._cipher is None:
            self._cipher = verify.EventCipher(self.settings.token or "", self.settings.aes_key or "",
                                              self.settings.app_key)
        return self._cipher

    def _parse_event_push(self, verified: Payload) -> InboundResult:
        cipher = self.cipher()
        payload = _json(verified.raw)
        # Every answer, the check_url handshake included, is the encrypted "success".
        answer = json.dumps(cipher.reply("success", self.deps.clock.now())).encode("utf-8")
        if isinstance(payload, dict) and payload.get("EventType") == HANDSHAKE:
            return InboundResult(status=200, body=answer, content_type="application/json",
                                 ignored="check_url: the subscription handshake, answered")
        return self._result(parse_event(payload), answer, "application/json")

    @staticmethod
    def _result(parsed: Parsed, body: bytes, content_type: str) -> InboundResult:
        return InboundResult(events=parsed.events, status=200, body=body, content_type=content_type,
                             ignored=parsed.ignored)

    # --- outbound ------------------------------------------------------------------------------
    def translate(self, action: Action) -> Request | FileSend | Unsupported:
        return dt_translate.translate(action, self.settings.robot_code, self.chatid_of, self._name_of)

    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        # DingTalk's robot APIs take no idempotency key; the outbox's key is only logged.
        try:
            plan = self.translate(action)
        except ValueError as exc:           # e.g. longer than msgParam allows
            raise PermanentDeliveryError(str(exc), code="invalid_message") from None
        unsupported(plan)
        log.debug("dingtalk deliver %s key=%s", action.kind, idempotency_key)
        if isinstance(plan, FileSend):
            return self._post_file(plan)
        return self._send(plan)

    def _name_of(self, user_id: str) -> str | None:
        cached = self.deps.tokens.get(f"dingtalk:profile:{user_id}")
        return json.loads(cached).get("name") if cached else None

    def _send(self, request: Request) -> Delivery:
        data = self.client.api(request.path, request.body)
        if request.answer == "user":
            user_id = request.body["userIds"][0]
            if user_id in (data.get("flowControlledStaffIdList") or []):
                raise RetryableDeliveryError("dingtalk batchSend: recipient flow-controlled", retry_after=60.0)
            if user_id in (data.get("invalidStaffIdList") or []):
                raise PermanentDeliveryError("dingtalk batchSend: recipient not reachable by the robot",
                                             code="invalid_user")
        if request.answer == "membership":
            if data.get("success") is False:
                raise PermanentDeliveryError(f"dingtalk {request.path} answered success=false", code="refused")
            return Delivery(detail={"api": request.path})
        return Delivery(remote_id=data.get("processQueryKey"))

    def _post_file(self, plan: FileSend) -> Delivery:
        """Upload, then the caption and the file (sampleFile) into the group through the robot."""
        media_id = dt_files.upload(self.client, plan.name, stored_bytes(self.deps.files, plan.sha256))
        robot = self.settings.robot_code
        if plan.caption:
            self._send(dt_translate.to_group(robot, plan.chat_id, dt_translate.text_message(plan.caption)))
        return self._send(dt_translate.to_group(robot, plan.chat_id, dt_files.file_message(media_id, plan.name)))

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        """The downloadCode of a 1:1 file or picture message -> a temporary downloadUrl -> the bytes."""
        return dt_files.fetch(self.client, self.settings.robot_code, ref.handle, max_bytes)

    # --- groups and people (used by the membership services) -----------------------------------
    def remember_group(self, open_conversation_id: str, chatid: str) -> None:
        """Record the chatid of a group Steward created (group/update needs it, robot callbacks and
        sends use the openConversationId). The composition root may re-prime this from its store."""
        self.deps.tokens.set(f"dingtalk:chatid:{open_conversation_id}", chatid,
                             self.deps.clock.now() + CHATID_TTL)

    def chatid_of(self, open_conversation_id: str) -> str | None:
        return self.deps.tokens.get(f"dingtalk:chatid:{open_conversation_id}")

    def make_group(self, name: str, owner: str, user_ids: Sequence[str],
                   chat_id: str | None = None) -> CreatedGroup:
        """Create an internal group owned by `owner` and add the robot; the group's id is its
        openConversationId (its chatid is remembered for group/update). DingTalk chooses the id."""
        if chat_id is not None:
            raise ValueError("DingTalk chooses the group's id: create it without one")
        if not 1 <= len(name) <= 20:
            raise ValueError("DingTalk group names are 1 to 20 characters")
        request = dt_translate.create_group(name, owner, list(user_ids))
        data = self.client.api(request.path, request.body)
        chat_id, chatid = data.get("openConversationId"), data.get("chatid")
        if not chat_id or not chatid:
            raise PermanentDeliveryError("group/create answered without ids", code="no_group_id")
        self.remember_group(chat_id, chatid)
        robot = dt_translate.add_robot(self.settings.robot_code, chat_id)
        try:
            self.client.api(robot.path, robot.body)
        except PermanentDeliveryError as exc:
            log.warning("dingtalk: adding the robot to %s failed (%s)", chat_id, exc.code)
            return CreatedGroup(chat_id, warnings=(
                "the group was created but Steward's robot could not be added; add it by hand",))
        return CreatedGroup(chat_id)

    def group_members(self, chat_id: str) -> list[str]:
        """The members of a scene group (场景群, created from a group template), every page of
        sceneGroups/members/batchQuery (permission qyapi_chat_manage). DingTalk offers new apps no
        member list of a group made with group/create (the old chat/get is closed to them): that
        group's answer is refused with a message that says so."""
        members: list[str] = []
        token: str | None = None
        while True:
            request = dt_translate.scene_members(chat_id, token, MEMBER_PAGE)
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

    def user_profile(self, user_id: str) -> Profile:
        """name, title, department ids, ... from oapi topapi/v2/user/get, cached for a day (the raw
        fields, in the shared token store: `_name_of` reads the name from there)."""
        return _profile(user_id, self._raw_profile(user_id))

    def _raw_profile(self, user_id: str) -> dict[str, Any]:
        key = f"dingtalk:profile:{user_id}"
        cached = self.deps.tokens.get(key)
        if cached:
            return json.loads(cached)
        request = dt_translate.user_get(user_id)
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


def _profile(user_id: str, raw: dict[str, Any]) -> Profile:
    def text(key: str) -> str | None:
        value = raw.get(key)
        return str(value).strip() or None if isinstance(value, (str, int)) else None

    ids = raw.get("dept_id_list") if isinstance(raw.get("dept_id_list"), list) else []
    return Profile(user_id=text("userid") or user_id, name=text("name"), email=text("org_email") or text("email"),
                   employee_id=text("job_number"), mobile=text("mobile"), position=text("title"), deleted=raw.get("active") is False,
                   department_ids=tuple(str(d) for d in ids))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not JSON") from None
