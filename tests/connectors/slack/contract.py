"""The Slack connector's contract (tests/connectors/contract.py): v0 signatures over the raw body."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from connectors.base import Headers, InboundRequest
from tests.connectors.contract import ROOT, Contract
from tests.connectors.slack.slack_helpers import FIXTURES, SECRET, fixture_wire, make_request, sign


def sign_for_test(endpoint: str, body: bytes, now: datetime) -> InboundRequest:
    assert endpoint == "events"
    content_type = "application/json" if body.lstrip()[:1] == b"{" else "application/x-www-form-urlencoded"
    ts = int(now.timestamp())
    return make_request(body, content_type, {"X-Slack-Request-Timestamp": str(ts),
                                             "X-Slack-Signature": sign(body, ts)})


def fixture_request(name: str, now: datetime) -> InboundRequest:
    body, content_type = fixture_wire(name)
    request = sign_for_test("events", body, now)
    return replace(request, headers=Headers({**request.headers, "content-type": content_type}))


def tamper(request: InboundRequest) -> InboundRequest:
    return replace(request, body=request.body.replace(b"}", b" }", 1))


CONTRACT = Contract(
    platform="slack",
    env={"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-contract-0001",
         "SLACK_APP_TOKEN": "xapp-contract-0001", "SLACK_API_URL": "http://127.0.0.1:9/api/"},
    sign=sign_for_test,
    tamper=tamper,
    samples={"events": (FIXTURES / "message__plain.json").read_bytes()},
    readme=ROOT / "connectors" / "slack" / "README.md",
    fixtures=FIXTURES,
    endpoint_of=lambda name: "events",
    fixture_request=fixture_request,
    not_replayed={"socket__events_api.json": "test_slack_socket.py"},   # a Socket Mode envelope, no HTTP
)
