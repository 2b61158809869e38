"""The smaller points of issue 12 (finding 9): secrets never logged, malformed input is 400 before any
signature check, /healthz tells outsiders only ok or not, chunked bodies over the limit are 413."""
from __future__ import annotations

import json
import logging
import socket
import threading

import pytest

from tests.conftest import build_container
from tests.fakes.wecom_api import fake_wecom  # noqa: F401  (the reusable fixture)
from webhooks import create_app

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


# --- secrets at every log level ------------------------------------------------------------------------------

def test_the_wecom_secret_is_never_logged_even_at_debug(sqlite_url, clock, sandbox_config, fake_wecom, caplog):
    caplog.set_level(logging.DEBUG)
    container = build_container(sqlite_url, clock, sandbox_config,
                                extra_env={"STEWARD_PLAYGROUND": "0", **fake_wecom.env()})
    try:
        connector = container.connectors["wecom"]
        assert connector.health().ok                      # fetches a token: gettoken?corpid=…&corpsecret=…
        logging.getLogger("steward.test").debug("settings %s, url %s", fake_wecom.secret,
                                                f"{fake_wecom.api_url}/gettoken?corpsecret={fake_wecom.secret}")
        logging.getLogger("steward.test").error("payload %s", json.dumps({"secret": "abc-def-ghi-jkl"}))
        try:
            raise RuntimeError(f"boom with {fake_wecom.secret}")
        except RuntimeError:
            logging.getLogger("steward.test").exception("failed")
    finally:
        container.engine.dispose()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "gettoken" in logged                           # the calls were logged, at DEBUG
    assert fake_wecom.secret not in logged
    assert "abc-def-ghi-jkl" not in logged
    assert "***" in logged
    for token in ("xoxb-1234-5678-abcdefgh", "Bearer abcdefgh12345678"):
        logging.getLogger("steward.test").warning("header %s", token)
        assert token not in caplog.records[-1].getMessage()


# --- 400 before verification ---------------------------------------------------------------------------------

@pytest.fixture
def platforms(sqlite_url, clock, sandbox_config, fake_wecom):
    from tests.connectors.dingtalk.dingtalk_support import base_env
    env = {"STEWARD_PLAYGROUND": "0", **fake_wecom.env(), **base_env(),
           "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5", "SLACK_BOT_TOKEN": "xoxb-test"}
    container = build_container(sqlite_url, clock, sandbox_config, extra_env=env)
    yield container, create_app(container).test_client()
    container.engine.dispose()


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"encrypt": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}"
DEEP_XML = b"<xml>" + b"<a>" * 5000 + b"x" + b"</a>" * 5000 + b"</xml>"
TIMESTAMPS = ["\u00b2", "9" * 5000, "1e3", "-1", " 1", "\u0661\u0662\u0663", "0x10"]


@pytest.mark.parametrize("path,body,query,headers", [
    ("/wecom/callback", DEEP_XML, {"msg_signature": "a", "timestamp": "1", "nonce": "n"}, {}),
    ("/wecom/callback", b"\xff\xfe<xml>\x00</xml>", {"msg_signature": "a", "timestamp": "1", "nonce": "n"}, {}),
    ("/wecom/aibot", DEEP_JSON, {"msg_signature": "a", "timestamp": "1", "nonce": "n"}, {}),
    ("/wecom/aibot", DEEP_OBJECT, {"msg_signature": "a", "timestamp": "1", "nonce": "n"}, {}),
    ("/dingtalk/events", DEEP_JSON, {"msg_signature": "a", "timestamp": "1", "nonce": "n"}, {}),
    ("/dingtalk/events", DEEP_OBJECT, {"msg_signature": "a", "timestamp": "1", "nonce": "n"}, {}),
    ("/dingtalk/robot", DEEP_JSON, {}, {"timestamp": "1", "sign": "x"}),
    ("/slack/events", DEEP_JSON, {}, {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"}),
    ("/slack/events", b"\xff\xfe", {}, {"X-Slack-Request-Timestamp": "\u00b2", "X-Slack-Signature": "v0=0"}),
])
def test_malformed_input_is_4xx_never_5xx(platforms, path, body, query, headers):
    _, client = platforms
    r = client.post(path, data=body, query_string=query, headers=headers, content_type="application/json")
    assert 400 <= r.status_code < 500, (path, r.status_code)


@pytest.mark.parametrize("timestamp", TIMESTAMPS)
def test_a_malformed_timestamp_is_400(platforms, timestamp):
    _, client = platforms
    for path, query, headers in (
            ("/wecom/callback", {"msg_signature": "a", "timestamp": timestamp, "nonce": "n", "echostr": "x"}, {}),
            ("/dingtalk/robot", {}, {"timestamp": timestamp, "sign": "x"}),
            ("/dingtalk/events", {"msg_signature": "a", "timestamp": timestamp, "nonce": "n"}, {})):
        method = client.get if path == "/wecom/callback" else client.post
        r = method(path, query_string=query, headers=headers, data=b'{"encrypt": "x"}',
                   content_type="application/json")
        assert r.status_code == 400, (path, timestamp, r.status_code)


# --- /healthz -----------------------------------------------------------------------------------------------

@pytest.fixture
def health(sqlite_url, clock, sandbox_config):
    def make(**env):
        container = build_container(sqlite_url, clock, sandbox_config, extra_env=env)
        made.append(container)
        return container, create_app(container).test_client()
    made: list = []
    yield make
    for c in made:
        c.engine.dispose()


def test_healthz_tells_an_outsider_only_ok_or_not(health):
    _, client = health(STEWARD_HEALTH_TOKEN="health-token-0123456789")
    r = client.get("/healthz", environ_base=REMOTE)
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert client.get("/healthz?deep=1", environ_base=REMOTE).get_json() == {"status": "ok"}
    relayed = client.get("/healthz", environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"})
    assert relayed.get_json() == {"status": "ok"}
    wrong = client.get("/healthz", environ_base=REMOTE, headers={"Authorization": "Bearer guess"})
    assert wrong.get_json() == {"status": "ok"}
    shown = client.get("/healthz", environ_base=REMOTE, headers={"Authorization": "Bearer health-token-0123456789"})
    assert shown.get_json()["checks"]["database"] == "ok"
    local = client.get("/healthz", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.get_json()["checks"]["connectors"] == ["sandbox"]


def test_healthz_never_shows_where_the_database_is(health, tmp_path):
    container, client = health()
    from core.db.session import make_engine
    container.engine.dispose()
    container.engine = make_engine("postgresql://steward:hunter22@db.internal.example:1/steward?connect_timeout=1")
    for environ in (REMOTE, {"REMOTE_ADDR": "127.0.0.1"}):
        r = client.get("/healthz", environ_base=environ)
        assert r.status_code == 503
        assert "db.internal.example" not in r.get_data(as_text=True) and "hunter22" not in r.get_data(as_text=True)
    assert client.get("/healthz", environ_base=REMOTE).get_json() == {"status": "unavailable"}


def test_deep_health_checks_are_rate_limited(health):
    container, client = health()
    calls = []
    sandbox = container.connectors["sandbox"]
    original = sandbox.health

    def counted():
        calls.append(1)
        return original()
    sandbox.health = counted
    for _ in range(5):
        r = client.get("/healthz?deep=1")
        assert r.status_code == 200 and r.get_json()["checks"]["sandbox"] == "ok"
    assert len(calls) == 1


# --- chunked bodies ---------------------------------------------------------------------------------------------

def _chunked_post(port: int, path: str, size: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode())
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                piece = chunk[:min(len(chunk), size - sent)]
                s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        while not answer.endswith(b"\r\n\r\n") and b"\r\n" not in answer:
            data = s.recv(4096)
            if not data:
                break
            answer += data
        return int(answer.split(b" ", 2)[1])


def test_a_chunked_body_over_the_limit_is_413_not_cut_short(health):
    from werkzeug.serving import make_server
    container, _ = health(STEWARD_PLAYGROUND="0", **{"DINGTALK_APP_KEY": "k", "DINGTALK_APP_SECRET": "s" * 16,
                                                      "DINGTALK_ROBOT_CODE": "k"})
    httpd = make_server("127.0.0.1", 0, create_app(container), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        assert _chunked_post(httpd.server_port, "/dingtalk/robot", 1024 * 1024 + 4096) == 413
        assert _chunked_post(httpd.server_port, "/dingtalk/robot", 4 * 1024 * 1024) == 413
        assert _chunked_post(httpd.server_port, "/dingtalk/robot", 2048) == 401     # read whole, then refused
    finally:
        httpd.shutdown()
