"""A fake Slack Web API on 127.0.0.1, speaking the real wire format so slack_sdk's WebClient runs for real.

- `POST /api/<method>` with a form or JSON body and `Authorization: Bearer <token>`;
  answers `{"ok": true, ...}` or `{"ok": false, "error": "..."}` (HTTP 200), 429 with `Retry-After`,
  or a 5xx, as Slack does.
- Keeps just enough state to answer like Slack: channel members (kick/invite, conversations.members in
  cursor pages of `limit`), posted messages and
  their authors (chat.delete with a bot token only deletes the bot's own), pins, users (users.info).
- Records every call (`calls`: method, args, token, content type) and can be told to fail the next
  call of a method (`fail_next`).
- Files: `add_file` makes a file a member sent (files.info names its `url_private_download`, served here
  to the bot token only: the call `files.download`); files_upload_v2's three steps are served too
  (files.getUploadURLExternal, a POST to the upload URL: the call `files.upload_url`, then
  files.completeUploadExternal), and `state.shared` keeps what was posted into which channel.
- Optionally serves Socket Mode: `apps.connections.open` hands out a ws:// URL of a small WebSocket
  server (`socket_send` pushes an envelope, `socket_acks` collects the app's acknowledgements).

Use the `fake_slack` fixture (import it into a conftest.py), or `with FakeSlack() as slack: ...`.
"""
from __future__ import annotations

import base64
import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.file_transfer import send_bytes
from tests.fakes.server import FakeServer

BOT_TOKEN = "xoxb-0000000000-fake-bot-token"
ADMIN_TOKEN = "xoxp-0000000000-fake-admin-token"
APP_TOKEN = "xapp-1-A0STEWARD-fake-app-token"
TEAM_ID = "T0STEWARD"
BOT_USER_ID = "U0STEWARD"
BOT_ID = "B0STEWARD"
ADMIN_USER_ID = "U0ADMIN01"


@dataclass(frozen=True)
class Call:
    method: str                 # "chat.postMessage"
    args: dict[str, Any]        # form fields or the JSON body (plus query-string parameters)
    token: str | None           # from "Authorization: Bearer ..."
    content_type: str
    authorization: str | None   # the raw header


@dataclass
class _Failure:
    error: str | None
    status: int
    retry_after: float | None
    delay: float
    body: str | None


@dataclass
class SlackState:
    members: dict[str, set[str]] = field(default_factory=dict)       # channel -> user ids
    messages: dict[tuple[str, str], dict] = field(default_factory=dict)  # (channel, ts) -> message
    pins: set[tuple[str, str]] = field(default_factory=set)
    users: dict[str, dict] = field(default_factory=dict)             # users.info "user" objects
    files: dict[str, dict] = field(default_factory=dict)             # files.info "file" objects
    contents: dict[str, bytes] = field(default_factory=dict)         # file id -> bytes (downloads, uploads)
    chunked: set[str] = field(default_factory=set)                   # downloads sent without Content-Length
    shared: list[dict] = field(default_factory=list)                 # files.completeUploadExternal results


class FakeSlack(FakeServer):
    name = "fake-slack"

    def __init__(self, *, bot_token: str = BOT_TOKEN, admin_token: str = ADMIN_TOKEN,
                 app_token: str = APP_TOKEN) -> None:
        self.tokens = {bot_token: BOT_USER_ID, admin_token: ADMIN_USER_ID}
        self.bot_token, self.admin_token, self.app_token = bot_token, admin_token, app_token
        self.calls: list[Call] = []
        self.state = SlackState()
        self._failures: dict[str, list[_Failure]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._socket: _FakeSocketMode | None = None

    # --- lifecycle (tests/fakes/server.py) ---------------------------------------------------------
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Handler):
            slack = fake

        return Handler

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.stop()
            self._socket = None
        super().stop()

    @property
    def url(self) -> str:
        """The value for SLACK_API_URL."""
        return f"{self.origin}/api/"

    def env(self, *, signing_secret: str = "fake-signing-secret", admin: bool = True,
            app: bool = False) -> dict[str, str]:
        """An environment for SlackConnector.from_env pointing at this fake."""
        env = {"SLACK_SIGNING_SECRET": signing_secret, "SLACK_BOT_TOKEN": self.bot_token,
               "SLACK_API_URL": self.url}
        if admin:
            env["SLACK_ADMIN_USER_TOKEN"] = self.admin_token
        if app:
            env["SLACK_APP_TOKEN"] = self.app_token
        return env

    # --- scripting ---------------------------------------------------------------------------------
    def fail_next(self, method: str, error: str | None = None, *, status: int = 200,
                  retry_after: float | None = None, delay: float = 0.0, times: int = 1,
                  body: str | None = None) -> None:
        """Make the next `times` calls of `method` fail like Slack does.

        error="restricted_action" -> HTTP 200 {"ok": false, "error": "restricted_action"};
        status=429, retry_after=30 -> HTTP 429 with "Retry-After: 30" and {"ok":false,"error":"ratelimited"};
        status=503 -> a 5xx (body defaults to Slack's HTML-ish gateway text);
        delay=2.0 -> answer only after 2 s (client timeouts).
        """
        if status == 429 and error is None:
            error = "ratelimited"
        with self._lock:
            self._failures.setdefault(method, []).extend(
                _Failure(error, status, retry_after, delay, body) for _ in range(times))

    def add_channel(self, channel: str, *members: str) -> None:
        with self._lock:
            self.state.members.setdefault(channel, set()).update(members)

    def add_message(self, channel: str, ts: str, user: str, text: str = "") -> None:
        with self._lock:
            self.state.messages[(channel, ts)] = {"type": "message", "user": user, "text": text, "ts": ts}

    def add_user(self, user_id: str, *, name: str, real_name: str = "", title: str = "", email: str = "",
                 deleted: bool = False) -> None:
        with self._lock:
            self.state.users[user_id] = {
                "id": user_id, "team_id": TEAM_ID, "name": name, "deleted": deleted, "real_name": real_name,
                "is_bot": False, "tz": "Asia/Shanghai",
                "profile": {"title": title, "real_name": real_name, "display_name": name, "email": email},
            }

    def add_file(self, file_id: str, name: str, content: bytes, *, user: str = "U0MEMBER1",
                 mimetype: str = "application/octet-stream", claimed_size: int | None = None,
                 chunked: bool = False) -> dict:
        """A file a member sent; `claimed_size` is what files.info says (default: the real size)."""
        info = {"id": file_id, "name": name, "title": name, "mimetype": mimetype, "filetype": name.rsplit(".")[-1],
                "user": user, "size": len(content) if claimed_size is None else claimed_size, "mode": "hosted",
                "is_external": False, "url_private": f"{self.base}/files-pri/{TEAM_ID}-{file_id}/{name}",
                "url_private_download": f"{self.base}/files-pri/{TEAM_ID}-{file_id}/download/{name}"}
        with self._lock:
            self.state.files[file_id] = info
            self.state.contents[file_id] = content
            if chunked:
                self.state.chunked.add(file_id)
        return info

    @property
    def base(self) -> str:
        assert self._server is not None, "FakeSlack is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # --- Socket Mode -------------------------------------------------------------------------------
    def enable_socket_mode(self) -> "_FakeSocketMode":
        if self._socket is None:
            self._socket = _FakeSocketMode().start()
        return self._socket

    # --- the Web API -------------------------------------------------------------------------------
    def _answer(self, call: Call) -> tuple[int, dict[str, str], str, float]:
        with self._lock:
            self.calls.append(call)
            pending = self._failures.get(call.method)
            failure = pending.pop(0) if pending else None
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            if failure.status >= 500:
                return failure.status, headers, failure.body or "upstream connect error", failure.delay
            return failure.status, headers, json.dumps({"ok": False, "error": failure.error or "fatal_error"}), \
                failure.delay
        data = self._method(call)
        return 200, {}, json.dumps(data), 0.0

    def _method(self, call: Call) -> dict:
        if call.method == "apps.connections.open":
            if call.token != self.app_token:
                return {"ok": False, "error": "invalid_auth"}
            if self._socket is None:
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": self._socket.url}
        if call.token is None:
            return {"ok": False, "error": "not_authed"}
        actor = self.tokens.get(call.token)
        if actor is None:
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "_m_" + call.method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            return handler(call.args, actor)

    def _next_ts(self) -> str:
        return f"1760000000.{next(self._ts):06d}"

    def _m_auth_test(self, args: dict, actor: str) -> dict:
        out = {"ok": True, "url": "https://steward-test.slack.com/", "team": "Steward Test", "user": "steward",
               "team_id": TEAM_ID, "user_id": actor}
        if actor == BOT_USER_ID:
            out["bot_id"] = BOT_ID
        return out

    def _m_chat_postMessage(self, args: dict, actor: str) -> dict:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = {"type": "message", "user": actor, "bot_id": BOT_ID, "text": args.get("text", ""), "ts": ts}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("blocks"):
            message["blocks"] = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
        if args.get("metadata"):   # kept and returned by conversations.history/replies with include_all_metadata
            meta = args["metadata"] if isinstance(args["metadata"], dict) else json.loads(args["metadata"])
            message["metadata"] = meta
        self.state.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _history(self, args: dict, keep) -> dict:
        """The channel's messages, newest first, up to `limit`; metadata only with include_all_metadata."""
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = sorted(((ts, m) for (c, ts), m in self.state.messages.items() if c == channel and keep(ts, m)),
                       key=lambda x: float(x[0]), reverse=True)[:int(args.get("limit") or 100)]
        out = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for _, m in found]
        return {"ok": True, "messages": out, "has_more": False}

    def _m_conversations_history(self, args: dict, actor: str) -> dict:
        return self._history(args, lambda ts, m: True)

    def _m_conversations_replies(self, args: dict, actor: str) -> dict:
        parent = args.get("ts")
        if not parent:
            return {"ok": False, "error": "thread_not_found"}
        return self._history(args, lambda ts, m: ts == parent or m.get("thread_ts") == parent)

    def _m_chat_postEphemeral(self, args: dict, actor: str) -> dict:
        channel, user = args.get("channel"), args.get("user")
        if not channel or not user:
            return {"ok": False, "error": "channel_not_found" if not channel else "user_not_found"}
        members = self.state.members.get(channel)
        if members is not None and user not in members:
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_delete(self, args: dict, actor: str) -> dict:
        key = (args.get("channel"), args.get("ts"))
        message = self.state.messages.get(key)  # type: ignore[arg-type]
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        # chat.delete: "When used with a bot token, this method may delete only messages posted by that bot."
        if actor == BOT_USER_ID and message.get("user") != BOT_USER_ID:
            return {"ok": False, "error": "cant_delete_message"}
        del self.state.messages[key]  # type: ignore[arg-type]
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _m_conversations_open(self, args: dict, actor: str) -> dict:
        users = args.get("users")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if users in self.state.users and self.state.users[users].get("deleted"):
            return {"ok": False, "error": "user_disabled"}
        return {"ok": True, "channel": {"id": "D" + users.lstrip("UW")[:10]}}

    def _m_conversations_kick(self, args: dict, actor: str) -> dict:
        channel, user = args.get("channel"), args.get("user")
        if user == actor:
            return {"ok": False, "error": "cant_kick_self"}
        members = self.state.members.get(channel)  # type: ignore[arg-type]
        if members is not None:
            if user not in members:
                return {"ok": False, "error": "not_in_channel"}
            members.discard(user)  # type: ignore[arg-type]
        return {"ok": True}

    def _m_conversations_invite(self, args: dict, actor: str) -> dict:
        channel, users = args.get("channel"), str(args.get("users") or "")
        members = self.state.members.get(channel)  # type: ignore[arg-type]
        if members is not None:
            if actor not in members:
                return {"ok": False, "error": "not_in_channel"}
            if users in members:
                return {"ok": False, "error": "already_in_channel"}
            members.update(users.split(","))
        return {"ok": True, "channel": {"id": channel}}

    def _m_conversations_members(self, args: dict, actor: str) -> dict:
        """Pages of `limit` (default 100, at most 1000) user ids; `next_cursor` is "" on the last page."""
        members = self.state.members.get(args.get("channel"))  # type: ignore[arg-type]
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        try:
            limit = int(args.get("limit") or 100)
            start = int(base64.b64decode(str(args["cursor"])).decode().removeprefix("offset:")) \
                if args.get("cursor") else 0
        except (ValueError, UnicodeDecodeError):
            return {"ok": False, "error": "invalid_cursor"}
        if not 1 <= limit <= 1000:
            return {"ok": False, "error": "invalid_limit"}
        page = sorted(members)[start:start + limit]
        more = start + limit < len(members)
        cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _m_pins_add(self, args: dict, actor: str) -> dict:
        key = (args.get("channel"), args.get("timestamp"))
        if key in self.state.pins:
            return {"ok": False, "error": "already_pinned"}
        self.state.pins.add(key)  # type: ignore[arg-type]
        return {"ok": True}

    def _m_files_info(self, args: dict, actor: str) -> dict:
        info = self.state.files.get(args.get("file"))  # type: ignore[arg-type]
        if info is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": info}

    def _m_files_getUploadURLExternal(self, args: dict, actor: str) -> dict:
        if not args.get("filename") or int(args.get("length") or 0) <= 0:
            return {"ok": False, "error": "missing_argument"}
        file_id = f"F0UP{next(self._ts):06d}"
        self.state.files[file_id] = {"id": file_id, "name": args["filename"], "size": int(args["length"]),
                                     "mode": "hosted", "uploaded": False}
        return {"ok": True, "upload_url": f"{self.base}/upload/v1/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict, actor: str) -> dict:
        files = json.loads(args.get("files") or "[]")
        done = []
        for item in files:
            info = self.state.files.get(item.get("id"))
            if info is None or not info.get("uploaded"):
                return {"ok": False, "error": "file_not_found"}
            info["title"] = item.get("title") or info["name"]
            done.append({"id": info["id"], "name": info["name"], "title": info["title"]})
            self.state.shared.append({"channel": args.get("channel_id"), "file_id": info["id"], "name": info["name"],
                                      "content": self.state.contents.get(info["id"], b""),
                                      "initial_comment": args.get("initial_comment")})
        return {"ok": True, "files": done}

    def _download(self, req: "BaseHTTPRequestHandler", path: str, authorization: str | None) -> None:
        """GET url_private_download: the bytes, to a bearer of a valid token (Slack answers a login page
        otherwise)."""
        file_id = path.split("/")[2].split("-", 1)[-1]
        token = authorization[len("Bearer "):] if authorization and authorization.startswith("Bearer ") else None
        status, headers, body, delay = self._answer(Call("files.download", {"file": file_id}, token, "", authorization))
        if status != 200:
            req._send(status, headers, body)   # type: ignore[attr-defined]
            return
        if token not in self.tokens or file_id not in self.state.contents:
            req._send(404, {}, "not found")    # type: ignore[attr-defined]
            return
        send_bytes(req, self.state.contents[file_id], self.state.files[file_id].get("mimetype", ""),
                   chunked=file_id in self.state.chunked)

    def _upload(self, req: "BaseHTTPRequestHandler", path: str, raw: bytes) -> None:
        file_id = path.rsplit("/", 1)[-1]
        status, headers, body, delay = self._answer(Call("files.upload_url", {"file": file_id, "length": len(raw)},
                                                         None, "", None))
        if status != 200:
            req._send(status, headers, body)   # type: ignore[attr-defined]
            return
        with self._lock:
            info = self.state.files.get(file_id)
            if info is None or info["size"] != len(raw):
                req._send(400, {}, "bad upload")   # type: ignore[attr-defined]
                return
            info["uploaded"] = True
            self.state.contents[file_id] = raw
        req._send(200, {"Content-Type": "text/plain"}, f"OK - {len(raw)}")   # type: ignore[attr-defined]

    def _m_users_info(self, args: dict, actor: str) -> dict:
        user = self.state.users.get(args.get("user"))  # type: ignore[arg-type]
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}


class _Handler(BaseHTTPRequestHandler):
    slack: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path.startswith("/files-pri/") and self.command == "GET":
            self.slack._download(self, parts.path, self.headers.get("Authorization"))
            return
        if parts.path.startswith("/upload/v1/") and self.command == "POST":
            self.slack._upload(self, parts.path, raw)
            return
        if not parts.path.startswith("/api/"):
            self._send(404, {}, "not found")
            return
        method = parts.path[len("/api/"):]
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        args: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if content_type == "application/json" and raw:
            args.update(json.loads(raw))
        elif raw:
            args.update({k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()})
        authorization = self.headers.get("Authorization")
        token = authorization[len("Bearer "):] if authorization and authorization.startswith("Bearer ") else None
        if token is None and isinstance(args.get("token"), str):
            token = args.pop("token")
        status, headers, body, delay = self.slack._answer(
            Call(method=method, args=args, token=token, content_type=content_type, authorization=authorization))
        if delay:
            time.sleep(delay)
        content = "application/json; charset=utf-8" if body.startswith("{") else "text/plain; charset=utf-8"
        self._send(status, {"Content-Type": content, **headers}, body)

    def _send(self, status: int, headers: dict[str, str], body: str) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


class _FakeSocketMode:
    """A WebSocket endpoint like wss-primary.slack.com/link: says hello, pushes envelopes, collects acks."""

    def __init__(self) -> None:
        self.acks: "queue.Queue[dict]" = queue.Queue()
        self._outbox: "queue.Queue[dict]" = queue.Queue()
        self._server = None
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def start(self) -> "_FakeSocketMode":
        from websockets.sync.server import serve

        self._server = serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack-socket", daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        port = self._server.socket.getsockname()[1]  # type: ignore[union-attr]
        return f"ws://127.0.0.1:{port}/link/?ticket=fake-ticket&app_id=A0STEWARD"

    def send(self, envelope: dict) -> None:
        self._outbox.put(envelope)

    def _session(self, websocket: Any) -> None:
        websocket.send(json.dumps({"type": "hello", "num_connections": 1,
                                   "connection_info": {"app_id": "A0STEWARD"},
                                   "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600}}))
        self.connected.set()
        while True:
            try:
                envelope = self._outbox.get(timeout=0.05)
                websocket.send(json.dumps(envelope))
            except queue.Empty:
                try:
                    websocket.ping()   # as Slack does; also lets the SDK client's reader let go promptly
                except Exception:
                    return
            except Exception:
                return
            try:
                message = websocket.recv(timeout=0.01)
            except TimeoutError:
                continue
            except Exception:
                return
            if isinstance(message, str) and message.startswith("{"):
                self.acks.put(json.loads(message))

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


# --- what a reader sees ----------------------------------------------------------------------------
# Slack's mrkdwn styles, by the documented rule: a marker opens after the start, a space or punctuation and
# before a non-space; it closes after a non-space and before the end, a space or punctuation.
_STYLES = {"bold": "*", "italic": "_", "strike": "~", "code": "`"}
_EDGE = r"(?:^|(?<=[\s.,;:!?()\[\]'\"“”「」（）]))"
_AFTER = r"(?=$|[\s.,;:!?()\[\]'\"“”「」（）])"


def _mrkdwn(text: str) -> tuple[str, set[str]]:
    import re
    styles: set[str] = set()
    if re.search(r"```[\s\S]+?```", text):
        styles.add("preformatted")
        text = re.sub(r"```([\s\S]+?)```", r"\1", text)
    if re.search(r"(?m)^&gt;", text):
        styles.add("quote")
        text = re.sub(r"(?m)^&gt; ?", "", text)
    for style, mark in _STYLES.items():
        m = re.escape(mark)
        pattern = rf"{_EDGE}{m}(?=\S)(.+?)(?<=\S){m}{_AFTER}"
        if re.search(pattern, text):
            styles.add(style)
            text = re.sub(pattern, r"\1", text)
    text = re.sub(r"<@([UW][A-Z0-9]+)>", r"@\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"), styles


def shown(message: dict) -> tuple[str, set[str]]:
    """The words a Slack reader sees in a posted message (its args) and the styles Slack applied to them.
    Blocks win over `text` (then only a notification's fallback); rich text and plain text are shown as
    written (a rich text element's own `style` counts), mrkdwn text (top-level `text` unless `mrkdwn` is
    false, mrkdwn text objects) is formatted."""
    blocks = message.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not blocks:
        if message.get("mrkdwn") is False:
            return _mrkdwn_entities(message.get("text", "")), set()
        return _mrkdwn(message.get("text", ""))
    words: list[str] = []
    styles: set[str] = set()
    for block in blocks:
        if block["type"] == "rich_text":
            for section in block["elements"]:
                for element in section["elements"]:
                    if element["type"] == "text":
                        words.append(element["text"])
                        styles |= {k for k, v in (element.get("style") or {}).items() if v}
                    elif element["type"] == "user":
                        words.append(f"@{element['user_id']}")
        elif block["type"] in ("header", "section") and block.get("text"):
            if block["text"]["type"] == "plain_text":
                words.append(block["text"]["text"])
            else:
                text, applied = _mrkdwn(block["text"]["text"])
                words.append(text)
                styles |= applied
        if block["type"] != "actions":
            words.append("\n")
    return "".join(words).rstrip("\n"), styles


def _mrkdwn_entities(text: str) -> str:
    import re
    text = re.sub(r"<@([UW][A-Z0-9]+)>", r"@\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
