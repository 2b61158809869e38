"""Helpers for the Slack connector tests: signing the documented way, requests as Slack sends them."""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import urlencode

from connectors.base import Headers, InboundRequest
from core.clock import FrozenClock

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "5f4dcc3b5aa765d61d8327deb882cf99"
# Fixture names whose payload arrives as the `payload` field of a form (interactivity).
INTERACTION_PREFIXES = ("block_actions__", "view_submission__", "interaction__")


def sign(body: bytes, timestamp: int | str, secret: str = SECRET) -> str:
    """Slack's v0 signature, computed the documented way (not through slack_sdk)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def make_request(body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> InboundRequest:
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update(headers or {})
    return InboundRequest(method="POST", path="/slack/events", endpoint="events",
                          headers=Headers(all_headers), query={}, body=body)


def signed(body: bytes, content_type: str | None, clock: FrozenClock, *, secret: str = SECRET,
           timestamp: int | None = None, extra: dict[str, str] | None = None) -> InboundRequest:
    ts = int(clock.now().timestamp()) if timestamp is None else timestamp
    headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body, ts, secret)}
    headers.update(extra or {})
    return make_request(body, content_type, headers)


def fixture_wire(name: str) -> tuple[bytes, str]:
    """A fixture as Slack puts it on the wire: body bytes and content type."""
    raw = (FIXTURES / name).read_bytes()
    if name.endswith(".txt"):
        return raw, "application/x-www-form-urlencoded"
    if name.startswith(INTERACTION_PREFIXES):
        return urlencode({"payload": raw.decode("utf-8")}).encode(), "application/x-www-form-urlencoded"
    return raw, "application/json"
