"""Outbound: every action through the real client against the fake DingTalk API, and each error mapping."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.base import ConnectorDeps
from connectors.dingtalk.connector import DingTalkConnector
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
from core.ports import CreatedGroup, MemoryTokenStore, Profile
from tests.connectors.dingtalk.dingtalk_support import base_env

SEND = "/v1.0/robot/groupMessages/send"
OTO = "/v1.0/robot/oToMessages/batchSend"
TOKEN_PATH = "/v1.0/oauth2/accessToken"
CID = "cidTrainGrp01xxxxxxxxxx=="


@pytest.fixture
def dingtalk(fake_dingtalk, deps) -> DingTalkConnector:
    fake_dingtalk.add_group(CID, ["u_lead", "u_lisi", "u_zhang"])
    return DingTalkConnector.from_env(base_env(**fake_dingtalk.env()), deps)


def post(text: str = "第一次提醒 (R8.2.1)") -> PostMessage:
    return PostMessage(platform="dingtalk", chat_id=CID, text=text)


def test_post_message(dingtalk, fake_dingtalk):
    delivery = dingtalk.deliver(post("请 <@u_zhang> 注意群规 (R8.2.1)"), "key-1")
    call = fake_dingtalk.calls_to(SEND)[0]
    assert delivery.remote_id == fake_dingtalk.messages[0]["processQueryKey"]
    assert call.headers["x-acs-dingtalk-access-token"] in fake_dingtalk.valid_tokens
    assert call.body == {"robotCode": "dingfakeappkey", "openConversationId": CID, "msgKey": "sampleText",
                         "msgParam": json.dumps({"content": "请 @u_zhang 注意群规 (R8.2.1)"}, ensure_ascii=False)}


def test_token_is_fetched_once_and_cached(dingtalk, fake_dingtalk):
    dingtalk.deliver(post(), "k1")
    dingtalk.deliver(post(), "k2")
    assert len(fake_dingtalk.calls_to(TOKEN_PATH)) == 1
    assert fake_dingtalk.calls_to(TOKEN_PATH)[0].body == {"appKey": "dingfakeappkey", "appSecret": "fake-app-secret"}


def test_token_is_shared_through_the_token_store(fake_dingtalk, deps):
    fake_dingtalk.add_group(CID, ["u_lead"])
    first = DingTalkConnector.from_env(base_env(**fake_dingtalk.env()), deps)
    second = DingTalkConnector.from_env(base_env(**fake_dingtalk.env()), deps)   # another worker
    first.deliver(post(), "k1")
    second.deliver(post(), "k2")
    assert len(fake_dingtalk.calls_to(TOKEN_PATH)) == 1


def test_token_refreshed_after_expiry_in_the_store(dingtalk, fake_dingtalk, clock):
    dingtalk.deliver(post(), "k1")
    clock.advance(hours=2)
    dingtalk.deliver(post(), "k2")
    assert len(fake_dingtalk.calls_to(TOKEN_PATH)) == 2


def test_rejected_token_is_refreshed_once(dingtalk, fake_dingtalk):
    dingtalk.deliver(post(), "k1")
    fake_dingtalk.expire_tokens()
    delivery = dingtalk.deliver(post(), "k2")
    assert delivery.remote_id
    assert len(fake_dingtalk.calls_to(TOKEN_PATH)) == 2
    assert [c.path for c in fake_dingtalk.calls][-3:] == [SEND, TOKEN_PATH, SEND]


def test_token_rejected_even_after_refresh(dingtalk, fake_dingtalk):
    fake_dingtalk.error(SEND, 401, "InvalidAuthentication")
    fake_dingtalk.error(SEND, 401, "InvalidAuthentication")
    with pytest.raises(RetryableDeliveryError):
        dingtalk.deliver(post(), "k1")
    assert len(fake_dingtalk.calls_to(TOKEN_PATH)) == 2


def test_send_private(dingtalk, fake_dingtalk):
    delivery = dingtalk.deliver(SendPrivate(platform="dingtalk", user_id="u_lisi", text="你的成绩: 92"), "k")
    call = fake_dingtalk.calls_to(OTO)[0]
    assert call.body == {"robotCode": "dingfakeappkey", "userIds": ["u_lisi"], "msgKey": "sampleText",
                         "msgParam": json.dumps({"content": "你的成绩: 92"}, ensure_ascii=False)}
    assert delivery.remote_id == fake_dingtalk.messages[0]["processQueryKey"]


def test_send_private_flow_controlled_and_invalid(dingtalk, fake_dingtalk):
    fake_dingtalk.add_user("u_lisi")
    fake_dingtalk.flow_control("u_lisi")
    with pytest.raises(RetryableDeliveryError):
        dingtalk.deliver(SendPrivate(platform="dingtalk", user_id="u_lisi", text="hi"), "k1")
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(SendPrivate(platform="dingtalk", user_id="u_gone", text="hi"), "k2")
    assert error.value.code == "invalid_user"


def test_post_card_in_group_renders_click_links(dingtalk, fake_dingtalk):
    card = PostCard(platform="dingtalk", chat_id=CID, title="移出确认", text="<@u_zhang> 再次违规 (R8.2.2)",
                    buttons=(Button("批准", "case.approve", "42", "danger"), Button("驳回", "case.reject", "42")))
    dingtalk.deliver(card, "k")
    body = fake_dingtalk.calls_to(SEND)[0].body
    param = json.loads(body["msgParam"])
    assert body["msgKey"] == "sampleMarkdown" and param["title"] == "移出确认"
    assert param["text"] == (
        "#### 移出确认\n\n@u_zhang 再次违规 (R8.2.2)\n\n"
        "- [批准](dtmd://dingtalkclient/sendMessage?content=%23steward%20case.approve%2042)\n"
        "- [驳回](dtmd://dingtalkclient/sendMessage?content=%23steward%20case.reject%2042)")


def test_card_click_round_trip(dingtalk, fake_dingtalk, clock):
    """The text a click sends comes back through the robot callback as CardActed."""
    from connectors.dingtalk import cards
    from tests.connectors.dingtalk.dingtalk_support import fixture_bytes, ms, robot_request
    link = cards.click_link("case.approve", "case 42/2026")
    sent = parse_qs(urlsplit(link).query)["content"][0]
    payload = json.loads(fixture_bytes("robot__card_click.json"))
    payload["text"]["content"] = sent
    event = dingtalk.receive(robot_request(json.dumps(payload).encode(), ms(clock))).events[0]
    assert (event.action, event.value, event.user_id, event.chat_id) == ("case.approve", "case 42/2026", "u_admin", None)


def test_post_card_privately(dingtalk, fake_dingtalk):
    dingtalk.deliver(PostCard(platform="dingtalk", user_id="u_admin", title="t", text="x",
                              buttons=(Button("OK", "ok", "1"),)), "k")
    assert fake_dingtalk.calls_to(OTO)[0].body["msgKey"] == "sampleMarkdown"


def test_post_card_without_target(dingtalk):
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(PostCard(platform="dingtalk", title="t", text="x"), "k")
    assert error.value.code == "no_target"


def test_remove_and_invite_in_scene_group(dingtalk, fake_dingtalk):
    dingtalk.deliver(RemoveMember(platform="dingtalk", chat_id=CID, user_id="u_zhang"), "k1")
    assert fake_dingtalk.groups[CID].members == ["u_lead", "u_lisi"]
    dingtalk.deliver(InviteMember(platform="dingtalk", chat_id=CID, user_id="u_new"), "k2")
    assert fake_dingtalk.groups[CID].members == ["u_lead", "u_lisi", "u_new"]
    assert fake_dingtalk.calls_to("/v1.0/im/sceneGroup/member/delete")[0].body == {
        "open_conversation_id": CID, "user_ids": ["u_zhang"]}


def test_create_group_then_manage_it_with_group_update(dingtalk, fake_dingtalk):
    created = dingtalk.make_group("2026Q4新人培训", "u_lead", ["u_lisi", "u_zhang"])
    group = fake_dingtalk.groups[created.chat_id]
    assert created == CreatedGroup(group.open_conversation_id) and dingtalk.chatid_of(created.chat_id) == group.chatid
    assert group.members == ["u_lead", "u_lisi", "u_zhang"] and "dingfakeappkey" in group.robots
    dingtalk.deliver(RemoveMember(platform="dingtalk", chat_id=created.chat_id, user_id="u_zhang"), "k")
    assert fake_dingtalk.calls_to("/v1.0/im/group/update")[0].body == {"chatid": group.chatid,
                                                                        "del_useridlist": ["u_zhang"]}
    assert group.members == ["u_lead", "u_lisi"]
    dingtalk.deliver(PostMessage(platform="dingtalk", chat_id=created.chat_id, text="欢迎"), "k2")


def test_make_group_is_the_group_creator_port(dingtalk, fake_dingtalk):
    created = dingtalk.make_group("2026Q4新人培训", "u_lead", ["u_lisi"])
    group = fake_dingtalk.groups[created.chat_id]
    assert created == CreatedGroup(group.open_conversation_id) and created.complete
    assert dingtalk.chatid_of(created.chat_id) == group.chatid
    with pytest.raises(ValueError):            # DingTalk chooses the id
        dingtalk.make_group("培训", "u_lead", ["u_lisi"], chat_id="mine")


def test_create_group_name_limits(dingtalk):
    with pytest.raises(ValueError):
        dingtalk.make_group("一" * 21, "u_lead", [])


def test_remove_from_a_group_steward_cannot_manage(dingtalk, fake_dingtalk):
    """A user-created group: neither a scene group nor one whose chatid Steward holds."""
    fake_dingtalk.add_group("cidUserMadexxxxxxxxxxxxxx==", ["u_a"], scene=False)
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(RemoveMember(platform="dingtalk", chat_id="cidUserMadexxxxxxxxxxxxxx==", user_id="u_a"), "k")
    assert error.value.code == "invalid.scenegroup"


@pytest.mark.parametrize("action", [
    DeleteMessage(platform="dingtalk", chat_id=CID, message_id="msg1"),
    PinMessage(platform="dingtalk", chat_id=CID, message_id="msg1"),
    SendEphemeral(platform="dingtalk", chat_id=CID, user_id="u_lisi", text="only you"),
])
def test_unsupported_actions(dingtalk, fake_dingtalk, action):
    with pytest.raises(UnsupportedAction):
        dingtalk.deliver(action, "k")
    assert fake_dingtalk.calls == []


def test_message_too_long(dingtalk, fake_dingtalk):
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(post("长" * 6000), "k")
    assert error.value.code == "invalid_message"
    assert fake_dingtalk.calls_to(SEND) == []


# --- error mapping ------------------------------------------------------------------------------

def test_http_429_with_retry_after(dingtalk, fake_dingtalk):
    fake_dingtalk.throttle(SEND, retry_after=7)
    with pytest.raises(RetryableDeliveryError) as error:
        dingtalk.deliver(post(), "k")
    assert error.value.retry_after == 7.0


@pytest.mark.parametrize("code", ["Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                                  "Forbidden.AccessDenied.QpsLimitForApi"])
def test_qps_limit_codes(dingtalk, fake_dingtalk, code):
    fake_dingtalk.qps_limit(SEND, code=code)
    with pytest.raises(RetryableDeliveryError):
        dingtalk.deliver(post(), "k")


def test_monthly_quota_on_the_new_api(dingtalk, fake_dingtalk):
    fake_dingtalk.error(SEND, 403, "Forbidden.AccessDenied.ApiCountLimitForOrg", "超过月调用量")
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(post(), "k")
    assert error.value.code == "quota"


@pytest.mark.parametrize("errcode,retryable,code", [(90018, True, None), (90002, True, None), (-1, True, None),
                                                    (90020, False, "quota"), (60121, False, "60121")])
def test_oapi_errcodes(dingtalk, fake_dingtalk, errcode, retryable, code):
    fake_dingtalk.oapi_error("/topapi/v2/user/get", errcode)
    with pytest.raises(RetryableDeliveryError if retryable else PermanentDeliveryError) as error:
        dingtalk.user_profile("u_lisi")
    if code:
        assert error.value.code == code


def test_oapi_token_expiry_refreshes(dingtalk, fake_dingtalk):
    fake_dingtalk.add_user("u_lisi", name="李四", title="工程师", dept_id_list=[3], mobile="13800000000")
    dingtalk.user_profile("u_lisi")
    dingtalk.deps.tokens.delete("dingtalk:profile:u_lisi")
    fake_dingtalk.expire_tokens()
    assert dingtalk.user_profile("u_lisi").name == "李四"
    assert len(fake_dingtalk.calls_to(TOKEN_PATH)) == 2
    assert fake_dingtalk.calls_to("/topapi/v2/user/get")[-1].query["access_token"] in fake_dingtalk.valid_tokens


def test_user_profile_is_cached(dingtalk, fake_dingtalk, clock):
    fake_dingtalk.add_user("u_lisi", name="李四", title="工程师", dept_id_list=[3], mobile="13800000000")
    profile = dingtalk.user_profile("u_lisi")
    assert profile == Profile(user_id="u_lisi", name="李四", position="工程师", department_ids=("3",),
                              mobile="13800000000")
    assert dingtalk.user_profile("u_lisi") == profile
    assert len(fake_dingtalk.calls_to("/topapi/v2/user/get")) == 1
    assert fake_dingtalk.calls_to("/topapi/v2/user/get")[0].body == {"userid": "u_lisi", "language": "zh_CN"}
    dingtalk.deliver(post("<@u_lisi> 请交作业"), "k")                  # names come from the cache only
    assert json.loads(fake_dingtalk.calls_to(SEND)[0].body["msgParam"])["content"] == "@李四 请交作业"
    clock.advance(hours=25)
    dingtalk.user_profile("u_lisi")
    assert len(fake_dingtalk.calls_to("/topapi/v2/user/get")) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_without_json(dingtalk, fake_dingtalk, status):
    fake_dingtalk.server_error(SEND, status=status)
    with pytest.raises(RetryableDeliveryError):
        dingtalk.deliver(post(), "k")


def test_server_error_with_json(dingtalk, fake_dingtalk):
    fake_dingtalk.error(SEND, 500, "InternalError", "system error")
    with pytest.raises(RetryableDeliveryError):
        dingtalk.deliver(post(), "k")


def test_ip_ban_answer(dingtalk, fake_dingtalk):
    fake_dingtalk.inject(SEND, 200, {"status": 1111, "message": "访问频率过快"})
    with pytest.raises(RetryableDeliveryError) as error:
        dingtalk.deliver(post(), "k")
    assert error.value.retry_after == 300.0


def test_other_codes_are_permanent(dingtalk, fake_dingtalk):
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(PostMessage(platform="dingtalk", chat_id="cidNotThere==", text="x"), "k")
    assert error.value.code == "robot.not.in.group"


def test_connection_refused_is_retryable(deps):
    import socket
    with socket.socket() as s:                 # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    connector = DingTalkConnector.from_env(base_env(DINGTALK_API_URL=f"http://127.0.0.1:{port}"), deps)
    with pytest.raises(RetryableDeliveryError):
        connector.deliver(post(), "k")


class _Saturated:
    """A RateLimiter port that is full: the 21st call in this second."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []

    def acquire(self, key: str, rate: str) -> float:
        self.keys.append((key, rate))
        return 0.05


def test_pacing_at_20_qps_per_api(fake_dingtalk, clock):
    limiter = _Saturated()
    deps = ConnectorDeps(clock=clock, tokens=MemoryTokenStore(clock), limiter=limiter)
    connector = DingTalkConnector.from_env(base_env(**fake_dingtalk.env()), deps)
    with pytest.raises(RetryableDeliveryError) as error:
        connector.deliver(post(), "k")
    assert error.value.retry_after == 0.05
    assert limiter.keys == [("dingtalk:dingfakeappkey:oauth2/accessToken", "20/second")]
    assert fake_dingtalk.calls == []


def test_health(dingtalk, fake_dingtalk, deps):
    assert dingtalk.health().ok
    bad = DingTalkConnector.from_env(base_env(**fake_dingtalk.env(DINGTALK_APP_SECRET="wrong")), deps)
    health = bad.health()
    assert not health.ok and "invalidClientIdOrSecret" in health.detail


def test_success_without_body(dingtalk, fake_dingtalk):
    fake_dingtalk.inject("/v1.0/im/sceneGroup/member/delete", 200, b"")
    assert dingtalk.deliver(RemoveMember(platform="dingtalk", chat_id=CID, user_id="u_zhang"), "k").detail == {
        "api": "/v1.0/im/sceneGroup/member/delete"}


def test_membership_refused_with_success_false(dingtalk, fake_dingtalk):
    fake_dingtalk.inject("/v1.0/im/sceneGroup/member/delete", 200, {"success": False})
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(RemoveMember(platform="dingtalk", chat_id=CID, user_id="u_zhang"), "k")
    assert error.value.code == "refused"


def test_token_endpoint_refusing_is_permanent(dingtalk, fake_dingtalk):
    fake_dingtalk.error(TOKEN_PATH, 401, "Unauthorized", "app disabled")
    with pytest.raises(PermanentDeliveryError) as error:
        dingtalk.deliver(post(), "k")
    assert error.value.code == "Unauthorized"
