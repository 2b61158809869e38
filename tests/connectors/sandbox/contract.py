"""The sandbox's contract (tests/connectors/contract.py): no secret, so only this machine is answered."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from connectors.base import Headers, InboundRequest
from tests.connectors.contract import ROOT, Contract

REMOTE = "X-Steward-Remote-Addr"
TOKEN = "contract-playground-token"


def sign_for_test(endpoint: str, body: bytes, now: datetime) -> InboundRequest:
    return InboundRequest("POST", f"/sandbox/{endpoint}", endpoint,
                          Headers({"Content-Type": "application/json", REMOTE: "127.0.0.1", "Host": "localhost",
                                   "X-Steward-CSRF": TOKEN}), {}, body)


def tamper(request: InboundRequest) -> InboundRequest:
    return replace(request, headers=Headers({**request.headers, REMOTE.lower(): "203.0.113.9"}))


CONTRACT = Contract(
    platform="sandbox",
    env={"STEWARD_PLAYGROUND_TOKEN": TOKEN},
    sign=sign_for_test,
    tamper=tamper,
    samples={"messages": json.dumps({"user_id": "bob", "chat_id": "new-hires", "text": "@steward help"}).encode(),
             "cards": json.dumps({"user_id": "adam", "action": "case.approve", "value": "C000003"}).encode()},
    readme=ROOT / "connectors" / "sandbox" / "README.md",
    stale_by=None,
)
