"""Inbound: every fixture re-signed / re-encrypted at test time, and the exact events it must yield."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from connectors.dingtalk.connector import DingTalkConnector
from connectors.dingtalk.parse import delivery_id
from core.errors import BadRequest, ConfigError, Forbidden, VerificationFailed
from core.events import (
    CardActed,
    FileRef,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    UserChanged,
    UserDeparted,
    UserJoinedOrg,
)
from tests.connectors.dingtalk.dingtalk_support import (
    FIXTURES,
    base_env,
    encrypt_event,
    event_request,
    fixture_bytes,
    ms,
    robot_request,
)

GROUP = "cidTrainGrp01xxxxxxxxxx=="
DIRECT = "cidDirectLisixxxxxxxxxxx=="
SENT = datetime(2025, 11, 25, 11, 50, tzinfo=timezone.utc)   # createAt 1764071400000 in the fixtures


def direct(msg_id: str, kind: str, text: str, files: tuple[FileRef, ...] = ()) -> MessagePosted:
    return MessagePosted(platform="dingtalk", event_id=msg_id, chat_id=DIRECT, user_id="u_lisi",
                         message_id=msg_id, text=text, kind=kind, addressed=True, is_direct=True,
                         sent_at=SENT, display_name="李四", files=files)


ROBOT_CASES = {
    "robot__group_text_mention.json": ([MessagePosted(
        platform="dingtalk", event_id="msgGroupMention0001xxxxxxxxx==", chat_id=GROUP, user_id="u_lisi",
        message_id="msgGroupMention0001xxxxxxxxx==", text="请提醒 <@u_zhang> 交作业", kind="text",
        mentions=("u_zhang",), addressed=True, is_direct=False, sent_at=SENT, display_name="李四")], None),
    "robot__direct_text.json": ([MessagePosted(
        platform="dingtalk", event_id="msgDirect0001xxxxxxxxxxxxxxx==", chat_id=DIRECT, user_id="u_lisi",
        message_id="msgDirect0001xxxxxxxxxxxxxxx==", text="我的成绩是多少？", kind="text",
        addressed=True, is_direct=True, sent_at=SENT, display_name="李四")], None),
    "robot__top_level_content.json": ([MessagePosted(
        platform="dingtalk", event_id="msgTopLevel0001xxxxxxxxxxxxx==", chat_id=GROUP, user_id="u_wangwu",
        message_id="msgTopLevel0001xxxxxxxxxxxxx==", text="作业截止时间是什么时候？", kind="text",
        addressed=True, is_direct=False, sent_at=SENT, display_name="王五")], None),
    # 1:1 files and pictures carry the downloadCode for messageFiles/download (R5.2.1)
    "robot__picture.json": ([direct("msgPicture0001xxxxxxxxxxxxxx==", "image", "", (FileRef(
        "scrubbed-download-code", "picture-msgPicture0001xxxxxxxxxx.jpg", mime="image/jpeg"),))], None),
    "robot__file.json": ([direct("msgFile0001xxxxxxxxxxxxxxxxx==", "file", "作业1-李四.docx", (FileRef(
        "scrubbed-download-code", "作业1-李四.docx"),))], None),
    "robot__audio.json": ([direct("msgAudio0001xxxxxxxxxxxxxxxx==", "voice", "明天几点上课")], None),
    "robot__video.json": ([direct("msgVideo0001xxxxxxxxxxxxxxxx==", "video", "")], None),
    "robot__rich_text.json": ([direct("msgRich0001xxxxxxxxxxxxxxxxx==", "text", "作业截图如下请查收")], None),
    "robot__card_click.json": ([CardActed(platform="dingtalk", event_id="msgCardClick0001xxxxxxxxxxxx==",
                                          user_id="u_admin", action="case.approve", value="42")], None),
    "robot__unknown_msgtype.json": ([], "unknown msgtype 'interactiveCard'"),
    "robot__unpublished_no_staff_id.json": ([], "sender without staffId"),
}

LEAVE = "c7c7120f0e5f4bd2a1b1scrubbed0001"
EVENT_CASES = {
    "events__user_leave_org.json": ([
        UserDeparted(platform="dingtalk", event_id=f"{LEAVE}:u_zhang", user_id="u_zhang"),
        UserDeparted(platform="dingtalk", event_id=f"{LEAVE}:u_lisi", user_id="u_lisi")], None),
    "events__user_leave_org_legacy.json": ([UserDeparted(
        platform="dingtalk", event_id=None, user_id="u_wangwu")], None),        # id checked below
    "events__user_modify_org.json": ([UserChanged(
        platform="dingtalk", event_id="d1e2f3a4b5c6scrubbed0002:u_lisi", user_id="u_lisi")], None),
    "events__user_add_org.json": ([                    # R2.1.2: names only the users
        UserJoinedOrg(platform="dingtalk", event_id="b3c4d5e6scrubbed0006:u_newhire1", user_id="u_newhire1"),
        UserJoinedOrg(platform="dingtalk", event_id="b3c4d5e6scrubbed0006:u_newhire2", user_id="u_newhire2")],
        None),
    "events__chat_add_member.json": ([
        MemberJoined(platform="dingtalk", event_id="e5f6scrubbed0003:u_new1", chat_id=GROUP, user_id="u_new1",
                     inviter_id="u_hr"),
        MemberJoined(platform="dingtalk", event_id="e5f6scrubbed0003:u_new2", chat_id=GROUP, user_id="u_new2",
                     inviter_id="u_hr")], None),
    "events__chat_remove_member.json": ([MemberLeft(
        platform="dingtalk", event_id="f7a8scrubbed0004:u_zhang", chat_id=GROUP, user_id="u_zhang",
        removed_by="u_admin")], None),
    "events__chat_quit.json": ([MemberLeft(
        platform="dingtalk", event_id="a9b0scrubbed0005:u_lisi", chat_id=GROUP, user_id="u_lisi")], None),
    "events__chat_disband.json": ([], "group disbanded; Steward only governs groups it created"),
    "events__unknown_type.json": ([], "unknown EventType 'bpms_task_change'"),
    "events__check_url.json": ([], "check_url: the subscription handshake, answered"),
}


def test_every_fixture_has_a_case():
    files = {p.name for p in FIXTURES.iterdir()}
    assert files == set(ROBOT_CASES) | set(EVENT_CASES)


@pytest.mark.parametrize("name", sorted(ROBOT_CASES))
def test_robot_fixture(connector, clock, name):
    request = robot_request(fixture_bytes(name), ms(clock))
    connector.verify(request)
    result = connector.receive(request)
    events, ignored = ROBOT_CASES[name]
    assert (result.status, result.events, result.ignored) == (200, events, ignored)


def _decrypted_answer(body: bytes, timestamp_ok: bool = True) -> str:
    from dingtalk.crypto import DingTalkCrypto

    from tests.connectors.dingtalk.dingtalk_support import AES_KEY, APP_KEY, TOKEN
    answer = json.loads(body)
    assert set(answer) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    return DingTalkCrypto(TOKEN, AES_KEY, APP_KEY).decrypt_encrypt_str(
        answer["msg_signature"], answer["timeStamp"], answer["nonce"], answer["encrypt"])


@pytest.mark.parametrize("name", sorted(EVENT_CASES))
def test_event_fixture(connector, clock, name):
    request = event_request(*encrypt_event(fixture_bytes(name), ms(clock)))
    connector.verify(request)
    result = connector.receive(request)
    events, ignored = EVENT_CASES[name]
    if name == "events__user_leave_org_legacy.json":
        # No eventId or BizId: a digest of the payload, identical for a retried push.
        expected_id = delivery_id(json.loads(fixture_bytes(name))) + ":u_wangwu"
        assert expected_id.startswith("sha256:")
        events = [UserDeparted(platform="dingtalk", event_id=expected_id, user_id="u_wangwu")]
    assert (result.status, result.events, result.ignored) == (200, events, ignored)
    assert result.content_type == "application/json"
    assert _decrypted_answer(result.body) == "success"


# --- robot endpoint: bad signatures and bodies ---------------------------------------------------

BODY = fixture_bytes("robot__direct_text.json")


@pytest.mark.parametrize("change", ["tampered", "wrong_secret", "missing_sign", "missing_timestamp",
                                    "garbage_timestamp", "stale", "future", "sign_for_other_timestamp"])
def test_robot_rejects(connector, clock, change):
    now = int(ms(clock))
    request = {
        "tampered": lambda: robot_request(BODY, str(now), sign="A" + robot_request(BODY, str(now)).headers["sign"][1:]),
        "wrong_secret": lambda: robot_request(BODY, str(now), secret="not-the-secret"),
        "missing_sign": lambda: robot_request(BODY, str(now), sign=""),
        "missing_timestamp": lambda: robot_request(BODY, "", sign="c2lnbg=="),
        "garbage_timestamp": lambda: robot_request(BODY, "12ab"),
        "stale": lambda: robot_request(BODY, str(now - 301_000)),
        "future": lambda: robot_request(BODY, str(now + 301_000)),
        "sign_for_other_timestamp": lambda: robot_request(
            BODY, str(now), sign=robot_request(BODY, str(now - 1000)).headers["sign"]),
    }[change]()
    with pytest.raises(BadRequest if change == "garbage_timestamp" else VerificationFailed):   # malformed: 400
        connector.verify(request)


def test_robot_window_edge_and_setting(deps, clock):
    connector = DingTalkConnector.from_env(base_env(DINGTALK_ROBOT_WINDOW_SECONDS="60"), deps)
    now = int(ms(clock))
    connector.verify(robot_request(BODY, str(now - 60_000)))
    with pytest.raises(VerificationFailed):
        connector.verify(robot_request(BODY, str(now - 61_000)))


def test_replayed_message_keeps_its_event_id(connector, clock):
    """The signature does not cover the body; the core de-duplicates on the msgId-based event id."""
    first = connector.receive(robot_request(BODY, ms(clock)))
    clock.advance(seconds=30)
    again = robot_request(BODY, ms(clock))
    connector.verify(again)
    assert connector.receive(again).events[0].event_id == first.events[0].event_id == "msgDirect0001xxxxxxxxxxxxxxx=="


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b""])
def test_robot_malformed_json(connector, clock, body):
    request = robot_request(body, ms(clock))
    connector.verify(request)                 # the signature does not cover the body
    with pytest.raises(BadRequest):
        connector.receive(request)


@pytest.mark.parametrize("body,ignored", [(b"[1, 2]", "not a message object"),
                                          (b'{"msgtype": "text"}', "message without msgId")])
def test_robot_odd_json_is_ignored(connector, clock, body, ignored):
    result = connector.receive(robot_request(body, ms(clock)))
    assert (result.status, result.events, result.ignored) == (200, [], ignored)


def test_robot_own_message_is_ignored(connector, clock):
    payload = json.loads(BODY)
    payload["senderId"] = payload["chatbotUserId"]
    result = connector.receive(robot_request(json.dumps(payload).encode(), ms(clock)))
    assert (result.events, result.ignored) == ([], "the robot's own message")


def test_robot_mentions_left_alone_when_counts_disagree(connector, clock):
    payload = json.loads(fixture_bytes("robot__group_text_mention.json"))
    payload["text"]["content"] = " @张三 和 @李四 都要交"          # two @, one staffId listed
    event = connector.receive(robot_request(json.dumps(payload).encode(), ms(clock))).events[0]
    assert (event.text, event.mentions) == ("@张三 和 @李四 都要交", ("u_zhang",))


@pytest.mark.parametrize("addr,allowed", [("203.119.8.9", True), ("140.205.1.1", True),
                                          ("198.51.100.7", False), ("", False), ("not-an-ip", False)])
def test_robot_source_allow_list(deps, clock, addr, allowed):
    connector = DingTalkConnector.from_env(
        base_env(DINGTALK_ROBOT_ALLOWED_IPS="203.119.0.0/16, 140.205.0.0/16"), deps)
    request = robot_request(BODY, ms(clock), **({"X-Steward-Remote-Addr": addr} if addr else {}))
    if allowed:
        connector.verify(request)
    else:
        with pytest.raises(Forbidden):
            connector.verify(request)


# --- events endpoint ------------------------------------------------------------------------------

LEAVE_BODY = fixture_bytes("events__user_leave_org.json")


def test_events_accepts_legacy_signature_param(connector, clock):
    query, body = encrypt_event(LEAVE_BODY, ms(clock))
    query = {"signature": query.pop("msg_signature"), **query}
    connector.verify(event_request(query, body))


@pytest.mark.parametrize("change", ["tampered_signature", "tampered_body", "missing_signature",
                                    "missing_nonce", "stale", "other_token"])
def test_events_rejects(connector, clock, change):
    query, body = encrypt_event(LEAVE_BODY, ms(clock))
    if change == "tampered_signature":
        query["msg_signature"] = ("0" if query["msg_signature"][0] != "0" else "1") + query["msg_signature"][1:]
    elif change == "tampered_body":
        encrypt = json.loads(body)["encrypt"]
        body = json.dumps({"encrypt": encrypt[:-4] + ("AAA=" if encrypt[-4:] != "AAA=" else "BBB=")}).encode()
    elif change == "missing_signature":
        del query["msg_signature"]
    elif change == "missing_nonce":
        del query["nonce"]
    elif change == "stale":
        query, body = encrypt_event(LEAVE_BODY, str(int(ms(clock)) - 301_000))
    elif change == "other_token":
        query, body = encrypt_event(LEAVE_BODY, ms(clock), token="someone-else")
    with pytest.raises(VerificationFailed):
        connector.verify(event_request(query, body))


def test_events_for_another_app_key(connector, clock):
    request = event_request(*encrypt_event(LEAVE_BODY, ms(clock), key_id="dingotherapp"))
    with pytest.raises(VerificationFailed):   # same token: the signature is fine; the decrypted key id is not
        connector.verify(request)


@pytest.mark.parametrize("body", [b"not json", b'{"encrypt": 5}', b"[]", b"{}"])
def test_events_malformed_outer_body(connector, clock, body):
    query = {"msg_signature": "0" * 40, "timestamp": ms(clock), "nonce": "n"}
    with pytest.raises(BadRequest):
        connector.verify(event_request(query, body))


def test_events_garbage_ciphertext_with_valid_signature(connector, clock):
    from connectors.dingtalk.verify import event_signature
    from tests.connectors.dingtalk.dingtalk_support import TOKEN
    encrypt = "bm90IGEgY2lwaGVydGV4dA=="                     # base64, but not AES blocks
    query = {"msg_signature": event_signature(TOKEN, ms(clock), "n", encrypt), "timestamp": ms(clock), "nonce": "n"}
    request = event_request(query, json.dumps({"encrypt": encrypt}).encode())
    with pytest.raises(BadRequest):           # the signature holds; verify() decrypts, and cannot
        connector.verify(request)


def test_events_plaintext_not_json(connector, clock):
    request = event_request(*encrypt_event("<xml>nope</xml>", ms(clock)))
    connector.verify(request)
    with pytest.raises(BadRequest):
        connector.receive(request)


def test_events_forbidden_without_token_and_key(deps, clock):
    env = base_env()
    del env["DINGTALK_TOKEN"], env["DINGTALK_ENCODING_AES_KEY"]
    connector = DingTalkConnector.from_env(env, deps)
    with pytest.raises(Forbidden):
        connector.verify(event_request(*encrypt_event(LEAVE_BODY, ms(clock))))
    assert connector.capabilities.departure_events is False
    connector.verify(robot_request(BODY, ms(clock)))       # the robot endpoint still works


def test_retried_push_keeps_event_ids(connector, clock):
    first = connector.receive(event_request(*encrypt_event(LEAVE_BODY, ms(clock), nonce="first")))
    clock.advance(seconds=10)                                # DingTalk retries at +10 s and +30 s
    again = event_request(*encrypt_event(LEAVE_BODY, ms(clock), nonce="second"))
    connector.verify(again)
    assert [e.event_id for e in connector.receive(again).events] == [e.event_id for e in first.events]


# --- configuration --------------------------------------------------------------------------------

@pytest.mark.parametrize("env,needle", [
    ({"DINGTALK_APP_SECRET": ""}, "DINGTALK_APP_SECRET is not set"),
    ({"DINGTALK_ROBOT_CODE": ""}, "DINGTALK_ROBOT_CODE is not set"),
    ({"DINGTALK_TOKEN": ""}, "set together"),
    ({"DINGTALK_ENCODING_AES_KEY": "short"}, "43-character"),
    ({"DINGTALK_ROBOT_WINDOW_SECONDS": "forever"}, "DINGTALK_ROBOT_WINDOW_SECONDS"),
    ({"DINGTALK_ROBOT_ALLOWED_IPS": "10.0.0.0/33"}, "invalid network"),
    ({"DINGTALK_API_URL": "api.dingtalk.com"}, "DINGTALK_API_URL must be"),
])
def test_configuration_errors(deps, env, needle):
    with pytest.raises(ConfigError) as error:
        DingTalkConnector.from_env(base_env(**env), deps)
    assert needle in str(error.value)


def test_capabilities(connector):
    caps = connector.capabilities
    assert (caps.sees_all_messages, caps.manages_any_group, caps.delete_others_messages, caps.pin,
            caps.ephemeral, caps.departure_events, caps.transport_without_public_url) == (
        False, False, False, False, False, True, "Stream mode")
