"""The DingTalk connector's contract (tests/connectors/contract.py): the robot's signed timestamp, and
the event subscription's signature over its AES-encrypted body."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime

from connectors.base import Headers, InboundRequest
from tests.connectors.contract import ROOT, Contract
from tests.connectors.dingtalk.dingtalk_support import FIXTURES, base_env, encrypt_event, event_request, robot_request

_SENT = itertools.count(1)


def sign_for_test(endpoint: str, body: bytes, now: datetime) -> InboundRequest:
    # every request DingTalk sends has its own timestamp: a robot signature is single-use
    timestamp = str(int(now.timestamp() * 1000) - next(_SENT))
    if endpoint == "robot":
        return robot_request(body, timestamp)
    assert endpoint == "events"
    return event_request(*encrypt_event(body, timestamp))


def tamper(request: InboundRequest) -> InboundRequest:
    if request.endpoint == "robot":      # the robot's signature covers the timestamp and the secret only
        sign = request.headers["sign"]
        return replace(request, headers=Headers({**request.headers, "sign": ("A" if sign[0] != "A" else "B") + sign[1:]}))
    signature = request.query["msg_signature"]
    return replace(request, query={**request.query,
                                   "msg_signature": signature[:-1] + ("0" if signature[-1] != "0" else "1")})


CONTRACT = Contract(
    platform="dingtalk",
    env=base_env(DINGTALK_API_URL="http://127.0.0.1:9", DINGTALK_OAPI_URL="http://127.0.0.1:9"),
    sign=sign_for_test,
    tamper=tamper,
    samples={"robot": (FIXTURES / "robot__direct_text.json").read_bytes(),
             "events": (FIXTURES / "events__user_leave_org.json").read_bytes()},
    readme=ROOT / "connectors" / "dingtalk" / "README.md",
    fixtures=FIXTURES,
    endpoint_of=lambda name: "robot" if name.startswith("robot__") else "events",
)
