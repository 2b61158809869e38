"""Signature verification on raw bytes: Slack's published vector, tampering, staleness, replays."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from slack_sdk.signature import SignatureVerifier

from connectors.base import ConnectorDeps
from connectors.slack.connector import SlackConnector
from connectors.slack.settings import SlackSettings
from connectors.slack.verify import EpochClock, SlackVerifier
from core.clock import FrozenClock
from core.errors import VerificationFailed
from core.events import CommandInvoked
from tests.connectors.slack.slack_helpers import FIXTURES, SECRET, fixture_wire, make_request, sign, signed

# Slack "Verifying requests from Slack", worked example (PLATFORMS.md 1.4).
VENDOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VENDOR_TS = 1531420618
VENDOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def vendor_clock() -> FrozenClock:
    return FrozenClock(datetime.fromtimestamp(VENDOR_TS, tz=timezone.utc))


def vendor_body() -> bytes:
    return (FIXTURES / "command__vendor_example.txt").read_bytes()


def test_vendor_vector_matches_the_documented_algorithm():
    assert sign(vendor_body(), VENDOR_TS, VENDOR_SECRET) == VENDOR_SIGNATURE
    sdk = SignatureVerifier(VENDOR_SECRET, clock=EpochClock(vendor_clock()))
    assert sdk.generate_signature(timestamp=str(VENDOR_TS), body=vendor_body()) == VENDOR_SIGNATURE


def test_vendor_vector_passes_verify_and_parses_into_a_command(deps):
    clock = vendor_clock()
    settings = SlackSettings(signing_secret=VENDOR_SECRET, bot_token="xoxb-unused", admin_user_token=None,
                             api_url="http://127.0.0.1:9/api/", app_token=None)
    connector = SlackConnector(settings, ConnectorDeps(clock=clock, tokens=deps.tokens, limiter=deps.limiter))
    request = make_request(vendor_body(), "application/x-www-form-urlencoded", {
        "X-Slack-Request-Timestamp": str(VENDOR_TS), "X-Slack-Signature": VENDOR_SIGNATURE})
    connector.verify(request)
    result = connector.receive(request)
    assert result.events == [CommandInvoked(
        platform="slack", event_id="cmd:398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
        user_id="U2CERLKJA", text="", chat_id="G8PSS9T3V", is_direct=False, display_name="roadrunner")]


def test_vendor_vector_with_the_real_clock_is_stale():
    verifier = SlackVerifier(VENDOR_SECRET, FrozenClock(datetime(2026, 11, 25, tzinfo=timezone.utc)))
    with pytest.raises(VerificationFailed):
        verifier.verify({"X-Slack-Request-Timestamp": str(VENDOR_TS), "X-Slack-Signature": VENDOR_SIGNATURE},
                        vendor_body())


@pytest.fixture
def verifier(clock):
    return SlackVerifier(SECRET, clock)


def _headers(body: bytes, ts: int, secret: str = SECRET) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body, ts, secret)}


BODY, _ = fixture_wire("message__plain.json")


def test_a_fresh_signed_body_passes(verifier, clock):
    verifier.verify(_headers(BODY, int(clock.now().timestamp())), BODY)


@pytest.mark.parametrize("skew", [-300, 300])
def test_the_window_edge_passes(verifier, clock, skew):
    verifier.verify(_headers(BODY, int(clock.now().timestamp()) + skew), BODY)


@pytest.mark.parametrize("skew", [-301, 301, -86400])
def test_stale_or_future_timestamps_are_refused(verifier, clock, skew):
    with pytest.raises(VerificationFailed):
        verifier.verify(_headers(BODY, int(clock.now().timestamp()) + skew), BODY)


def test_a_tampered_body_is_refused(verifier, clock):
    headers = _headers(BODY, int(clock.now().timestamp()))
    with pytest.raises(VerificationFailed):
        verifier.verify(headers, BODY.replace(b"U0MEMBER1", b"U0ADMIN01"))


def test_a_body_with_one_extra_byte_is_refused(verifier, clock):
    headers = _headers(BODY, int(clock.now().timestamp()))
    with pytest.raises(VerificationFailed):
        verifier.verify(headers, BODY + b" ")


def test_a_tampered_signature_is_refused(verifier, clock):
    headers = _headers(BODY, int(clock.now().timestamp()))
    last = headers["X-Slack-Signature"][-1]
    headers["X-Slack-Signature"] = headers["X-Slack-Signature"][:-1] + ("0" if last != "0" else "1")
    with pytest.raises(VerificationFailed):
        verifier.verify(headers, BODY)


def test_another_secret_is_refused(verifier, clock):
    with pytest.raises(VerificationFailed):
        verifier.verify(_headers(BODY, int(clock.now().timestamp()), secret="not-our-secret"), BODY)


def test_replaying_a_signature_with_a_new_timestamp_is_refused(verifier, clock):
    old = int(clock.now().timestamp()) - 3600
    headers = _headers(BODY, old)
    headers["X-Slack-Request-Timestamp"] = str(int(clock.now().timestamp()))
    with pytest.raises(VerificationFailed):
        verifier.verify(headers, BODY)


def test_a_replay_inside_the_window_carries_the_same_event_id(connector, clock):
    """Verification cannot tell a replay from Slack's own retry; the core dedupes on event_id."""
    request = signed(BODY, "application/json", clock, extra={"X-Slack-Retry-Num": "1",
                                                              "X-Slack-Retry-Reason": "http_timeout"})
    connector.verify(request)
    first = connector.receive(request)
    clock.advance(seconds=120)
    connector.verify(request)
    assert connector.receive(request).events == first.events
    clock.advance(seconds=200)   # 320 s after signing
    with pytest.raises(VerificationFailed):
        connector.verify(request)


@pytest.mark.parametrize("headers", [
    {},
    {"X-Slack-Signature": "v0=abc"},
    {"X-Slack-Request-Timestamp": "1764072000"},
    {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
])
def test_missing_headers_are_refused(connector, headers):
    with pytest.raises(VerificationFailed):
        connector.verify(make_request(BODY, "application/json", headers))


@pytest.mark.parametrize("timestamp,signature", [
    ("1764072000.5", None),          # not an integer
    ("-1764072000", None),
    ("１７６４０７２０００", None),     # full-width digits
    ("99999999999999999999", None),
    (None, "v1=abcdef"),             # unknown version
    (None, "v0=é" + "0" * 63),       # non-ASCII
])
def test_malformed_headers_are_refused(verifier, clock, timestamp, signature):
    headers = _headers(BODY, int(clock.now().timestamp()))
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    with pytest.raises(VerificationFailed):
        verifier.verify(headers, BODY)


def test_a_non_utf8_body_is_refused_not_crashed(verifier, clock):
    body = b"\xff\xfe{\"type\":\"event_callback\"}"
    with pytest.raises(VerificationFailed):
        verifier.verify(_headers(body, int(clock.now().timestamp())), body)


def test_header_names_are_case_insensitive(connector, clock):
    ts = int(clock.now().timestamp())
    connector.verify(make_request(BODY, "application/json", {
        "x-slack-request-timestamp": str(ts), "X-SLACK-SIGNATURE": sign(BODY, ts)}))
