"""A fake of WeCom's server API (qyapi.weixin.qq.com/cgi-bin/) for tests.

A real HTTP server on 127.0.0.1 (ThreadingHTTPServer, port 0, in a thread) that speaks the
wire format wechatpy expects: JSON bodies, `access_token` in the query, `errcode`/`errmsg`
answers. It keeps a tiny directory (users, departments) and the app's groups, records every
call, and can be told to fail:

    fake.fail("message/send", errcode=45009)            # once, WeCom throttle
    fake.fail("appchat/send", status=429, retry_after=7)
    fake.fail("appchat/update", errcode=-1, times=2)    # system busy, twice
    fake.expire_tokens()                                # every issued token now answers 42001

Files: `add_media(media_id, content)` is a file a member sent the app (served by media/get as bytes,
or as JSON with an errcode when unknown); media/upload (multipart field `media`) keeps what was
uploaded in `uploads`, and appchat/send of msgtype file needs one of those media ids.

AI bot (智能机器人): `aibot_callback(payload, timestamp)` builds the signed `{"encrypt": ...}` POST of
/wecom/aibot (ReceiveId ""), and `response_url(chat)` issues a URL on this server
(`aibot/response?response_code=...`, no access token) that takes one markdown or template_card POST
within an hour; what it took is in `aibot_replies`, refused second uses in `aibot_refused`.

Use the `fake_wecom` fixture, or `with FakeWeCom() as fake:`; `fake.env()` is a complete
WECOM_* environment pointing at `fake.api_url`, and `fake.callback(xml, timestamp)` builds the
encrypted, signed (query, body) WeCom would POST to /wecom/callback or /wecom/contacts.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from tests.fakes.file_transfer import parse_multipart, send_bytes
from tests.fakes.server import FakeServer

PREFIX = "/cgi-bin/"
GROUP_MSGTYPES = {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
APP_MSGTYPES = GROUP_MSGTYPES | {"template_card", "miniprogram_notice"}


@dataclass
class Call:
    method: str
    path: str                      # without the /cgi-bin/ prefix, e.g. "message/send"
    params: dict[str, str]         # query string (access_token removed)
    body: Any                      # decoded JSON body, or None
    token: str | None = None


@dataclass
class Fault:
    path: str
    times: int
    errcode: int | None = None
    errmsg: str = "injected"
    status: int | None = None
    retry_after: float | None = None


@dataclass
class Media:
    content: bytes
    chunked: bool = False          # sent without Content-Length


@dataclass
class Chat:
    chatid: str
    name: str
    owner: str
    userlist: list[str]
    messages: list[dict] = field(default_factory=list)


class FakeWeCom(FakeServer):
    name = "fake-wecom"

    # Callback secrets the fake signs with (what IT would paste from the console).
    CALLBACK_TOKEN = "fakeToken123"
    CALLBACK_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    CONTACT_TOKEN = "fakeContactToken456"
    CONTACT_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
    AIBOT_TOKEN = "fakeAibotToken789"
    AIBOT_AES_KEY = "Zq8Xw2Ev4Rt6Yu8Io0Pa2Sd4Fg6Hj8Kl0Zx2Cv4Bn6M"
    RESPONSE_URL_SECONDS = 3600

    def __init__(self, corp_id: str = "wwfakecorp0001", secret: str = "fake-secret-for-tests",
                 agent_id: int = 1000002, now: Callable[[], float] = time.time) -> None:
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self._now = now
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.calls: list[Call] = []
        self.tokens: dict[str, bool] = {}            # token -> still valid
        self.users: dict[str, dict] = {}
        self.departments: dict[int, dict] = {1: {"id": 1, "name": "Company", "parentid": 0}}
        self.chats: dict[str, Chat] = {}
        self.delivered: list[dict] = []              # message/send bodies that reached members
        self.suppressed: list[dict] = []             # dropped by duplicate check / reused task_id
        self._recent: dict[str, float] = {}          # duplicate-check fingerprint -> sent at
        self._task_ids: set[str] = set()
        self._faults: list[Fault] = []
        self.media: dict[str, Media] = {}             # what members sent the app, by MediaId
        self.uploads: dict[str, tuple[str, bytes]] = {}   # media/upload: media_id -> (filename, bytes)
        self.response_codes: dict[str, tuple[str, float]] = {}   # response_code -> (chat, issued at)
        self.aibot_replies: list[tuple[str, dict]] = []          # (chat, body) answered via response_url
        self.aibot_refused: list[str] = []                       # response codes used twice or expired

    @property
    def api_url(self) -> str:
        return f"{self.origin}{PREFIX}"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for WeComConnector.from_env pointing at this fake (callback secrets are test values)."""
        env = {
            "WECOM_CORP_ID": self.corp_id, "WECOM_AGENT_ID": str(self.agent_id), "WECOM_SECRET": self.secret,
            "WECOM_TOKEN": self.CALLBACK_TOKEN, "WECOM_ENCODING_AES_KEY": self.CALLBACK_AES_KEY,
            "WECOM_CONTACT_TOKEN": self.CONTACT_TOKEN, "WECOM_CONTACT_ENCODING_AES_KEY": self.CONTACT_AES_KEY,
            "WECOM_API_URL": self.api_url,
        }
        env.update(extra)
        return env

    def aibot_env(self, **extra: str) -> dict[str, str]:
        """env() with the AI bot callback configured too."""
        return self.env(WECOM_AIBOT_TOKEN=self.AIBOT_TOKEN, WECOM_AIBOT_ENCODING_AES_KEY=self.AIBOT_AES_KEY, **extra)

    def callback(self, plaintext_xml: str, timestamp: int, endpoint: str = "callback",
                 nonce: str = "1372623149") -> tuple[dict[str, str], bytes]:
        """(query, body) of a POST to /wecom/<endpoint> as WeCom sends it: encrypted and signed."""
        token, key = ((self.CONTACT_TOKEN, self.CONTACT_AES_KEY) if endpoint == "contacts"
                      else (self.CALLBACK_TOKEN, self.CALLBACK_AES_KEY))
        reply = WeChatCrypto(token, key, self.corp_id).encrypt_message(plaintext_xml, nonce, str(timestamp))
        encrypted = reply.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        signature = hashlib.sha1("".join(sorted([token, str(timestamp), nonce, encrypted])).encode()).hexdigest()
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]>"
                f"</Encrypt><AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>").encode()
        return {"msg_signature": signature, "timestamp": str(timestamp), "nonce": nonce}, body

    def aibot_callback(self, payload: dict, timestamp: int, nonce: str = "1372623149",
                       token: str | None = None) -> tuple[dict[str, str], bytes]:
        """(query, body) of a POST to /wecom/aibot: the JSON plaintext encrypted with ReceiveId "" and
        signed (doc 101033); `token` signs with another token (a forged request)."""
        plaintext = json.dumps(payload, ensure_ascii=False)
        reply = WeChatCrypto(self.AIBOT_TOKEN, self.AIBOT_AES_KEY, "").encrypt_message(plaintext, nonce,
                                                                                      str(timestamp))
        encrypted = reply.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        signature = hashlib.sha1("".join(sorted([token or self.AIBOT_TOKEN, str(timestamp), nonce,
                                                 encrypted])).encode()).hexdigest()
        body = json.dumps({"encrypt": encrypted}).encode()
        return {"msg_signature": signature, "timestamp": str(timestamp), "nonce": nonce}, body

    def response_url(self, chat: str) -> str:
        """A fresh response_url for one callback in `chat` (a chatid, or "single")."""
        code = f"fakeresponse{next(self._ids):06d}"
        self.response_codes[code] = (chat, self._now())
        return f"{self.api_url}aibot/response?response_code={code}"

    # --- arranging state and faults --------------------------------------------------------
    def add_department(self, dept_id: int, name: str, parent: int = 1) -> None:
        self.departments[dept_id] = {"id": dept_id, "name": name, "parentid": parent}

    def add_user(self, userid: str, name: str | None = None, department: list[int] | None = None,
                 position: str = "", main_department: int | None = None) -> None:
        department = department or [1]
        self.users[userid] = {"userid": userid, "name": name or userid, "department": department,
                              "main_department": main_department or department[0], "position": position,
                              "status": 1}

    def add_chat(self, chatid: str, owner: str, userlist: list[str], name: str = "group") -> Chat:
        """A group this app created earlier."""
        self.chats[chatid] = Chat(chatid, name, owner, list(userlist))
        return self.chats[chatid]

    def add_media(self, media_id: str, content: bytes, *, chunked: bool = False) -> None:
        self.media[media_id] = Media(content, chunked)

    def fail(self, path: str, *, errcode: int | None = None, status: int | None = None,
             retry_after: float | None = None, times: int = 1, errmsg: str = "injected") -> None:
        """The next `times` calls to `path` fail with `errcode` (HTTP 200) or HTTP `status`."""
        self._faults.append(Fault(path, times, errcode, errmsg, status, retry_after))

    def expire_tokens(self) -> None:
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = False

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    # --- HTTP --------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(req.path)
        path = url.path[len(PREFIX):] if url.path.startswith(PREFIX) else url.path
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        content_type = req.headers.get("Content-Type") or ""
        try:
            body = (parse_multipart(content_type, raw) if content_type.startswith("multipart/form-data")
                    else json.loads(raw.decode("utf-8")) if raw else None)
        except ValueError:
            body = raw
        token = params.pop("access_token", None)
        with self._lock:
            self.calls.append(Call(method, path, params, body, token))
            status, payload, headers = self._route(method, path, params, body, token)
        if isinstance(payload, Media):     # media/get: the file itself
            send_bytes(req, payload.content, chunked=payload.chunked,
                       headers={"Content-Disposition": 'attachment; filename="file"'})
            return
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(data)

    def _route(self, method: str, path: str, params: dict, body: Any, token: str | None):
        if path not in ("gettoken", "aibot/response"):
            if not token:
                return 200, _err(41001, "access_token missing"), {}
            if token not in self.tokens:
                return 200, _err(40014, "invalid access_token"), {}
            if not self.tokens[token]:
                return 200, _err(42001, "access_token expired"), {}
        for fault in self._faults:
            if fault.path == path and fault.times > 0:
                fault.times -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                if fault.status is not None:
                    return fault.status, _err(-1, fault.errmsg), headers
                return 200, _err(fault.errcode or -1, fault.errmsg), headers
        handler = getattr(self, "_api_" + path.replace("/", "_"), None)
        if handler is None:
            return 404, _err(-1, f"fake has no {path}"), {}
        return 200, handler(params, body), {}

    # --- the API -------------------------------------------------------------------------
    def _api_gettoken(self, params: dict, body: Any) -> dict:
        if params.get("corpid") != self.corp_id:
            return _err(40013, "invalid corpid")
        if params.get("corpsecret") != self.secret:
            return _err(40001, "invalid credential")
        token = f"fake-token-{next(self._ids)}"
        self.tokens[token] = True
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _bad_users(self, users: list[str]) -> list[str]:
        return [u for u in users if u not in self.users]

    def _api_appchat_create(self, params: dict, body: dict) -> dict:
        users = list(body.get("userlist") or [])
        if not 2 <= len(users) <= 2000:
            return _err(86006, "chat member count invalid")
        if self._bad_users(users):
            return _err(86007, "invalid chat member")
        owner = body.get("owner") or users[0]
        if owner not in users:
            return _err(86207, "owner not in userlist")
        chatid = body.get("chatid") or f"wrfake{next(self._ids):06d}"
        if chatid in self.chats:
            return _err(86215, "chatid already exists")
        self.add_chat(chatid, owner, users, body.get("name") or "")
        return {"errcode": 0, "errmsg": "ok", "chatid": chatid}

    def _api_appchat_update(self, params: dict, body: dict) -> dict:
        chat = self.chats.get(body.get("chatid") or "")
        if chat is None:
            return _err(86003, "chatid not exist")
        add, remove = list(body.get("add_user_list") or []), list(body.get("del_user_list") or [])
        if self._bad_users(add):
            return _err(86007, "invalid chat member")
        chat.userlist = [u for u in chat.userlist if u not in remove] + [u for u in add if u not in chat.userlist]
        if body.get("name"):
            chat.name = body["name"]
        if body.get("owner"):
            chat.owner = body["owner"]
        return {"errcode": 0, "errmsg": "ok"}

    def _api_appchat_get(self, params: dict, body: Any) -> dict:
        chat = self.chats.get(params.get("chatid") or "")
        if chat is None:
            return _err(86003, "chatid not exist")
        return {"errcode": 0, "errmsg": "ok",
                "chat_info": {"chatid": chat.chatid, "name": chat.name, "owner": chat.owner,
                              "userlist": list(chat.userlist)}}

    def _api_media_get(self, params: dict, body: Any) -> dict | Media:
        media = self.media.get(params.get("media_id") or "")
        if media is None:
            return _err(40007, "invalid media_id")
        return media

    def _api_media_upload(self, params: dict, body: Any) -> dict:
        part = body.get("media") if isinstance(body, dict) else None
        if params.get("type") not in ("image", "voice", "video", "file") or not isinstance(part, tuple):
            return _err(40004, "invalid media type")
        if len(part[1]) > 20 * 1024 * 1024:
            return _err(40006, "invalid file size")
        media_id = f"3fakemedia{next(self._ids):06d}"
        self.uploads[media_id] = (part[0], part[1])
        return {"errcode": 0, "errmsg": "ok", "type": params["type"], "media_id": media_id,
                "created_at": str(int(self._now()))}

    def _api_aibot_response(self, params: dict, body: Any) -> dict:
        """One POST per response_code, within the hour (doc 101138)."""
        code = params.get("response_code") or ""
        issued = self.response_codes.pop(code, None)
        if issued is None or self._now() - issued[1] > self.RESPONSE_URL_SECONDS:
            self.aibot_refused.append(code)
            return _err(40008 if issued is None else 42001, "response_code used or expired")
        msgtype = body.get("msgtype") if isinstance(body, dict) else None
        if msgtype not in ("markdown", "template_card") or not isinstance(body.get(msgtype), dict):
            return _err(40008, "invalid message type")
        self.aibot_replies.append((issued[0], body))
        return {"errcode": 0, "errmsg": "ok"}

    def _api_appchat_send(self, params: dict, body: dict) -> dict:
        chat = self.chats.get(body.get("chatid") or "")
        if chat is None:
            return _err(86003, "chatid not exist")
        msgtype = body.get("msgtype")
        if msgtype not in GROUP_MSGTYPES or not isinstance(body.get(msgtype), dict):
            return _err(40008, "invalid message type")
        if msgtype == "file" and body["file"].get("media_id") not in self.uploads:
            return _err(40007, "invalid media_id")
        chat.messages.append(body)
        return {"errcode": 0, "errmsg": "ok"}            # no msgid (doc 90248)

    def _api_message_send(self, params: dict, body: dict) -> dict:
        if str(body.get("agentid")) != str(self.agent_id):
            return _err(40056, "invalid agentid")
        msgtype = body.get("msgtype")
        if msgtype not in APP_MSGTYPES or not isinstance(body.get(msgtype), dict):
            return _err(40008, "invalid message type")
        users = [u for u in (body.get("touser") or "").split("|") if u]
        bad = self._bad_users(users)
        if users and len(bad) == len(users):
            return _err(81013, "user & party & tag all invalid")
        result = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(bad), "msgid": f"fakemsg{next(self._ids)}"}
        if msgtype == "template_card" and body["template_card"].get("card_type") != "text_notice":
            result["response_code"] = f"fakecode{next(self._ids)}"
        if self._is_duplicate(body):
            self.suppressed.append(body)
        else:
            self.delivered.append(body)
        return result

    def _is_duplicate(self, body: dict) -> bool:
        task = (body.get("template_card") or {}).get("task_id")
        if task:
            if task in self._task_ids:
                return True
            self._task_ids.add(task)
        if body.get("enable_duplicate_check") != 1:
            return False
        interval = int(body.get("duplicate_check_interval") or 1800)
        fingerprint = json.dumps(body, sort_keys=True, ensure_ascii=False)
        now = self._now()
        last = self._recent.get(fingerprint)
        self._recent[fingerprint] = now if last is None or now - last > interval else last
        return last is not None and now - last <= interval

    def _api_user_get(self, params: dict, body: Any) -> dict:
        user = self.users.get(params.get("userid") or "")
        if user is None:
            return _err(60111, "userid not found")
        return {"errcode": 0, "errmsg": "ok", **user}

    def _api_department_get(self, params: dict, body: Any) -> dict:
        dept = self.departments.get(int(params.get("id") or 0))
        if dept is None:
            return _err(60123, "invalid party id")
        return {"errcode": 0, "errmsg": "ok", "department": dict(dept)}


def _err(code: int, message: str) -> dict:
    return {"errcode": code, "errmsg": message}


@pytest.fixture
def fake_wecom():
    with FakeWeCom() as fake:
        yield fake
