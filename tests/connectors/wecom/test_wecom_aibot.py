"""The AI bot (智能机器人) callback /wecom/aibot: JSON `{"encrypt": ...}` with ReceiveId "" (doc 101033),
messages (doc 100719) and events (doc 101027) through the parser's tables, and replies through the
response_url (doc 101138) with appchat/send as the fallback.

Fixtures are the documented payload shapes with scrubbed ids, re-encrypted here at test time."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from connectors import registry
from connectors.base import Headers, InboundRequest
from connectors.wecom.aibot import rewrite_mentions
from connectors.wecom.connector import WeComConnector
from connectors.wecom.verify import msg_signature
from core.actions import PostMessage
from core.errors import BadRequest, ConfigError, Forbidden, NotFound, VerificationFailed
from core.events import CardActed, MessagePosted
from tests.connectors.wecom.wecom_helpers import BASE_ENV, NONCE, ts
from tests.fakes.wecom_api import FakeWeCom

AIBOT_TOKEN, AIBOT_KEY = FakeWeCom.AIBOT_TOKEN, FakeWeCom.AIBOT_AES_KEY
AIBOT_ENV = {**BASE_ENV, "WECOM_AIBOT_TOKEN": AIBOT_TOKEN, "WECOM_AIBOT_ENCODING_AES_KEY": AIBOT_KEY,
             "WECOM_AIBOT_NAME": "Steward"}
FIXTURES = Path(__file__).parent / "fixtures" / "aibot"
BOT_CHAT, GROUP = "wrkAIBOTCHAT01", "wrTRAIN01"


def payload(name: str, **changes) -> dict:
    data = json.loads((FIXTURES / name).read_text("utf-8"))
    data.update(changes)
    return data


def encrypt(plaintext: str, receive_id: str = "") -> str:
    envelope = WeChatCrypto(AIBOT_TOKEN, AIBOT_KEY, receive_id).encrypt_message(plaintext, NONCE, "0")
    return envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]


def request(method: str, query: dict, body: bytes = b"") -> InboundRequest:
    return InboundRequest(method, "/wecom/aibot", "aibot", Headers({"Content-Type": "application/json"}),
                          query, body)


def signed(data: dict | str, clock, offset: float = 0, token: str = AIBOT_TOKEN,
           receive_id: str = "") -> InboundRequest:
    plaintext = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    encrypted = encrypt(plaintext, receive_id)
    timestamp = ts(clock, offset)
    query = {"msg_signature": msg_signature(token, timestamp, NONCE, encrypted), "timestamp": timestamp,
             "nonce": NONCE}
    return request("POST", query, json.dumps({"encrypt": encrypted}).encode())


@pytest.fixture
def aibot(deps) -> WeComConnector:
    connector = WeComConnector.from_env(AIBOT_ENV, deps)
    connector.use_chat_aliases({BOT_CHAT: GROUP})
    return connector


def handle(connector: WeComConnector, req: InboundRequest):
    connector.verify(req)
    return connector.receive(req)


# --- the handshake and bad input --------------------------------------------------------------------

def test_url_verification_answers_the_plaintext_after_the_signature_check(aibot, clock):
    echostr = encrypt("8211534592946837")
    timestamp = ts(clock)
    req = request("GET", {"msg_signature": msg_signature(AIBOT_TOKEN, timestamp, NONCE, echostr),
                          "timestamp": timestamp, "nonce": NONCE, "echostr": echostr})
    assert handle(aibot, req).body == "8211534592946837"
    forged = request("GET", {**req.query, "msg_signature": "0" * 40})
    with pytest.raises(VerificationFailed):
        aibot.verify(forged)


@pytest.mark.parametrize("problem", ["tampered", "stale", "future", "wrong_token", "missing_signature",
                                     "missing_timestamp", "missing_nonce"])
def test_bad_signatures_are_refused(aibot, clock, problem):
    offset = {"stale": -301, "future": 301}.get(problem, 0)
    req = signed(payload("text__group_command.json"), clock, offset,
                 token="notTheAibotToken" if problem == "wrong_token" else AIBOT_TOKEN)
    query = dict(req.query)
    if problem == "tampered":
        body = json.loads(req.body)
        body["encrypt"] = body["encrypt"][:-8] + "AAAAAAA="
        req = request("POST", query, json.dumps(body).encode())
    for part in ("signature", "timestamp", "nonce"):
        if problem == f"missing_{part}":
            query.pop("msg_signature" if part == "signature" else part)
            req = request("POST", query, req.body)
    with pytest.raises(VerificationFailed):
        aibot.verify(req)


@pytest.mark.parametrize("body", [b'{"encrypt": ', b"[1, 2]", b'{"Encrypt": "x"}', b'{"encrypt": 7}',
                                  b"<xml><Encrypt>x</Encrypt></xml>", b"\xff\xfe"])
def test_a_malformed_envelope_is_a_bad_request(aibot, clock, body):
    with pytest.raises(BadRequest):
        aibot.verify(request("POST", {"msg_signature": "a" * 40, "timestamp": ts(clock), "nonce": NONCE}, body))


def test_a_signed_plaintext_that_is_no_json_object_is_a_bad_request(aibot, clock):
    for plaintext in ("<xml>not json</xml>", "[]", '{"msgtype": "text", "text": {"content": "hi"}}'):
        with pytest.raises(BadRequest):
            handle(aibot, signed(plaintext, clock))


def test_a_message_sealed_for_another_receive_id_is_forbidden(aibot, clock):
    with pytest.raises(Forbidden):
        handle(aibot, signed(payload("text__group_command.json"), clock, receive_id="wwfakecorp0001"))


def test_without_its_variables_the_endpoint_is_not_found_and_the_rest_works(connector, clock):
    req = signed(payload("text__group_command.json"), clock)
    with pytest.raises(NotFound):
        connector.verify(req)
    assert "aibot" in registry.manifest("wecom").endpoints
    assert connector.capabilities.sees_all_messages is False


def test_settings_need_both_aibot_variables_and_a_43_character_key():
    with pytest.raises(ConfigError, match="WECOM_AIBOT_ENCODING_AES_KEY is not set"):
        WeComConnector.from_env({**BASE_ENV, "WECOM_AIBOT_TOKEN": "t"}, None)
    with pytest.raises(ConfigError, match="WECOM_AIBOT_ENCODING_AES_KEY must be"):
        WeComConnector.from_env({**BASE_ENV, "WECOM_AIBOT_TOKEN": "t", "WECOM_AIBOT_ENCODING_AES_KEY": "short"},
                                None)


# --- the parser's table --------------------------------------------------------------------------------

def test_a_group_command_is_an_addressed_message_of_the_governed_group(aibot, clock):
    result = handle(aibot, signed(payload("text__group_command.json"), clock))
    [event] = result.events
    assert isinstance(event, MessagePosted)
    assert (event.chat_id, event.user_id, event.event_id, event.message_id) == (
        GROUP, "lilylead", "aibot:CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=", "aibot:CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=")
    assert (event.text, event.mentions) == ("warn <@bobzhang> R8.1.2 posting ads", ("bobzhang",))
    assert (event.addressed, event.is_direct, event.kind) == (True, False, "text")
    assert result.body == b"" and result.status == 200          # an empty answer (doc 101033)


def test_an_unmapped_chatid_is_read_as_a_chat_id(deps, clock):
    connector = WeComConnector.from_env(AIBOT_ENV, deps)
    [event] = handle(connector, signed(payload("text__group_command.json"), clock)).events
    assert event.chat_id == BOT_CHAT


@pytest.mark.parametrize("name, kind, text, direct", [
    ("text__group_quote.json", "text", "明天的课几点开始？", False),
    ("text__single.json", "text", "my", True),
    ("mixed__group.json", "text", "这是今日的测试情况", False),
    ("voice__single.json", "voice", "这是语音转成文本的内容", True),
    ("image__single.json", "image", "", True),
    ("file__single.json", "file", "", True),
])
def test_every_message_type_in_the_table(aibot, clock, name, kind, text, direct):
    [event] = handle(aibot, signed(payload(name), clock)).events
    assert (event.kind, event.text, event.is_direct, event.addressed) == (kind, text, direct, True)
    assert event.chat_id == ("dm:bobzhang" if direct else GROUP)


def test_a_card_click_is_card_acted(aibot, clock):
    [event] = handle(aibot, signed(payload("event_template_card__approve.json"), clock)).events
    assert event == CardActed(platform="wecom", event_id="aibot:CAIQ16HMjQYY/NGagIOAgAMgq4KM0AL=",
                              user_id="wangadmin", action="case.approve", value="C000001", chat_id=GROUP)


@pytest.mark.parametrize("name, ignored", [
    ("event__enter_chat.json", "aibot:event:enter_chat"),
    ("event__feedback.json", "aibot:event:feedback_event"),
    ("stream__refresh.json", "aibot:msgtype:stream"),
    ("event_unknown__future.json", "unknown:aibot:event:disconnected_event"),
    ("msgtype_unknown__future.json", "unknown:aibot:msgtype:video"),
])
def test_listed_and_unknown_payloads_are_answered_empty_with_nothing_to_do(aibot, clock, deps, name, ignored):
    result = handle(aibot, signed(payload(name), clock))
    assert (result.events, result.ignored, result.status, result.body) == ([], ignored, 200, b"")


def test_every_fixture_is_used():
    used = {"text__group_command.json", "text__group_quote.json", "text__single.json", "mixed__group.json",
            "voice__single.json", "image__single.json", "file__single.json", "stream__refresh.json",
            "event__enter_chat.json", "event_template_card__approve.json", "event__feedback.json",
            "event_unknown__future.json", "msgtype_unknown__future.json"}
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(used)


@pytest.mark.parametrize("text, name, direct, expected", [
    ("@Steward my", "Steward", False, ("my", ())),
    ("请问 @Steward 明天几点", "Steward", False, ("请问   明天几点", ())),
    ("@Steward warn @bobzhang 发广告", "Steward", False, ("warn <@bobzhang> 发广告", ("bobzhang",))),
    ("@Steward\u2005warn @张三 发广告", "Steward", False, ("warn @张三 发广告", ())),
    ("@培训助手 my", None, False, ("my", ())),
    ("my @carol.li", None, True, ("my <@carol.li>", ("carol.li",))),
    ("mail a@b.com", None, True, ("mail a@b.com", ())),
])
def test_mentions(text, name, direct, expected):
    assert rewrite_mentions(text, name, direct) == expected


# --- replies through response_url ------------------------------------------------------------------------

@pytest.fixture
def api(fake_wecom, deps):
    fake_wecom.add_user("lilylead")
    fake_wecom.add_user("bobzhang")
    fake_wecom.add_chat(GROUP, "lilylead", ["lilylead", "bobzhang"])
    connector = WeComConnector.from_env({**fake_wecom.aibot_env(), "WECOM_AIBOT_NAME": "Steward"}, deps)
    connector.use_chat_aliases({BOT_CHAT: GROUP})
    return connector


def test_a_reply_goes_once_through_the_response_url_then_appchat_send(api, fake_wecom, clock):
    url = fake_wecom.response_url(BOT_CHAT)
    [event] = handle(api, signed(payload("text__group_command.json", response_url=url), clock)).events
    reply = PostMessage("wecom", GROUP, "Warned bobzhang (R8.2.1).", reply_to=event.event_id)
    assert api.deliver(reply, "k1").detail == {"via": "aibot/response"}
    assert fake_wecom.aibot_replies == [(BOT_CHAT, {"msgtype": "markdown",
                                                    "markdown": {"content": "Warned bobzhang (R8.2.1)."}})]
    api.deliver(PostMessage("wecom", GROUP, "second answer", reply_to=event.event_id), "k2")
    assert len(fake_wecom.aibot_replies) == 1 and fake_wecom.aibot_refused == []
    assert [m["text"]["content"] for m in fake_wecom.chats[GROUP].messages] == ["second answer"]


def test_an_expired_or_refused_response_url_falls_back_to_appchat_send(api, fake_wecom, clock):
    url = fake_wecom.response_url(BOT_CHAT)
    [event] = handle(api, signed(payload("text__group_command.json", response_url=url), clock)).events
    fake_wecom.response_codes.clear()          # WeCom no longer takes it
    api.deliver(PostMessage("wecom", GROUP, "answer", reply_to=event.event_id), "k1")
    assert fake_wecom.aibot_replies == [] and len(fake_wecom.aibot_refused) == 1
    assert [m["text"]["content"] for m in fake_wecom.chats[GROUP].messages] == ["answer"]
    # Steward's own copy lapses before WeCom's hour: then it does not even try.
    url = fake_wecom.response_url(BOT_CHAT)
    [event] = handle(api, signed(payload("text__group_quote.json", response_url=url), clock)).events
    clock.advance(minutes=56)
    api.deliver(PostMessage("wecom", GROUP, "late", reply_to=event.event_id), "k2")
    assert len(fake_wecom.aibot_refused) == 1 and fake_wecom.chats[GROUP].messages[-1]["text"]["content"] == "late"


def test_a_response_url_on_another_host_is_never_used(api, fake_wecom, clock, deps):
    evil = "https://attacker.invalid/cgi-bin/aibot/response?response_code=x"
    [event] = handle(api, signed(payload("text__group_command.json", response_url=evil), clock)).events
    api.deliver(PostMessage("wecom", GROUP, "answer", reply_to=event.event_id), "k1")
    assert fake_wecom.chats[GROUP].messages[-1]["text"]["content"] == "answer"


def test_a_post_without_reply_to_never_uses_a_stored_url(api, fake_wecom, clock):
    url = fake_wecom.response_url(BOT_CHAT)
    handle(api, signed(payload("text__group_command.json", response_url=url), clock))
    api.deliver(PostMessage("wecom", GROUP, "announcement"), "k1")
    assert fake_wecom.aibot_replies == [] and len(fake_wecom.response_codes) == 1
