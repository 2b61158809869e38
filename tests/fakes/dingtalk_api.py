"""A fake of DingTalk's two API hosts on 127.0.0.1, speaking their wire formats.

- api.dingtalk.com style: JSON bodies, header `x-acs-dingtalk-access-token`, errors as HTTP 4xx/5xx
  with `{"code", "message", "requestid"}`.
- oapi.dingtalk.com style: `?access_token=`, errors as HTTP 200 with `{"errcode", "errmsg"}`.

One server answers both (point DINGTALK_API_URL and DINGTALK_OAPI_URL at `fake.url`). It records
every call, keeps a little state (groups, members: listed by sceneGroups/members/batchQuery for scene
groups, sent messages, users) and can be told to fail:
`throttle()` (429 + Retry-After), `qps_limit()`, `server_error()`, `error()` (any code),
`oapi_error()` (any errcode), `expire_tokens()` and `flow_control()`.

Files: `add_file(download_code, content)` is a file a member sent the robot; messageFiles/download
answers a temporary `downloadUrl` on this fake (`DOWNLOAD`, served without a token, as DingTalk's
storage does); oapi media/upload (multipart field `media`) keeps what was uploaded in `uploads`, and
groupMessages/send with msgKey sampleFile needs one of those media ids.

Use the `fake_dingtalk` fixture, or `with FakeDingTalk() as fake:` anywhere (end-to-end tests).
"""
from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.fakes.file_transfer import parse_multipart, send_bytes
from tests.fakes.server import FakeServer

APP_KEY = "dingfakeappkey"
APP_SECRET = "fake-app-secret"
ROBOT_CODE = "dingfakeappkey"
DOWNLOAD = "/files/download"          # the temporary download URL's path (?code=…)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def token(self) -> str | None:
        return self.headers.get("x-acs-dingtalk-access-token") or self.query.get("access_token")


@dataclass
class Group:
    chatid: str
    open_conversation_id: str
    name: str
    owner: str
    members: list[str] = field(default_factory=list)
    robots: list[str] = field(default_factory=list)
    scene: bool = False


@dataclass
class Injected:
    status: int
    body: bytes
    headers: dict[str, str]


class FakeDingTalk(FakeServer):
    name, poll_interval = "fake-dingtalk", 0.02

    def __init__(self, app_key: str = APP_KEY, app_secret: str = APP_SECRET,
                 robot_code: str = ROBOT_CODE) -> None:
        self.app_key, self.app_secret, self.robot_code = app_key, app_secret, robot_code
        self.calls: list[Call] = []
        self.groups: dict[str, Group] = {}              # by openConversationId
        self.messages: list[dict[str, Any]] = []        # what the robot sent
        self.users: dict[str, dict[str, Any]] = {}      # for topapi/v2/user/get
        self.valid_tokens: set[str] = set()
        self.flow_controlled: set[str] = set()
        self.files: dict[str, tuple[bytes, bool]] = {}       # downloadCode -> (bytes, chunked)
        self.uploads: dict[str, tuple[str, bytes]] = {}      # media/upload: media_id -> (filename, bytes)
        self._injected: dict[str, deque[Injected]] = defaultdict(deque)
        self.member_page_threshold = 1000                 # batchQuery pages only above this many members
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.origin

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for DingTalkConnector.from_env pointing at this fake."""
        return {"DINGTALK_APP_KEY": self.app_key, "DINGTALK_APP_SECRET": self.app_secret,
                "DINGTALK_ROBOT_CODE": self.robot_code, "DINGTALK_API_URL": self.url,
                "DINGTALK_OAPI_URL": self.url, **extra}

    # --- state helpers -------------------------------------------------------------------
    def add_group(self, open_conversation_id: str, members: list[str], *, chatid: str | None = None,
                  scene: bool = True, name: str = "training", owner: str = "") -> Group:
        group = Group(chatid=chatid or f"chat{next(self._ids):06d}", open_conversation_id=open_conversation_id,
                      name=name, owner=owner or (members[0] if members else ""), members=list(members),
                      robots=[self.robot_code], scene=scene)
        self.groups[open_conversation_id] = group
        return group

    def add_user(self, userid: str, **fields: Any) -> None:
        self.users[userid] = {"userid": userid, "name": userid, "active": True, **fields}

    def add_file(self, download_code: str, content: bytes, *, chunked: bool = False) -> None:
        self.files[download_code] = (content, chunked)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    # --- failure injection (each applies to the next call of `path`, or of any path: "*") --
    def inject(self, path: str, status: int, body: Any, headers: dict[str, str] | None = None,
               times: int = 1) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        for _ in range(times):
            self._injected[path].append(Injected(status, raw, headers or {}))

    def throttle(self, path: str = "*", retry_after: int = 2, times: int = 1) -> None:
        self.inject(path, 429, {"code": "Throttling", "message": "Request was denied due to flow control"},
                    {"Retry-After": str(retry_after)}, times)

    def qps_limit(self, path: str = "*", code: str = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi") -> None:
        self.inject(path, 403, {"code": code, "message": "QPS limit", "requestid": "fake"})

    def server_error(self, path: str = "*", status: int = 502, body: bytes = b"<html>Bad Gateway</html>") -> None:
        self.inject(path, status, body, {"Content-Type": "text/html"})

    def error(self, path: str, status: int, code: str, message: str = "refused") -> None:
        self.inject(path, status, {"code": code, "message": message, "requestid": "fake"})

    def oapi_error(self, path: str, errcode: int, errmsg: str = "error") -> None:
        self.inject(path, 200, {"errcode": errcode, "errmsg": errmsg, "request_id": "fake"})

    def expire_tokens(self) -> None:
        """Every token issued so far becomes invalid (as after expiry or a secret reset)."""
        with self._lock:
            self.valid_tokens.clear()

    def flow_control(self, user_id: str) -> None:
        self.flow_controlled.add(user_id)

    # --- HTTP ----------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, method: str = "") -> None:
        parts = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        content_type = req.headers.get("Content-Type") or ""
        try:
            body = (parse_multipart(content_type, raw) if content_type.startswith("multipart/form-data")
                    else json.loads(raw) if raw else None)
        except ValueError:
            body = raw
        call = Call(req.command, parts.path, dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in req.headers.items()}, body)
        with self._lock:
            self.calls.append(call)
            injected = None
            for key in (call.path, "*"):
                if self._injected[key]:
                    injected = self._injected[key].popleft()
                    break
        if injected:
            return self._reply(req, injected.status, injected.body, injected.headers)
        if call.path == DOWNLOAD:
            found = self.files.get(call.query.get("code", ""))
            if found is None:
                return self._reply(req, 404, b"<html>NoSuchKey</html>", {"Content-Type": "text/html"})
            send_bytes(req, found[0], chunked=found[1])
            return None
        status, answer = self._route(call)
        self._reply(req, status, json.dumps(answer, ensure_ascii=False).encode("utf-8"),
                    {"Content-Type": "application/json;charset=utf-8"})

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        req.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            req.send_header(name, value)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def _route(self, call: Call) -> tuple[int, dict[str, Any]]:
        if call.path == "/v1.0/oauth2/accessToken":
            return self._token_v1(call)
        if call.path == "/gettoken":
            return self._token_oapi(call)
        handler = self.API.get(call.path)
        if handler is not None:
            if call.token not in self.valid_tokens:
                return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token", "requestid": "fake"}
            if not isinstance(call.body, dict):
                return 400, {"code": "MissingParameter", "message": "body is required", "requestid": "fake"}
            return handler(self, call.body)
        handler = self.OAPI.get(call.path)
        if handler is not None:
            if call.token not in self.valid_tokens:
                return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
            return handler(self, call.body if isinstance(call.body, dict) else {})
        return 404, {"code": "InvalidAction.NotFound", "message": f"no API {call.path}", "requestid": "fake"}

    def _issue(self) -> str:
        token = f"fake-token-{next(self._ids)}"
        with self._lock:
            self.valid_tokens.add(token)
        return token

    def _token_v1(self, call: Call) -> tuple[int, dict[str, Any]]:
        body = call.body if isinstance(call.body, dict) else {}
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret",
                         "requestid": "fake"}
        return 200, {"accessToken": self._issue(), "expireIn": 7200}

    def _token_oapi(self, call: Call) -> tuple[int, dict[str, Any]]:
        if call.query.get("appkey") != self.app_key or call.query.get("appsecret") != self.app_secret:
            return 200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": self._issue(), "expires_in": 7200}

    @staticmethod
    def _bad(message: str, code: str = "invalidParameter") -> tuple[int, dict[str, Any]]:
        return 400, {"code": code, "message": message, "requestid": "fake"}

    def _check_message(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if body.get("robotCode") != self.robot_code:
            return self._bad("robotCode 不存在", "resource.not.found")
        if not body.get("msgKey") or not isinstance(body.get("msgParam"), str):
            return self._bad("msgKey/msgParam required", "MissingParameter")
        try:
            json.loads(body["msgParam"])
        except ValueError:
            return self._bad("msgParam is not JSON")
        return None

    def _group_send(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = self._check_message(body)
        if problem:
            return problem
        group = self.groups.get(body.get("openConversationId", ""))
        if group is None or self.robot_code not in group.robots:
            return self._bad("机器人不在群内", "robot.not.in.group")
        if body["msgKey"] == "sampleFile" and json.loads(body["msgParam"]).get("mediaId") not in self.uploads:
            return self._bad("mediaId 无效", "invalidParameter.mediaId")
        key = f"pqk-{next(self._ids)}"
        self.messages.append({"processQueryKey": key, **body})
        return 200, {"processQueryKey": key}

    def _oto_send(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = self._check_message(body)
        if problem:
            return problem
        user_ids = body.get("userIds") or []
        invalid = [u for u in user_ids if self.users and u not in self.users]
        limited = [u for u in user_ids if u in self.flow_controlled]
        key = f"pqk-{next(self._ids)}"
        self.messages.append({"processQueryKey": key, **body})
        return 200, {"processQueryKey": key, "invalidStaffIdList": invalid,
                     "flowControlledStaffIdList": limited}

    def _group_create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not body.get("name") or not body.get("owner") or not body.get("useridlist"):
            return self._bad("name, owner and useridlist are required", "MissingParameter")
        n = next(self._ids)
        group = Group(chatid=f"chat{n:06d}", open_conversation_id=f"cid{n:06d}==", name=body["name"],
                      owner=body["owner"], members=list(body["useridlist"]))
        self.groups[group.open_conversation_id] = group
        return 200, {"chatid": group.chatid, "openConversationId": group.open_conversation_id,
                     "conversationTag": 2}

    def _group_update(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        group = next((g for g in self.groups.values() if g.chatid == body.get("chatid") and not g.scene), None)
        if group is None:
            return self._bad("群会话不存在或不是通过接口创建的群", "invalidParameter.chatid")
        group.members = [m for m in group.members if m not in (body.get("del_useridlist") or [])]
        group.members += [m for m in body.get("add_useridlist") or [] if m not in group.members]
        return 200, {"success": True}

    def _scene_member(self, body: dict[str, Any], add: bool) -> tuple[int, dict[str, Any]]:
        group = self.groups.get(body.get("open_conversation_id", ""))
        if group is None or not group.scene:
            return self._bad("群不是场景群", "invalid.scenegroup")
        users = body.get("user_ids") or []
        if not isinstance(users, list):
            return self._bad("user_ids must be a list")
        if add:
            group.members += [u for u in users if u not in group.members]
        else:
            group.members = [m for m in group.members if m not in users]
        return 200, {"success": True}

    def _scene_members(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """sceneGroups/members/batchQuery: only scene groups (others: groupPermissionDenied); pages of
        maxResults once a group holds more than `member_page_threshold` members (DingTalk: 1,000)."""
        group = self.groups.get(body.get("openConversationId", ""))
        if group is None:
            return self._bad("群ID解析错误", "cidEncryptError")
        if not group.scene:
            return self._bad("无权限，该群没有安装群模板", "groupPermissionDenied")
        size = body.get("maxResults")
        if not isinstance(size, int) or size < 1:
            return self._bad("请求参数非法", "paramIllegal")
        token = body.get("nextToken") or "0"
        if not str(token).isdigit():
            return self._bad("请求参数非法", "paramIllegal")
        start = int(token)
        if len(group.members) <= self.member_page_threshold:
            page, more = group.members[start:], False
        else:
            page, more = group.members[start:start + size], start + size < len(group.members)
        return 200, {"success": True, "memberUserIds": page, "hasMore": more,
                     "nextToken": str(start + len(page)) if more else "",
                     "staffIdNickMap": {u: self.users.get(u, {}).get("name", u) for u in page}}

    def _add_robot(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        group = self.groups.get(body.get("openConversationId", ""))
        if group is None:
            return self._bad("群会话不存在")
        if body.get("robotCode") not in group.robots:
            group.robots.append(body.get("robotCode"))
        return 200, {"chatBotUserId": f"$:LWCP_v1:${body.get('robotCode')}"}

    def _file_download(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("robotCode") != self.robot_code:
            return self._bad("robotCode 不存在", "resource.not.found")
        if body.get("downloadCode") not in self.files:
            return self._bad("downloadCode 无效", "invalidParameter.downloadCode")
        return 200, {"downloadUrl": f"{self.url}{DOWNLOAD}?code={body['downloadCode']}"}

    def _media_upload(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        part = body.get("media")
        if body.get("type") not in ("image", "voice", "video", "file") or not isinstance(part, tuple):
            return 200, {"errcode": 40004, "errmsg": "不合法的媒体文件类型"}
        media_id = f"@lAfake{next(self._ids):06d}"
        self.uploads[media_id] = part
        return 200, {"errcode": 0, "errmsg": "ok", "type": body["type"], "media_id": media_id,
                     "created_at": 1764072000000}

    def _user_get(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        user = self.users.get(body.get("userid", ""))
        if user is None:
            return 200, {"errcode": 60121, "errmsg": "找不到该用户", "request_id": "fake"}
        return 200, {"errcode": 0, "errmsg": "ok", "result": user, "request_id": "fake"}

    API: dict[str, Callable[["FakeDingTalk", dict[str, Any]], tuple[int, dict[str, Any]]]] = {
        "/v1.0/robot/groupMessages/send": _group_send,
        "/v1.0/robot/oToMessages/batchSend": _oto_send,
        "/v1.0/im/group/create": _group_create,
        "/v1.0/im/group/update": _group_update,
        "/v1.0/im/sceneGroup/member/add": lambda self, body: self._scene_member(body, add=True),
        "/v1.0/im/sceneGroup/member/delete": lambda self, body: self._scene_member(body, add=False),
        "/v1.0/im/sceneGroups/members/batchQuery": _scene_members,
        "/v1.0/im/conversations/robots": _add_robot,
        "/v1.0/robot/messageFiles/download": _file_download,
    }
    OAPI: dict[str, Callable[["FakeDingTalk", dict[str, Any]], tuple[int, dict[str, Any]]]] = {
        "/topapi/v2/user/get": _user_get,
        "/media/upload": _media_upload,
    }


@pytest.fixture
def fake_dingtalk():
    with FakeDingTalk() as fake:
        yield fake
