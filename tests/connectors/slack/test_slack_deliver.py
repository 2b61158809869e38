"""deliver() for every action type through the real slack_sdk WebClient against the fake Web API,
and every error mapping (throttling, 5xx, timeouts, refusals, already-done states)."""
from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlencode

import pytest

from connectors.base import ConnectorDeps
from connectors.slack.connector import SlackConnector, outbox_mark
from connectors.slack.manifest import CAPABILITIES as SLACK
from core.actions import (
    Action,
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
from core.events import CardActed
from core.ports import Profile
from tests.connectors.slack.slack_helpers import SECRET, signed
from tests.fakes.slack_api import ADMIN_TOKEN, BOT_TOKEN, BOT_USER_ID, FakeSlack, shown

CHANNEL = "C0TRAIN01"
MEMBER = "U0MEMBER1"


def MARK(key: str) -> dict:
    """Every post carries its outbox key's digest as message metadata (found again after an interrupted call)."""
    return {"event_type": "steward_outbox", "event_payload": {"outbox": outbox_mark(key)}}


def rich(*parts: str | dict) -> list[dict]:
    """What `literal` sends: one rich_text block, words as text elements, the core's mentions as users."""
    return [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": p} if isinstance(p, str) else p for p in parts]}]}]


def only_call(fake: FakeSlack, method: str):
    calls = fake.calls_to(method)
    assert len(calls) == 1, [c.method for c in fake.calls]
    return calls[0]


# --- each action type -------------------------------------------------------------------------------

def test_post_message(live, fake_slack):
    delivery = live.deliver(PostMessage(platform="slack", chat_id=CHANNEL, text="第一次警告 <@U0MEMBER1> (R8.2.1)"),
                            "out-1")
    call = only_call(fake_slack, "chat.postMessage")
    assert call.args == {"channel": CHANNEL, "text": "第一次警告 <@U0MEMBER1> (R8.2.1)", "metadata": MARK("out-1"),
                         "blocks": rich("第一次警告 ", {"type": "user", "user_id": "U0MEMBER1"}, " (R8.2.1)")}
    assert call.token == BOT_TOKEN and call.authorization == f"Bearer {BOT_TOKEN}"
    assert call.content_type == "application/json"
    assert delivery.remote_id == fake_slack.state.messages[(CHANNEL, delivery.remote_id)]["ts"]
    assert delivery.detail == {"channel": CHANNEL}


def test_post_message_in_a_thread(live, fake_slack):
    live.deliver(PostMessage(platform="slack", chat_id=CHANNEL, text="ok", thread_id="1764072000.123456"), "out-2")
    assert only_call(fake_slack, "chat.postMessage").args["thread_ts"] == "1764072000.123456"


def test_post_message_escapes_markup_but_keeps_the_cores_mentions(live, fake_slack):
    live.deliver(PostMessage(platform="slack", chat_id=CHANNEL,
                             text="removed: \"<!channel> buy <https://x.example|now>\" & more, by <@U0ADMIN01>"),
                 "out-3")
    assert only_call(fake_slack, "chat.postMessage").args["text"] == (
        "removed: \"&lt;!channel&gt; buy &lt;https://x.example|now&gt;\" &amp; more, by <@U0ADMIN01>")


def test_send_private_opens_the_dm_then_posts(live, fake_slack):
    delivery = live.deliver(SendPrivate(platform="slack", user_id=MEMBER, text="你的成績：85"), "out-4")
    assert [c.method for c in fake_slack.calls] == ["conversations.open", "chat.postMessage"]
    assert fake_slack.calls[0].args == {"users": MEMBER}
    assert fake_slack.calls[1].args == {"channel": "D0MEMBER1", "text": "你的成績：85", "metadata": MARK("out-4"),
                                        "blocks": rich("你的成績：85")}
    assert delivery.remote_id and delivery.detail == {"channel": "D0MEMBER1"}


def test_send_ephemeral(live, fake_slack):
    delivery = live.deliver(SendEphemeral(platform="slack", chat_id=CHANNEL, user_id=MEMBER, text="請勿廣告"),
                            "out-5")
    assert only_call(fake_slack, "chat.postEphemeral").args == {"channel": CHANNEL, "user": MEMBER,
                                                                 "text": "請勿廣告", "blocks": rich("請勿廣告")}
    assert delivery.remote_id


def test_remove_member(live, fake_slack):
    fake_slack.add_channel(CHANNEL, BOT_USER_ID, MEMBER)
    delivery = live.deliver(RemoveMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-6")
    assert only_call(fake_slack, "conversations.kick").args == {"channel": CHANNEL, "user": MEMBER}
    assert MEMBER not in fake_slack.state.members[CHANNEL]
    assert delivery.detail == {}


def test_remove_member_who_already_left_counts_as_done(live, fake_slack):
    fake_slack.add_channel(CHANNEL, BOT_USER_ID)
    delivery = live.deliver(RemoveMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-7")
    assert delivery.detail == {"already": "not_in_channel"}


@pytest.mark.parametrize("error", ["restricted_action", "cant_kick_from_general", "cant_kick_self",
                                   "channel_not_found", "user_not_found", "missing_scope"])
def test_remove_member_refused_for_good(live, fake_slack, error):
    fake_slack.fail_next("conversations.kick", error)
    with pytest.raises(PermanentDeliveryError) as refused:
        live.deliver(RemoveMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-8")
    assert refused.value.code == error


def test_invite_member(live, fake_slack):
    fake_slack.add_channel(CHANNEL, BOT_USER_ID)
    live.deliver(InviteMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-9")
    assert only_call(fake_slack, "conversations.invite").args == {"channel": CHANNEL, "users": MEMBER}
    assert MEMBER in fake_slack.state.members[CHANNEL]


def test_invite_member_already_in_channel_counts_as_done(live, fake_slack):
    fake_slack.add_channel(CHANNEL, BOT_USER_ID, MEMBER)
    delivery = live.deliver(InviteMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-10")
    assert delivery.detail == {"already": "already_in_channel"}


def test_invite_into_a_channel_the_bot_is_not_in_is_refused(live, fake_slack):
    fake_slack.add_channel(CHANNEL, "U0SOMEONE")
    with pytest.raises(PermanentDeliveryError) as refused:
        live.deliver(InviteMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-11")
    assert refused.value.code == "not_in_channel"


def test_delete_message_uses_the_admin_user_token(live, fake_slack):
    fake_slack.add_message(CHANNEL, "1764072000.123456", MEMBER, "加我微信")
    delivery = live.deliver(DeleteMessage(platform="slack", chat_id=CHANNEL, message_id="1764072000.123456"),
                            "out-12")
    call = only_call(fake_slack, "chat.delete")
    assert call.args == {"channel": CHANNEL, "ts": "1764072000.123456"}
    assert call.token == ADMIN_TOKEN and call.authorization == f"Bearer {ADMIN_TOKEN}"
    assert (CHANNEL, "1764072000.123456") not in fake_slack.state.messages
    assert delivery.remote_id == "1764072000.123456"


def test_delete_of_a_message_already_gone_counts_as_done(live, fake_slack):
    delivery = live.deliver(DeleteMessage(platform="slack", chat_id=CHANNEL, message_id="1764072000.999999"),
                            "out-13")
    assert delivery.detail == {"already": "message_not_found"}


def test_delete_refused_by_slack(live, fake_slack):
    fake_slack.fail_next("chat.delete", "cant_delete_message")
    with pytest.raises(PermanentDeliveryError) as refused:
        live.deliver(DeleteMessage(platform="slack", chat_id=CHANNEL, message_id="1.2"), "out-14")
    assert refused.value.code == "cant_delete_message"


def test_without_an_admin_token_deleting_is_unsupported_and_declared(fake_slack, deps):
    connector = SlackConnector.from_env(fake_slack.env(signing_secret=SECRET, admin=False), deps)
    assert connector.capabilities == SLACK.with_(delete_others_messages=False)
    with pytest.raises(UnsupportedAction):
        connector.deliver(DeleteMessage(platform="slack", chat_id=CHANNEL, message_id="1.2"), "out-15")
    assert fake_slack.calls == []


def test_with_an_admin_token_the_capabilities_are_slacks(live):
    assert live.capabilities == SLACK


def test_pin_message(live, fake_slack):
    live.deliver(PinMessage(platform="slack", chat_id=CHANNEL, message_id="1764072000.123456"), "out-16")
    assert only_call(fake_slack, "pins.add").args == {"channel": CHANNEL, "timestamp": "1764072000.123456"}
    delivery = live.deliver(PinMessage(platform="slack", chat_id=CHANNEL, message_id="1764072000.123456"), "out-17")
    assert delivery.detail == {"already": "already_pinned"}


CARD = PostCard(
    platform="slack", title="Remove li.lei?", text="Second violation under R8.2.2: ads (加我微信)",
    buttons=(Button("Remove", "case.approve", "case-17", "danger"), Button("Keep", "case.reject", "case-17"),
             Button("Later", "case.snooze", "case-17", "primary")),
    chat_id=CHANNEL)


def test_post_card_in_a_channel_renders_block_kit(live, fake_slack):
    delivery = live.deliver(CARD, "out-18")
    args = only_call(fake_slack, "chat.postMessage").args
    assert args["channel"] == CHANNEL
    assert args["text"] == "Remove li.lei?\nSecond violation under R8.2.2: ads (加我微信)"
    assert args["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": "Remove li.lei?"}},
        *rich("Second violation under R8.2.2: ads (加我微信)"),
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Remove"}, "action_id": "case.approve",
             "value": "case-17", "style": "danger"},
            {"type": "button", "text": {"type": "plain_text", "text": "Keep"}, "action_id": "case.reject",
             "value": "case-17"},
            {"type": "button", "text": {"type": "plain_text", "text": "Later"}, "action_id": "case.snooze",
             "value": "case-17", "style": "primary"},
        ]},
    ]
    assert delivery.remote_id


def test_post_card_privately_opens_a_dm(live, fake_slack):
    card = PostCard(platform="slack", title="Appeal", text="", buttons=(Button("Appeal", "appeal.open", "w-3"),),
                    user_id=MEMBER)
    live.deliver(card, "out-19")
    assert [c.method for c in fake_slack.calls] == ["conversations.open", "chat.postMessage"]
    assert fake_slack.calls[1].args["channel"] == "D0MEMBER1"
    assert fake_slack.calls[1].args["text"] == "Appeal"


def test_post_card_without_a_target_is_refused(live):
    with pytest.raises(PermanentDeliveryError) as refused:
        live.deliver(PostCard(platform="slack", title="x", text="y"), "out-20")
    assert refused.value.code == "no_target"


def _click(live: SlackConnector, clock, posted: dict, action_index: int, user: str = "U0ADMIN01") -> list:
    """Press a button of a posted card the way Slack reports it: block_actions with the element's ids."""
    element = [b for b in posted["blocks"] if b["type"] == "actions"][0]["elements"][action_index]
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": posted["channel"]},
               "trigger_id": "1.2.3", "actions": [{"type": "button", "action_id": element["action_id"],
                                                   "value": element["value"], "action_ts": "1764073330.000001"}]}
    request = signed(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded", clock)
    live.verify(request)
    return live.receive(request).events


def test_a_card_click_comes_back_as_the_buttons_action_and_value(live, fake_slack, clock):
    card = PostCard(platform="slack", title="Rate today", text="1-3",
                    buttons=tuple(Button(str(n), "feedback.rate", str(n)) for n in (1, 2, 3)), chat_id=CHANNEL)
    live.deliver(card, "out-21")
    posted = only_call(fake_slack, "chat.postMessage").args
    action_ids = [e["action_id"] for e in posted["blocks"][-1]["elements"]]
    assert len(set(action_ids)) == 3          # Slack wants them unique within a block
    for index, button in enumerate(card.buttons):
        [event] = _click(live, clock, posted, index)
        assert isinstance(event, CardActed)
        assert (event.action, event.value, event.chat_id) == (button.action, button.value, CHANNEL)


def test_long_cards_are_split_within_block_kit_limits(live, fake_slack):
    card = PostCard(platform="slack", title="Rules", text=("R8.2.1 " * 300 + "\n") * 3,
                    buttons=tuple(Button("x" * 100, f"a.{n}", str(n)) for n in range(30)), chat_id=CHANNEL)
    live.deliver(card, "out-22")
    blocks = only_call(fake_slack, "chat.postMessage").args["blocks"]
    texts = [e["text"] for b in blocks if b["type"] == "rich_text" for s in b["elements"] for e in s["elements"]]
    actions = [b for b in blocks if b["type"] == "actions"]
    assert all(len(text) <= 3000 for text in texts) and len(texts) >= 3 and "".join(texts) == card.text
    assert [len(b["elements"]) for b in actions] == [25, 5]
    assert all(len(e["text"]["text"]) <= 75 for b in actions for e in b["elements"])


def test_a_button_value_over_slacks_limit_is_refused(live, fake_slack):
    card = PostCard(platform="slack", title="t", text="", buttons=(Button("b", "a", "v" * 2001),), chat_id=CHANNEL)
    with pytest.raises(PermanentDeliveryError) as refused:
        live.deliver(card, "out-23")
    assert refused.value.code == "button_value_too_long"
    assert fake_slack.calls == []


@dataclass(frozen=True)
class Shrug(Action):
    kind: ClassVar[str] = "shrug"


def test_an_action_type_without_translation_is_unsupported(live):
    with pytest.raises(UnsupportedAction):
        live.deliver(Shrug(platform="slack"), "out-24")


# --- error mapping ----------------------------------------------------------------------------------

POST = PostMessage(platform="slack", chat_id=CHANNEL, text="hello")


def test_429_with_a_long_retry_after_goes_back_to_the_outbox_without_sleeping(live, fake_slack):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    with pytest.raises(RetryableDeliveryError) as throttled:
        live.deliver(POST, "out-25")
    assert throttled.value.retry_after == 30
    assert len(fake_slack.calls_to("chat.postMessage")) == 1   # no in-place retry


def test_429_with_a_short_retry_after_is_retried_in_place(live, fake_slack):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)
    assert live.deliver(POST, "out-26").remote_id
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_429_twice_in_a_row_goes_back_to_the_outbox(live, fake_slack):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0, times=2)
    with pytest.raises(RetryableDeliveryError) as throttled:
        live.deliver(POST, "out-27")
    assert throttled.value.retry_after == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable(live, fake_slack, status):
    fake_slack.fail_next("conversations.kick", status=status)
    with pytest.raises(RetryableDeliveryError):
        live.deliver(RemoveMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-28")


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "fatal_error", "service_unavailable",
                                   "request_timeout"])
def test_transient_error_codes_are_retryable(live, fake_slack, error):
    fake_slack.fail_next("chat.postMessage", error)
    with pytest.raises(RetryableDeliveryError):
        live.deliver(POST, "out-29")


@pytest.mark.parametrize("error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked",
                                   "token_expired", "channel_not_found", "is_archived", "not_in_channel",
                                   "msg_too_long"])
def test_refusals_are_permanent_with_slacks_code(live, fake_slack, error):
    fake_slack.fail_next("chat.postMessage", error)
    with pytest.raises(PermanentDeliveryError) as refused:
        live.deliver(POST, "out-30")
    assert refused.value.code == error


def test_a_wrong_token_is_refused_by_the_fake_like_slack(deps, fake_slack):
    env = fake_slack.env(signing_secret=SECRET) | {"SLACK_BOT_TOKEN": "xoxb-revoked"}
    connector = SlackConnector.from_env(env, deps)
    with pytest.raises(PermanentDeliveryError) as refused:
        connector.deliver(POST, "out-31")
    assert refused.value.code == "invalid_auth"


def test_a_timeout_is_retryable(fake_slack, deps):
    connector = SlackConnector(SlackConnector.from_env(fake_slack.env(signing_secret=SECRET), deps).settings,
                               deps, timeout=0.2)
    fake_slack.fail_next("chat.postMessage", "ratelimited", delay=0.6)
    with pytest.raises(RetryableDeliveryError):
        connector.deliver(POST, "out-32")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1   # no automatic resend: could double-post


def test_a_refused_connection_is_retryable(deps):
    with socket.socket() as probe:         # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = SlackConnector.from_env({"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-x",
                                         "SLACK_API_URL": f"http://127.0.0.1:{port}/api/"}, deps)
    with pytest.raises(RetryableDeliveryError):
        connector.deliver(POST, "out-33")


# --- pacing -----------------------------------------------------------------------------------------

class ScriptedLimiter:
    """A RateLimiter that records its keys and answers with a fixed wait."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.keys: list[tuple[str, str]] = []

    def acquire(self, key: str, rate: str) -> float:
        self.keys.append((key, rate))
        return self.wait


def test_posts_are_paced_per_channel_through_the_limiter(fake_slack, deps):
    limiter = ScriptedLimiter(wait=0.0)
    connector = SlackConnector.from_env(fake_slack.env(signing_secret=SECRET),
                                        ConnectorDeps(clock=deps.clock, tokens=deps.tokens, limiter=limiter))
    connector.deliver(POST, "out-34")
    connector.deliver(SendPrivate(platform="slack", user_id=MEMBER, text="hi"), "out-35")
    connector.deliver(RemoveMember(platform="slack", chat_id=CHANNEL, user_id=MEMBER), "out-36")
    assert limiter.keys == [("slack:chat.postMessage:C0TRAIN01", "1/second"),
                            ("slack:chat.postMessage:dm:U0MEMBER1", "1/second")]


def test_a_paced_post_is_retryable_after_the_limiters_wait_and_calls_nothing(fake_slack, deps):
    limiter = ScriptedLimiter(wait=0.8)
    connector = SlackConnector.from_env(fake_slack.env(signing_secret=SECRET),
                                        ConnectorDeps(clock=deps.clock, tokens=deps.tokens, limiter=limiter))
    with pytest.raises(RetryableDeliveryError) as paced:
        connector.deliver(POST, "out-37")
    assert paced.value.retry_after == 0.8
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_paced_private_message_does_not_open_the_dm_first(fake_slack, deps):
    connector = SlackConnector.from_env(fake_slack.env(signing_secret=SECRET),
                                        ConnectorDeps(clock=deps.clock, tokens=deps.tokens,
                                                      limiter=ScriptedLimiter(wait=1.0)))
    with pytest.raises(RetryableDeliveryError):
        connector.deliver(SendPrivate(platform="slack", user_id=MEMBER, text="hi"), "out-38")
    with pytest.raises(RetryableDeliveryError):
        connector.deliver(PostCard(platform="slack", title="t", text="", user_id=MEMBER), "out-39")
    assert fake_slack.calls == []


# --- profiles and health ------------------------------------------------------------------------------

def test_user_profile_reads_users_info_and_caches_it(live, fake_slack, clock):
    fake_slack.add_user(MEMBER, name="li.lei", real_name="李雷", title="Engineer I", email="li.lei@example.com")
    expected = Profile(user_id=MEMBER, name="李雷", position="Engineer I", email="li.lei@example.com")
    assert live.user_profile(MEMBER) == expected
    clock.advance(minutes=59)
    assert live.user_profile(MEMBER) == expected
    assert len(fake_slack.calls_to("users.info")) == 1
    assert only_call(fake_slack, "users.info").args == {"user": MEMBER}
    clock.advance(minutes=2)
    live.user_profile(MEMBER)
    assert len(fake_slack.calls_to("users.info")) == 2


def test_user_profile_of_an_unknown_user_is_none(live):
    assert live.user_profile("U0NOBODY") is None


def test_user_profile_throttled_is_retryable(live, fake_slack):
    fake_slack.fail_next("users.info", status=429, retry_after=20)
    with pytest.raises(RetryableDeliveryError):
        live.user_profile(MEMBER)


def test_health_checks_both_tokens(live, fake_slack):
    health = live.health()
    assert health.ok is True
    assert [c.token for c in fake_slack.calls_to("auth.test")] == [BOT_TOKEN, ADMIN_TOKEN]


def test_health_reports_a_revoked_token_without_raising(live, fake_slack):
    fake_slack.fail_next("auth.test", "token_revoked")
    health = live.health()
    assert (health.ok, health.detail) == (False, "bot token: token_revoked")


def test_health_reports_an_unreachable_api(live, fake_slack):
    fake_slack.fail_next("auth.test", status=503)
    assert live.health().ok is False



# --- member text is shown as typed -----------------------------------------------------------------------

TYPED = "*free* course _today_ ~only~ `rm -rf` ```all``` & <b>\n> quoted"


def test_the_reader_view_would_catch_formatting():
    """The check below can fail: the escaped mrkdwn alone (what was sent before) formats a member's words."""
    from connectors.slack.mrkdwn import escape
    text, styles = shown({"text": escape(f"warned for: {TYPED}")})
    assert styles == {"bold", "italic", "strike", "code", "preformatted", "quote"} and text != f"warned for: {TYPED}"


@pytest.mark.parametrize("action", [
    PostMessage(platform="slack", chat_id=CHANNEL, text=f"<@{MEMBER}> warned for: {TYPED}"),
    SendPrivate(platform="slack", user_id=MEMBER, text=f"<@{MEMBER}> warned for: {TYPED}"),
    SendEphemeral(platform="slack", chat_id=CHANNEL, user_id=MEMBER, text=f"<@{MEMBER}> warned for: {TYPED}"),
    PostCard(platform="slack", title=f"Remove *{TYPED[:20]}*?", text=f"<@{MEMBER}> warned for: {TYPED}",
             buttons=(Button("Remove", "case.approve", "C1"),), chat_id=CHANNEL),
], ids=["post", "private", "ephemeral", "card"])
def test_quoted_member_text_is_shown_as_typed(live, fake_slack, action):
    """`*bold*`, `_italic_`, `~strike~`, backticks and `>` in a member's words quoted by Steward: the reader
    sees the characters as typed, with no style applied; the core's own mention is still a mention."""
    live.deliver(action, "out-typed")
    [call] = [c for c in fake_slack.calls if c.method in ("chat.postMessage", "chat.postEphemeral")]
    text, styles = shown(call.args)
    expected = f"@{MEMBER} warned for: {TYPED}"
    if isinstance(action, PostCard):
        expected = f"{action.title}\n{expected}"
    assert (text, styles) == (expected, set())
    assert {"type": "user", "user_id": MEMBER} in call.args["blocks"][-2 if isinstance(action, PostCard) else 0][
        "elements"][0]["elements"]
