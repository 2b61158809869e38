"""A bounded fuzz test over every endpoint of every registered messenger, the playground and /healthz (issue 12):
random methods, bodies, headers and query strings never get a 5xx, and never write a row.

Hypothesis runs derandomized (the same examples on every run) against a database copied from the migrated
template, so CI is stable; `max_examples` keeps the whole test well under 30 seconds.
"""
from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from connectors import registry
from core.clock import FrozenClock
from core.config import parse_config
from tests.conftest import LOCAL, SANDBOX_CONFIG, T0, build_container
from tests.connectors.dingtalk.dingtalk_support import base_env as dingtalk_env
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app

EXAMPLES = 25          # per endpoint: the whole fuzz test runs in seconds, well under 30
TABLES = ("inbound_events", "messages", "outbox", "people", "accounts", "seen_signatures")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
QUERY_KEYS = ("msg_signature", "signature", "timestamp", "nonce", "echostr", "deep", "since", "ts", "id")
HEADER_NAMES = ("timestamp", "sign", "X-Slack-Request-Timestamp", "X-Slack-Signature", "X-Slack-Retry-Num",
                "Content-Type", "Origin", "Sec-Fetch-Site", "X-Steward-CSRF", "Authorization", "Host",
                "X-Forwarded-For", "Content-Encoding")
CONTENT_TYPES = ("application/json", "text/plain", "application/xml", "text/xml",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "")

# header values travel as latin-1 on the wire
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
                      max_size=40)
edgy_numbers = st.sampled_from(["\u00b2", "9" * 5000, "-1", "1e3", "0x1f", "\u0661\u0662", "", " ", "NaN",
                                "1700000000", "1700000000000", "99999999999999999999"])
query_text = st.one_of(edgy_numbers, st.text(max_size=60))
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)
bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["encrypt", "type", "token", "challenge", "user_id", "text", "chat_id",
                                     "action", "value", "msgtype", "conversationId", "senderStaffId"]),
                    json_values, max_size=6).map(lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 3000).map(lambda n: b"<xml>" + b"<a>" * n + b"</a>" * n + b"</xml>"),
    st.text(max_size=300).map(lambda t: f"<xml><Encrypt><![CDATA[{t}]]></Encrypt></xml>".encode("utf-8")),
    st.just(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml>&b;</xml>'),
    st.just(b"\xff\xfe\x00\x01not utf-8"),
)
requests = st.fixed_dictionaries({
    "method": st.sampled_from(METHODS),
    "query": st.dictionaries(st.sampled_from(QUERY_KEYS), query_text, max_size=4),
    "headers": st.dictionaries(st.sampled_from(HEADER_NAMES), st.one_of(edgy_numbers, header_text), max_size=5),
    "content_type": st.sampled_from(CONTENT_TYPES),
    "body": bodies,
    "local": st.booleans(),
})


def counts(container) -> dict[str, int]:
    with container.engine.connect() as conn:
        return {t: conn.scalar(select(func.count()).select_from(text(t))) for t in TABLES}


@pytest.fixture(scope="module")
def deployments(tmp_path_factory, sqlite_template):
    """Every registered messenger in one deployment, and the playground in one of its own."""
    fake = FakeWeCom()
    fake.__enter__()
    real_env = {"STEWARD_PLAYGROUND": "0", **fake.aibot_env(), **dingtalk_env(),
                "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5", "SLACK_BOT_TOKEN": "xoxb-fuzz",
                "STEWARD_HEALTH_TOKEN": "fuzz-health-token-0123"}
    built = {}
    for name, env in (("real", real_env), ("playground", {})):
        path = tmp_path_factory.mktemp(f"fuzz-{name}") / "steward.db"
        shutil.copy(sqlite_template, path)
        container = build_container(f"sqlite:///{path}", FrozenClock(T0), parse_config(SANDBOX_CONFIG),
                                    extra_env=env)
        built[name] = (container, create_app(container).test_client())
    yield built
    for container, _ in built.values():
        container.engine.dispose()
    fake.__exit__(None, None, None)


def targets() -> list[tuple[str, str]]:
    """(deployment, path): every endpoint of every registered manifest, the playground's page, /healthz."""
    out = []
    for manifest in registry.manifests():
        where = "real" if manifest.real else "playground"
        out += [(where, f"/{manifest.id}/{endpoint}") for endpoint in manifest.endpoints]
        if manifest.page:
            out += [(where, f"/{manifest.id}/"), (where, f"/{manifest.id}/state")]
    return out + [("real", "/healthz"), ("playground", "/healthz")]


def test_every_registered_endpoint_is_fuzzed():
    paths = {path for _, path in targets()}
    for manifest in registry.manifests():
        assert {f"/{manifest.id}/{e}" for e in manifest.endpoints} <= paths


@pytest.mark.parametrize("where,path", targets())
def test_fuzz_no_5xx_and_no_row_written(deployments, where, path):
    container, client = deployments[where]
    if path.split("/")[1] not in container.connectors and path != "/healthz":
        pytest.fail(f"{path}: its messenger is not configured in the fuzzed deployment")
    before = counts(container)

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests)
    def check(request):
        environ = dict(LOCAL) if request["local"] else {"REMOTE_ADDR": "203.0.113.9"}
        environ.pop("HTTP_X_STEWARD_CSRF", None)       # a random request never holds the playground's token
        headers = {k: v for k, v in request["headers"].items() if k != "Content-Type"}
        response = client.open(path, method=request["method"], query_string=request["query"], headers=headers,
                               data=request["body"], content_type=request["content_type"] or None,
                               environ_base=environ)
        assert response.status_code < 500, (request, response.status_code, response.get_data()[:200])
        assert counts(container) == before, request

    check()
