"""The pager's contract (tests/connectors/contract.py)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from connectors.base import Headers, InboundRequest
from tests.connectors.contract import Contract
from tests.connectors.pager.connector import signature

HERE = Path(__file__).parent
SECRET = "pager-contract-secret"


def sign_for_test(endpoint: str, body: bytes, now: datetime) -> InboundRequest:
    timestamp = str(int(now.timestamp()))
    return InboundRequest("POST", f"/pager/{endpoint}", endpoint,
                          Headers({"Content-Type": "application/json", "X-Pager-Timestamp": timestamp,
                                   "X-Pager-Signature": signature(SECRET, timestamp, body)}), {}, body)


def tamper(request: InboundRequest) -> InboundRequest:
    return replace(request, body=request.body.replace(b"hello", b"HELLO"))


CONTRACT = Contract(
    platform="pager", env={"PAGER_SECRET": SECRET}, sign=sign_for_test, tamper=tamper,
    samples={"hook": (HERE / "fixtures" / "message__plain.json").read_bytes()},
    readme=HERE / "README.md", fixtures=HERE / "fixtures", endpoint_of=lambda name: "hook",
)
