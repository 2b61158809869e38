"""deliver() for every action, against the fake qyapi server with the real wechatpy client."""
from __future__ import annotations

import socket

import pytest

from connectors.base import ConnectorDeps, Headers, InboundRequest
from connectors.wecom.connector import WeComConnector
from connectors.wecom.translate import task_id
from core.actions import (
    Button,
    DeleteMessage,
    InviteMember,
    PinMessage,
    PostCard,
    PostMessage,
    RemoveMember,
    SendEphemeral,
    SendPrivate,
)
from core.errors import PermanentDeliveryError, RetryableDeliveryError, UnsupportedAction
from tests.connectors.wecom.wecom_helpers import BASE_ENV

CHAT = "wrtraining2026q4"


class ScriptedLimiter:
    """A RateLimiter that records what was asked and answers scripted waits."""

    def __init__(self, waits: dict[str, float] | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.waits = waits or {}

    def acquire(self, key: str, rate: str) -> float:
        self.calls.append((key, rate))
        return self.waits.get(key, 0.0)


@pytest.fixture
def fake(fake_wecom):
    for user, name in [("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五"), ("adminchen", "陈管理")]:
        fake_wecom.add_user(user, name)
    fake_wecom.add_chat(CHAT, "adminchen", ["adminchen", "zhangsan", "lisi"], "2026 Q4 新员工培训")
    return fake_wecom


@pytest.fixture
def wecom(fake, deps) -> WeComConnector:
    return WeComConnector.from_env({**BASE_ENV, "WECOM_API_URL": fake.api_url}, deps)


def _sent(fake, path):
    return [c for c in fake.calls_to(path)]


def test_post_message_goes_to_appchat_send(wecom, fake):
    delivery = wecom.deliver(PostMessage("wecom", CHAT, "第三周作业已发布"), "k1")
    assert delivery.remote_id is None                      # appchat/send returns no id
    (call,) = _sent(fake, "appchat/send")
    assert call.body == {"chatid": CHAT, "safe": 0, "msgtype": "text", "text": {"content": "第三周作业已发布"}}
    assert call.token and call.token in fake.tokens
    assert fake.chats[CHAT].messages == [call.body]


def test_post_message_to_a_dm_chat_uses_message_send(wecom, fake):
    wecom.deliver(PostMessage("wecom", "dm:zhangsan", "收到"), "k1")
    (call,) = _sent(fake, "message/send")
    assert call.body["touser"] == "zhangsan" and call.body["text"] == {"content": "收到"}


def test_long_text_is_clipped_to_wecoms_2048_bytes(wecom, fake):
    wecom.deliver(PostMessage("wecom", CHAT, "长" * 1000), "k1")
    content = _sent(fake, "appchat/send")[0].body["text"]["content"]
    assert len(content.encode()) <= 2048 and content.endswith("…")


def test_send_private_uses_message_send_with_duplicate_check(wecom, fake):
    delivery = wecom.deliver(SendPrivate("wecom", "zhangsan", "这是第一次提醒 (R8.2.1)"), "k1")
    (call,) = _sent(fake, "message/send")
    assert call.body == {
        "touser": "zhangsan", "toparty": "", "totag": "", "agentid": 1000002, "msgtype": "text",
        "text": {"content": "这是第一次提醒 (R8.2.1)"}, "safe": 0,
        "enable_duplicate_check": 1, "duplicate_check_interval": 1800,
    }
    assert delivery.remote_id and delivery.remote_id.startswith("fakemsg")


def test_a_retried_private_delivery_reaches_the_member_once(wecom, fake):
    action = SendPrivate("wecom", "zhangsan", "警告：请勿发布广告 (R8.1.2)")
    wecom.deliver(action, "k1")
    wecom.deliver(action, "k1")                       # the worker died before recording success
    assert len(_sent(fake, "message/send")) == 2
    assert len(fake.delivered) == 1 and len(fake.suppressed) == 1


def test_remove_member_uses_appchat_update(wecom, fake):
    assert wecom.deliver(RemoveMember("wecom", CHAT, "lisi"), "k1").remote_id is None
    (call,) = _sent(fake, "appchat/update")
    assert call.body == {"chatid": CHAT, "del_user_list": ["lisi"]}
    assert "lisi" not in fake.chats[CHAT].userlist


def test_invite_member_uses_appchat_update(wecom, fake):
    wecom.deliver(InviteMember("wecom", CHAT, "wangwu"), "k1")
    assert _sent(fake, "appchat/update")[0].body == {"chatid": CHAT, "add_user_list": ["wangwu"]}
    assert "wangwu" in fake.chats[CHAT].userlist


CARD = PostCard("wecom", title="移除确认 C-2026-0042", text="李四 第二次违规 (R8.2.2)，是否移出群聊？",
                buttons=(Button("批准", "case.approve", "C-2026-0042", "danger"),
                         Button("驳回", "case.reject", "C-2026-0042")),
                user_id="adminchen")


def test_private_card_is_a_button_interaction_template_card(wecom, fake):
    delivery = wecom.deliver(CARD, "card-42")
    (call,) = _sent(fake, "message/send")
    assert call.body["touser"] == "adminchen" and call.body["msgtype"] == "template_card"
    assert call.body["template_card"] == {
        "card_type": "button_interaction",
        "main_title": {"title": "移除确认 C-2026-0042"},
        "sub_title_text": "李四 第二次违规 (R8.2.2)，是否移出群聊？",
        "task_id": task_id("card-42"),
        "button_list": [{"text": "批准", "style": 3, "key": "case.approve|C-2026-0042"},
                        {"text": "驳回", "style": 2, "key": "case.reject|C-2026-0042"}],
    }
    assert delivery.remote_id and delivery.detail["response_code"]


def test_a_retried_card_reuses_its_task_id(wecom, fake):
    wecom.deliver(CARD, "card-42")
    wecom.deliver(CARD, "card-42")
    ids = {c.body["template_card"]["task_id"] for c in _sent(fake, "message/send")}
    assert ids == {task_id("card-42")} and len(fake.delivered) == 1


def test_task_id_fits_wecoms_rules():
    value = task_id("outbox:" + "x" * 500)
    assert len(value) <= 128 and value.replace("_", "").isalnum()


def test_card_without_buttons_is_markdown(wecom, fake):
    wecom.deliver(PostCard("wecom", title="本周安排", text="周三 14:00 考核", user_id="zhangsan"), "k1")
    assert _sent(fake, "message/send")[0].body["markdown"] == {"content": "**本周安排**\n周三 14:00 考核"}


def test_group_card_without_buttons_is_posted_as_markdown(wecom, fake):
    wecom.deliver(PostCard("wecom", title="培训变更通知", text="周三课程改至 15:00 (R3.2.1)", chat_id=CHAT), "k1")
    (call,) = _sent(fake, "appchat/send")
    assert call.body["msgtype"] == "markdown"
    assert call.body["markdown"]["content"] == "**培训变更通知**\n周三课程改至 15:00 (R3.2.1)"


def test_group_card_with_buttons_is_unsupported(wecom, fake):
    with pytest.raises(UnsupportedAction):
        wecom.deliver(PostCard("wecom", title="t", text="x", buttons=CARD.buttons, chat_id=CHAT), "k1")
    assert fake.calls == []


@pytest.mark.parametrize("buttons,code", [
    (tuple(Button(str(i), "a", str(i)) for i in range(7)), "too_many_buttons"),
    ((Button("x", "bad|action", "1"),), "card_action_name"),
    ((Button("x", "case.approve", "v" * 1100),), "card_key_too_long"),
])
def test_cards_wecom_cannot_express_are_refused_for_good(wecom, fake, buttons, code):
    with pytest.raises(PermanentDeliveryError) as caught:
        wecom.deliver(PostCard("wecom", title="t", text="x", buttons=buttons, user_id="zhangsan"), "k1")
    assert caught.value.code == code
    assert fake.calls_to("message/send") == []


@pytest.mark.parametrize("action", [
    SendEphemeral("wecom", CHAT, "zhangsan", "only you"),
    DeleteMessage("wecom", CHAT, "7318463918273645001"),
    PinMessage("wecom", CHAT, "7318463918273645001"),
], ids=["ephemeral", "delete", "pin"])
def test_impossible_actions_are_unsupported(wecom, fake, action):
    with pytest.raises(UnsupportedAction):
        wecom.deliver(action, "k1")
    assert fake.calls == []


# --- error mapping --------------------------------------------------------------------------

ERRORS = [
    # (path, action, injected, expected class, expected code or retry_after)
    ("message/send", SendPrivate("wecom", "zhangsan", "hi"), {"errcode": 45009}, RetryableDeliveryError, 60.0),
    ("message/send", SendPrivate("wecom", "zhangsan", "hi"), {"errcode": 45033}, RetryableDeliveryError, 60.0),
    ("appchat/send", PostMessage("wecom", CHAT, "hi"), {"errcode": -1}, RetryableDeliveryError, None),
    ("appchat/send", PostMessage("wecom", CHAT, "hi"), {"status": 429, "retry_after": 7}, RetryableDeliveryError, 7.0),
    ("appchat/update", RemoveMember("wecom", CHAT, "lisi"), {"status": 503}, RetryableDeliveryError, None),
    ("appchat/update", RemoveMember("wecom", CHAT, "lisi"), {"status": 404}, PermanentDeliveryError, "http:404"),
    ("appchat/update", RemoveMember("wecom", CHAT, "lisi"), {"errcode": 86008}, PermanentDeliveryError, "86008"),
    ("message/send", SendPrivate("wecom", "zhangsan", "hi"), {"errcode": 60111}, PermanentDeliveryError, "60111"),
    ("message/send", SendPrivate("wecom", "zhangsan", "hi"), {"errcode": 40003}, PermanentDeliveryError, "40003"),
    ("appchat/send", PostMessage("wecom", CHAT, "hi"), {"errcode": 48002}, PermanentDeliveryError, "48002"),
]


@pytest.mark.parametrize("path,action,fault,expected,detail", ERRORS,
                         ids=[f"{p}-{next(iter(f.values()))}" for p, _, f, _, _ in ERRORS])
def test_error_mapping(wecom, fake, path, action, fault, expected, detail):
    fake.fail(path, **fault)
    with pytest.raises(expected) as caught:
        wecom.deliver(action, "k1")
    if expected is RetryableDeliveryError:
        assert caught.value.retry_after == detail
    else:
        assert caught.value.code == detail


@pytest.mark.parametrize("action,code", [
    (PostMessage("wecom", "wrnotcreatedbyus", "hi"), "86003"),
    (RemoveMember("wecom", "wrnotcreatedbyus", "lisi"), "86003"),
    (SendPrivate("wecom", "nosuchuser", "hi"), "81013"),
    (InviteMember("wecom", CHAT, "nosuchuser"), "86007"),
], ids=["post-unknown-chat", "remove-unknown-chat", "private-unknown-user", "invite-unknown-user"])
def test_refusals_from_the_api_itself(wecom, fake, action, code):
    with pytest.raises(PermanentDeliveryError) as caught:
        wecom.deliver(action, "k1")
    assert caught.value.code == code


def test_network_failure_is_retryable(deps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                  # closed again below: nothing listens there
    wecom = WeComConnector.from_env({**BASE_ENV, "WECOM_API_URL": f"http://127.0.0.1:{port}/cgi-bin/"}, deps)
    with pytest.raises(RetryableDeliveryError):
        wecom.deliver(SendPrivate("wecom", "zhangsan", "hi"), "k1")
    assert wecom.health().ok is False


# --- tokens ---------------------------------------------------------------------------------

def test_token_is_fetched_once_and_shared_through_the_token_store(fake, deps):
    env = {**BASE_ENV, "WECOM_API_URL": fake.api_url}
    web, worker = WeComConnector.from_env(env, deps), WeComConnector.from_env(env, deps)
    web.deliver(SendPrivate("wecom", "zhangsan", "a"), "k1")
    worker.deliver(SendPrivate("wecom", "lisi", "b"), "k2")
    assert len(fake.calls_to("gettoken")) == 1
    assert fake.calls_to("gettoken")[0].params == {"corpid": "wwfakecorp0001", "corpsecret": "fake-secret-for-tests"}
    key = "wecom:wwfakecorp0001:1000002:access_token"
    assert deps.tokens.get(key) == fake.calls_to("message/send")[1].token      # the key never carries the secret


def test_token_expires_with_the_injected_clock(wecom, fake, clock):
    wecom.deliver(SendPrivate("wecom", "zhangsan", "a"), "k1")
    clock.advance(seconds=7200)
    wecom.deliver(SendPrivate("wecom", "zhangsan", "b"), "k2")
    assert len(fake.calls_to("gettoken")) == 2


@pytest.mark.parametrize("how", ["expired_42001", "invalid_40014", "credential_40001"])
def test_token_refused_by_the_api_is_refreshed_once(wecom, fake, how):
    wecom.deliver(SendPrivate("wecom", "zhangsan", "a"), "k1")
    if how == "expired_42001":
        fake.expire_tokens()
    else:
        fake.fail("message/send", errcode=int(how.rsplit("_", 1)[1]))
    delivery = wecom.deliver(SendPrivate("wecom", "zhangsan", "b"), "k2")
    assert delivery.remote_id
    sends = fake.calls_to("message/send")
    assert len(fake.calls_to("gettoken")) == 2 and len(sends) == 3
    assert sends[2].token != sends[1].token              # the retry carried the fresh token


def test_token_refused_twice_is_retryable_not_a_loop(wecom, fake):
    fake.fail("appchat/send", errcode=42001, times=5)
    with pytest.raises(RetryableDeliveryError):
        wecom.deliver(PostMessage("wecom", CHAT, "hi"), "k1")
    assert len(fake.calls_to("appchat/send")) == 2


def test_wrong_secret_is_a_permanent_gettoken_refusal(fake, deps):
    wecom = WeComConnector.from_env({**BASE_ENV, "WECOM_API_URL": fake.api_url, "WECOM_SECRET": "wrong"}, deps)
    with pytest.raises(PermanentDeliveryError) as caught:
        wecom.deliver(SendPrivate("wecom", "zhangsan", "hi"), "k1")
    assert caught.value.code == "gettoken:40001"
    assert fake.calls_to("message/send") == []
    health = wecom.health()
    assert health.ok is False and "40001" in health.detail


def test_health_fetches_a_token(wecom, fake):
    assert wecom.health().ok is True
    assert len(fake.calls_to("gettoken")) == 1


# --- pacing ---------------------------------------------------------------------------------

def test_private_messages_are_paced_per_member_below_wecoms_silent_caps(fake, deps):
    limiter = ScriptedLimiter()
    wecom = WeComConnector.from_env({**BASE_ENV, "WECOM_API_URL": fake.api_url},
                                    ConnectorDeps(deps.clock, deps.tokens, limiter))
    wecom.deliver(SendPrivate("wecom", "zhangsan", "hi"), "k1")
    assert limiter.calls == [
        ("wecom:wwfakecorp0001:member:zhangsan:message/send", "25/minute"),
        ("wecom:wwfakecorp0001:member:zhangsan:message/send", "900/hour"),
        ("wecom:wwfakecorp0001:api:message/send", "9000/minute"),
    ]


def test_group_posts_and_member_changes_are_paced(fake, deps):
    limiter = ScriptedLimiter()
    wecom = WeComConnector.from_env({**BASE_ENV, "WECOM_API_URL": fake.api_url},
                                    ConnectorDeps(deps.clock, deps.tokens, limiter))
    wecom.deliver(PostMessage("wecom", CHAT, "hi"), "k1")
    wecom.deliver(RemoveMember("wecom", CHAT, "lisi"), "k2")
    assert (f"wecom:wwfakecorp0001:chat:{CHAT}:appchat/send", "150/minute") in limiter.calls
    assert ("wecom:wwfakecorp0001:api:appchat/update", "900/hour") in limiter.calls


def test_a_full_slot_is_retryable_with_the_wait_and_calls_nothing(fake, deps):
    limiter = ScriptedLimiter({"wecom:wwfakecorp0001:member:zhangsan:message/send": 12.5})
    wecom = WeComConnector.from_env({**BASE_ENV, "WECOM_API_URL": fake.api_url},
                                    ConnectorDeps(deps.clock, deps.tokens, limiter))
    with pytest.raises(RetryableDeliveryError) as caught:
        wecom.deliver(SendPrivate("wecom", "zhangsan", "hi"), "k1")
    assert caught.value.retry_after == 12.5
    assert fake.calls == []


def test_the_fake_signs_callbacks_the_connector_accepts(fake, deps, clock):
    """The fake is reusable end to end: its env() and callback() match what the connector expects."""
    wecom = WeComConnector.from_env(fake.env(), deps)
    xml = (f"<xml><ToUserName>{fake.corp_id}</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>"
           "<MsgType>event</MsgType><Event>change_contact</Event><ChangeType>delete_user</ChangeType>"
           "<UserID>lisi</UserID></xml>")
    query, body = fake.callback(xml, int(clock.now().timestamp()), "contacts")
    request = InboundRequest("POST", "/wecom/contacts", "contacts", Headers({}), query, body)
    wecom.verify(request)
    assert [e.user_id for e in wecom.receive(request).events] == ["lisi"]
