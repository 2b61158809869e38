"""Every fixture, signed at test time, through verify() and parse(): the exact events it must become."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest

from connectors.base import Payload
from connectors.slack.parse import _json_object
from core.errors import BadRequest, VerificationFailed
from core.events import (
    CardActed,
    CommandInvoked,
    FileRef,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    UserChanged,
    UserDeparted,
    UserJoinedOrg,
)
from tests.connectors.slack.slack_helpers import FIXTURES, signed


def at(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=timezone.utc)


def msg(**fields) -> MessagePosted:
    return MessagePosted(platform="slack", **fields)


# --- Events API: produced events ------------------------------------------------------------------

EXPECTED = {
    "message__plain.json": [msg(
        event_id="Ev0PLAIN0001", chat_id="C0TRAIN01", user_id="U0MEMBER1", message_id="1764072000.123456",
        text="今天的作業什麼時候交？ R&D 那份 <草稿>", sent_at=at("1764072000.123456"))],
    "message__mentions.json": [msg(
        event_id="Ev0MENTION01", chat_id="C0TRAIN01", user_id="U0MEMBER1", message_id="1764072060.000200",
        text="<@U0MEMBER2> 的報告在 這裡 (https://wiki.example.com/r?id=1&v=2)，@here 看 #skills",
        kind="link", mentions=("U0MEMBER2",), addressed=True, sent_at=at("1764072060.000200"))],
    "message__thread_reply.json": [msg(
        event_id="Ev0THREAD001", chat_id="C0TRAIN01", user_id="U0MEMBER2", message_id="1764072120.000300",
        text="週五前交", thread_id="1764072000.123456", sent_at=at("1764072120.000300"))],
    "message__file_share.json": [msg(
        event_id="Ev0FILE00001", chat_id="C0TRAIN01", user_id="U0MEMBER1", message_id="1764072180.000400",
        text="作業一", kind="image", sent_at=at("1764072180.000400"),
        files=(FileRef("F0FILE0001", "homework-1.png", 48213, "image/png"),))],
    # a file sent to Steward in the 1:1 chat, with `submit 2` as its comment (R5.2.1)
    "message__file_share_im.json": [msg(
        event_id="Ev0FILEIM001", chat_id="D0MEMBER1", user_id="U0MEMBER1", message_id="1764072240.000500",
        text="submit 2", kind="file", addressed=True, is_direct=True, sent_at=at("1764072240.000500"),
        files=(FileRef("F0FILE0002", "week2-report.pdf", 182044, "application/pdf"),))],
    "message__message_changed.json": [msg(
        event_id="Ev0EDIT00001", chat_id="C0TRAIN01", user_id="U0MEMBER1", message_id="1764072000.123456",
        text="加我微信 abc123 領資料", edited=True, sent_at=at("1764072300.000000"))],
    "message__im.json": [msg(
        event_id="Ev0IM0000001", chat_id="D0MEMBER1", user_id="U0MEMBER1", message_id="1764072620.001000",
        text="我的成績", addressed=True, is_direct=True, sent_at=at("1764072620.001000"))],
    "app_mention__mention.json": [msg(
        event_id="Ev0APPMENT01", chat_id="C0TRAIN01", user_id="U0MEMBER2", message_id="1764072880.001400",
        text="help", addressed=True, sent_at=at("1764072880.001400"))],
    "member_joined_channel__invited.json": [MemberJoined(
        platform="slack", event_id="Ev0JOINED001", chat_id="C0TRAIN01", user_id="U0MEMBER3",
        inviter_id="U0LEAD01")],
    "member_left_channel__left.json": [MemberLeft(
        platform="slack", event_id="Ev0LEFT00001", chat_id="C0TRAIN01", user_id="U0MEMBER2")],
    "user_change__deleted.json": [UserDeparted(platform="slack", event_id="Ev0DEPART001", user_id="U0MEMBER2")],
    "user_change__profile_edit.json": [UserChanged(platform="slack", event_id="Ev0PROFILE01", user_id="U0MEMBER1")],
    # a new workspace member: the onboarding rules may admit them (R2.1.2)
    "team_join__new_hire.json": [UserJoinedOrg(platform="slack", event_id="Ev0TEAMJOIN1", user_id="U0NEWHIRE1",
                                               name="赵敏", position="Sales Associate",
                                               email="zhao.min@example.com")],
    # Slash commands (form bodies) and interactivity (a `payload` field holding JSON).
    "command__steward_in_channel.txt": [CommandInvoked(
        platform="slack", event_id="cmd:1764073200.1234567890.fd7c1c3a2b1e4f5d6c7b8a9f0e1d2c3b",
        user_id="U0ADMIN01", text="warn <@U0MEMBER1> 廣告", chat_id="C0TRAIN01", display_name="admin.chen")],
    "command__steward_direct.txt": [CommandInvoked(
        platform="slack", event_id="cmd:1764073260.1234567890.0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        user_id="U0MEMBER1", text="record", chat_id=None, is_direct=True, display_name="li.lei")],
    "block_actions__case_approve.json": [CardActed(
        platform="slack", event_id="act:1764073330.412345:U0ADMIN01:case.approve", user_id="U0ADMIN01",
        action="case.approve", value="case-17", chat_id="C0TRAIN01")],
    "block_actions__repeated_action_in_dm.json": [CardActed(
        platform="slack", event_id="act:1764073390.501234:U0MEMBER1:feedback.rate#2", user_id="U0MEMBER1",
        action="feedback.rate", value="3", chat_id="D0MEMBER1")],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_into_exact_events(receive, name):
    result = receive(name)
    assert result.events == EXPECTED[name]
    assert result.status == 200
    assert result.ignored is None


# --- explicitly ignored: 200, no events, a reason ----------------------------------------------------

IGNORED = {
    "message__message_changed_unfurl.json": "message_changed without a change to the text",
    "message__bot_message.json": "message subtype bot_message: bots are not governed",
    "message__own_bot.json": "a bot's message (Steward's own included)",
    "message__message_deleted.json": "message subtype message_deleted: nothing left to moderate",
    "event_callback__reaction_added.json": "reactions are not moderated",
    "app_rate_limited__envelope.json": "Slack throttled event delivery (over 30,000 events/hour)",
    "view_submission__ignored.json": "Steward opens no modals",
}


@pytest.mark.parametrize("name", sorted(IGNORED))
def test_ignored_payloads_are_answered_200_without_events(receive, name):
    result = receive(name)
    assert (result.events, result.status, result.ignored) == ([], 200, IGNORED[name])


# --- unknown: 200 so Slack stops retrying, logged by id only ----------------------------------------

UNKNOWN = {
    "event_callback__unknown_type.json": ("unknown event type", "Ev0UNKNOWN01"),
    "interaction__unknown_type.json": ("unknown interaction type",
                                       "1764073510.1234567890.ffeeddccbbaa99887766554433221100"),
}


@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_unknown_payloads_are_answered_200_and_logged_by_id_only(receive, caplog, name):
    caplog.set_level(logging.DEBUG)
    result = receive(name)
    reason, ref = UNKNOWN[name]
    assert (result.events, result.status, result.ignored) == ([], 200, reason)
    assert ref in caplog.text
    assert "secret_body_marker" not in caplog.text


def test_url_verification_is_answered_with_the_challenge_after_verification(receive, connector):
    result = receive("url_verification__challenge.json")
    assert result.events == []
    assert result.status == 200
    assert result.body == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    assert result.content_type.startswith("text/plain")


def test_no_orphan_fixtures():
    here = Path(__file__).parent
    sources = "".join(p.read_text(encoding="utf-8") for p in here.glob("test_*.py"))
    orphans = [p.name for p in FIXTURES.iterdir() if p.name not in sources]
    assert orphans == []


# --- details of the conversion ------------------------------------------------------------------------

def test_a_retry_of_the_same_delivery_yields_the_same_event_id(receive):
    assert receive("message__plain.json").events == receive("message__plain.json").events


def test_user_change_drops_the_cached_profile(live_receive, live, fake_slack):
    fake_slack.add_user("U0MEMBER1", name="li.lei", real_name="李雷", title="Engineer I")
    assert live.user_profile("U0MEMBER1").position == "Engineer I"
    fake_slack.add_user("U0MEMBER1", name="li.lei", real_name="李雷", title="Engineer II")
    assert live.user_profile("U0MEMBER1").position == "Engineer I"       # cached
    live_receive("user_change__profile_edit.json")
    assert live.user_profile("U0MEMBER1").position == "Engineer II"      # read again
    assert len(fake_slack.calls_to("users.info")) == 2


def _event(event: dict, event_id: str = "Ev0TEST00001") -> bytes:
    return json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T0STEWARD", "event": event,
                       "authorizations": [{"user_id": "U0STEWARD", "is_bot": True}]}).encode()


def _parse(connector, clock, body: bytes, content_type: str | None = "application/json"):
    request = signed(body, content_type, clock)
    connector.verify(request)
    return connector.receive(request)


@pytest.mark.parametrize("mimetype,kind", [
    ("audio/webm", "voice"), ("video/mp4", "video"), ("application/pdf", "file"), ("image/jpeg", "image")])
def test_file_kinds(connector, clock, mimetype, kind):
    body = _event({"type": "message", "subtype": "file_share", "user": "U0MEMBER1", "channel": "C0TRAIN01",
                   "channel_type": "channel", "ts": "1764072000.000001", "text": "",
                   "files": [{"id": "F1", "mimetype": mimetype}]})
    assert _parse(connector, clock, body).events[0].kind == kind


def test_a_thread_parent_has_no_thread_id(connector, clock):
    body = _event({"type": "message", "user": "U0MEMBER1", "channel": "C0TRAIN01", "channel_type": "channel",
                   "ts": "1764072000.000001", "thread_ts": "1764072000.000001", "text": "parent"})
    assert _parse(connector, clock, body).events[0].thread_id is None


def test_a_literal_angle_bracket_typed_by_a_member_is_not_a_mention(connector, clock):
    body = _event({"type": "message", "user": "U0MEMBER1", "channel": "C0TRAIN01", "channel_type": "channel",
                   "ts": "1764072000.000001", "text": "a &lt; b &amp;&amp; c &gt; d"})
    event = _parse(connector, clock, body).events[0]
    assert (event.text, event.mentions, event.addressed) == ("a < b && c > d", (), False)


def test_an_unknown_message_subtype_is_ignored_and_logged(connector, clock, caplog):
    caplog.set_level(logging.WARNING, logger="connectors.slack.parse")   # whatever an earlier test left the root at
    body = _event({"type": "message", "subtype": "huddle_thread", "channel": "C0TRAIN01",
                   "ts": "1764072000.000001", "text": "secret_body_marker"}, event_id="Ev0HUDDLE001")
    result = _parse(connector, clock, body)
    assert (result.events, result.ignored) == ([], "unknown message subtype")
    assert "Ev0HUDDLE001" in caplog.text and "secret_body_marker" not in caplog.text


def test_an_ssl_check_is_answered_200(connector, clock):
    result = _parse(connector, clock, b"ssl_check=1&token=abc", "application/x-www-form-urlencoded")
    assert (result.events, result.status) == ([], 200)


def test_content_type_may_be_missing(connector, clock):
    body, _ = (FIXTURES / "message__im.json").read_bytes(), None
    assert _parse(connector, clock, body, None).events[0].is_direct is True


@pytest.mark.parametrize("extra", [b'"\\ud800"', b"NaN", b"1e400", b"123456789012345678901234567890",
                                   b"-9300000000000000000"])
def test_json_the_fast_reader_refuses_is_read_as_the_standard_library_reads_it(connector, clock, extra):
    """A lone surrogate escape, NaN, a number beyond a double (not RFC 8259 JSON), an integer beyond 64 bits:
    read to the values the standard library reads."""
    text = "a lone \\ud83d and the rest" if extra == b'"\\ud800"' else "ok"
    body = _event({"type": "message", "user": "U0MEMBER1", "channel": "C0TRAIN01", "channel_type": "channel",
                   "ts": "1764072000.000001", "text": text})
    body = body[:-1] + b', "x_extra": ' + extra + b"}"
    event = _parse(connector, clock, body).events[0]
    assert event.text == json.loads(body)["event"]["text"]
    assert repr(_json_object(body, "body")) == repr(json.loads(body))      # the same values, ints as ints


# --- malformed bodies: BadRequest (400), nothing produced ----------------------------------------------

def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


MALFORMED = {
    "json syntax": (b'{"type": "event_callback", ', "application/json"),
    "json array": (b'[1, 2, 3]', "application/json"),
    "json nested too deep": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "event_callback without event_id": (b'{"type": "event_callback", "event": {"type": "message"}}',
                                        "application/json"),
    "event_callback without event": (b'{"type": "event_callback", "event_id": "Ev1"}', "application/json"),
    "message without channel": (_event({"type": "message", "user": "U1", "ts": "1.2", "text": "x"}),
                                "application/json"),
    "message without ts": (_event({"type": "message", "user": "U1", "channel": "C1", "text": "x"}),
                           "application/json"),
    "member_joined without user": (_event({"type": "member_joined_channel", "channel": "C1"}),
                                   "application/json"),
    "user_change without user": (_event({"type": "user_change"}), "application/json"),
    "url_verification without challenge": (b'{"type": "url_verification"}', "application/json"),
    "form syntax": (b"command=%2Fsteward&broken", "application/x-www-form-urlencoded"),
    "form field repeated": (b"command=%2Fsteward&user_id=U1&user_id=U2&trigger_id=t",
                            "application/x-www-form-urlencoded"),
    "form neither command nor payload": (_form(foo="bar"), "application/x-www-form-urlencoded"),
    "command without trigger_id": (_form(command="/steward", user_id="U1", text="x"),
                                   "application/x-www-form-urlencoded"),
    "command without user_id": (_form(command="/steward", trigger_id="t", text="x"),
                                "application/x-www-form-urlencoded"),
    "payload not json": (_form(payload="{not json"), "application/x-www-form-urlencoded"),
    "payload not an object": (_form(payload='"block_actions"'), "application/x-www-form-urlencoded"),
    "block_actions without actions": (_form(payload=json.dumps(
        {"type": "block_actions", "user": {"id": "U1"}, "actions": []})), "application/x-www-form-urlencoded"),
    "block_actions without user": (_form(payload=json.dumps(
        {"type": "block_actions", "actions": [{"action_id": "a", "action_ts": "1"}]})),
        "application/x-www-form-urlencoded"),
    "block_actions action without action_ts": (_form(payload=json.dumps(
        {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]})),
        "application/x-www-form-urlencoded"),
    "too many form fields": ("&".join(f"f{i}=1" for i in range(200)).encode(), "application/x-www-form-urlencoded"),
    "xml with a DTD": (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><x>&lol;</x>',
                       "application/xml"),
    "multipart": (b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_bodies_are_bad_requests(connector, clock, case):
    body, content_type = MALFORMED[case]
    with pytest.raises(BadRequest):
        _parse(connector, clock, body, content_type)


@pytest.mark.parametrize("body,content_type", [
    (b'{"type": "\xff"}', "application/json"),
    (b"command=%2Fsteward&text=\xff", "application/x-www-form-urlencoded"),
])
def test_non_utf8_bodies_fail_verification_and_would_not_parse(connector, clock, body, content_type):
    # slack_sdk's verifier hashes the UTF-8 text, so a non-UTF-8 body can never carry a valid signature;
    # parse() refuses it on its own as well.
    request = signed(body, content_type, clock)
    with pytest.raises(VerificationFailed):
        connector.verify(request)
    with pytest.raises(BadRequest):
        connector.parse(request, Payload(request.body))
