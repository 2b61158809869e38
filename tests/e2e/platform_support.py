"""Helpers for tests/e2e/test_platforms_e2e.py: one "side" per messenger.

A side knows three things about its platform, and nothing about Steward's internals:
- how the platform puts a request on the wire (signed or encrypted exactly as the vendor does it,
  computed here from the documented algorithms or with the vendor's own crypto library), so the test
  can POST it to the real webhook path of the Flask app;
- how to read what Steward did from the fake Web API's recorded calls, as `Sent` rows
  (which API path, which chat, which user, which text);
- how to make the fake refuse the removal API with a 429 and a Retry-After.

The people are the same on every platform (an admin, a lead, three members), each under that
platform's own kind of user id.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from urllib.parse import urlencode

from sqlalchemy import func, select

from core.clock import FrozenClock
from core.config import parse_config
from core.db.models import ArchivedMessage, Case, InboundEvent, OutboxItem
from steward.worker import drain
from tests.fakes.dingtalk_api import FakeDingTalk
from tests.fakes.slack_api import BOT_USER_ID, FakeSlack
from tests.fakes.wecom_api import FakeWeCom

# --- what goes over the wire ----------------------------------------------------------------------

@dataclass(frozen=True)
class Wire:
    """One HTTP request as the platform sends it."""
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    method: str = "POST"

    def send(self, client):
        return client.open(self.path, method=self.method, data=self.body, headers=self.headers,
                           query_string=self.query, content_type=self.content_type)


@dataclass(frozen=True)
class Sent:
    """One call Steward made to a platform's Web API, as the fake recorded it."""
    api: str                 # "chat.postMessage", "appchat/update", "/v1.0/robot/groupMessages/send"
    chat: str | None = None  # the group posted into / removed from
    user: str | None = None  # the private message's recipient / the member removed
    text: str = ""


def counts(container) -> dict[str, int]:
    """Rows that an inbound request can write; bad input must leave every one of them unchanged."""
    with container.sessions() as s:
        return {model.__name__: s.scalar(select(func.count()).select_from(model))
                for model in (InboundEvent, OutboxItem, ArchivedMessage, Case)}


def pending_rows(container) -> list[OutboxItem]:
    with container.sessions() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.status == "pending")
                              .order_by(OutboxItem.id)))


def deliver_all(container, clock: FrozenClock) -> None:
    """Drain the outbox, waiting out Steward's own pacing (Slack: one post per second per channel).

    Two posts into one Slack channel within a second (the warning, then the removal notice) make the
    second wait: its row goes back to the outbox with the limiter's wait. The outbox retries on the
    injected clock, but the rate limiter (the `limits` library, shared by every worker) counts real
    seconds, so both must move: the frozen clock to the retry time, the wall clock past the window.
    Any other pending row is a failure of the test.
    """
    drain(container)
    for _ in range(3):
        rows = pending_rows(container)
        if not rows:
            return
        assert all("pacing" in (r.last_error or "") or "paced" in (r.last_error or "") for r in rows), \
            [(r.idempotency_key, r.last_error) for r in rows]
        latest = max(r.next_attempt_at for r in rows)
        clock.advance(seconds=max(0.0, (latest - clock.now()).total_seconds()))
        time.sleep(1.05)
        drain(container)
    assert not pending_rows(container)


# --- the configuration ----------------------------------------------------------------------------

def group_yaml(side: "Side", training: str | None = None) -> str:
    u = side.users
    lines = [f"  - platform: {side.platform}",
             f"    chat_id: {side.chat}",
             f"    name: {side.group_name}",
             "    kind: new-hire"]
    if training:
        lines.append(f"    training: {training}")
    lines += [f"    lead: {side.platform}:{u['lead']}",
              f"    admins: [{side.platform}:{u['admin']}]",
              f"    members: [{', '.join(f'{side.platform}:{u[p]}' for p in ('bob', 'carol', 'dave'))}]"]
    return "\n".join(lines)


def steward_config(sides: Iterable["Side"], training: str | None = None):
    """steward.yaml: R8.2.1/R8.2.2 with one warning before removal, removal without confirmation."""
    text = ("locale: en\n"
            "templates:\n"
            "  new-hire:\n"
            "    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}\n"
            "groups:\n" + "\n".join(group_yaml(side, training) for side in sides) + "\n")
    return parse_config(text)


# --- the sides --------------------------------------------------------------------------------------

class Side:
    platform: str
    chat: str
    group_name: str
    users: dict[str, str]
    GROUP_POST: str          # the API path of a post into the group
    PRIVATE: tuple[str, ...]  # the API path(s) of one private message
    REMOVE: str              # the API path of a removal
    THROTTLED: str           # the outbox row's last_error after a 429 on REMOVE

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self._ids = itertools.count(1)

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def mark(self) -> int:
        return len(self.fake.calls)

    def sent(self, since: int = 0) -> list[Sent]:
        raise NotImplementedError

    def posts(self, since: int = 0) -> list[Sent]:
        return [s for s in self.sent(since) if s.api == self.GROUP_POST and s.chat]

    def privates(self, since: int = 0) -> list[Sent]:
        return [s for s in self.sent(since) if s.api == self.PRIVATE[-1] and s.user]

    def removals(self, since: int = 0) -> list[Sent]:
        return [s for s in self.sent(since) if s.api == self.REMOVE]

    def told(self, person: str, since: int = 0) -> list[str]:
        """What only `person` saw: private messages (and on Slack, below, ephemeral answers in the channel)."""
        return [s.text for s in self.privates(since) if s.user == self.users[person]]

    def next_id(self) -> int:
        return next(self._ids)


class SlackSide(Side):
    """Slack: v0 signatures (HMAC-SHA256 over "v0:{ts}:{raw body}") on /slack/events."""
    platform = "slack"
    chat = "C0TRAIN01"
    group_name = "Slack new hires"
    users = {"admin": "U0ADAM001", "lead": "U0LILY001", "bob": "U0BOB0001", "carol": "U0CAROL01",
             "dave": "U0DAVE001"}
    GROUP_POST = "chat.postMessage"
    PRIVATE = ("conversations.open", "chat.postMessage")
    REMOVE = "conversations.kick"
    THROTTLED = "slack conversations.kick: rate limited"
    SECRET = "e2e-slack-signing-secret-0001"


    def told(self, person: str, since: int = 0) -> list[str]:
        user = self.users[person]
        return super().told(person, since) + [
            c.args.get("text", "") for c in self.fake.calls[since:]
            if c.method == "chat.postEphemeral" and c.args.get("user") == user]

    def __init__(self, clock: FrozenClock, fake: FakeSlack) -> None:
        super().__init__(clock)
        self.fake = fake
        fake.add_channel(self.chat, BOT_USER_ID, *self.users.values())

    def env(self) -> dict[str, str]:
        return self.fake.env(signing_secret=self.SECRET)

    # inbound
    def signed(self, body: bytes, content_type: str, *, timestamp: int | None = None,
               secret: str | None = None, extra: dict[str, str] | None = None) -> Wire:
        ts = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        base = b"v0:" + str(ts).encode() + b":" + body
        signature = "v0=" + hmac.new((secret or self.SECRET).encode(), base, hashlib.sha256).hexdigest()
        headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature, **(extra or {})}
        return Wire("/slack/events", body, headers, content_type=content_type)

    def slash_command(self, user: str, text: str) -> Wire:
        """`/steward <text>` typed in the training channel (should_escape: mentions arrive as <@U…|name>)."""
        n = self.next_id()
        form = {"token": "legacy-verification-token", "team_id": "T0STEWARD", "team_domain": "steward-e2e",
                "channel_id": self.chat, "channel_name": "2026-q4-new-hires", "user_id": user,
                "user_name": user.lower(), "command": "/steward", "text": text, "api_app_id": "A0STEWARD",
                "response_url": "https://hooks.slack.com/commands/T0STEWARD/1/e2e",
                "trigger_id": f"1764073200.{n:010d}.e2etrigger"}
        return self.signed(urlencode(form).encode(), "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any], event_id: str | None = None) -> Wire:
        n = self.next_id()
        envelope = {"token": "legacy-verification-token", "team_id": "T0STEWARD", "api_app_id": "A0STEWARD",
                    "event": event, "type": "event_callback", "event_id": event_id or f"Ev0E2E{n:06d}",
                    "event_time": int(self.clock.now().timestamp()),
                    "authorizations": [{"enterprise_id": None, "team_id": "T0STEWARD", "user_id": BOT_USER_ID,
                                        "is_bot": True, "is_enterprise_install": False}],
                    "is_ext_shared_channel": False}
        return self.signed(json.dumps(envelope, ensure_ascii=False).encode(), "application/json")

    def channel_message(self, user: str, text: str) -> Wire:
        """A message in the channel (message.channels), as it arrives when someone @-mentions Steward."""
        ts = f"{int(self.clock.now().timestamp())}.{self.next_id():06d}"
        return self.event({"type": "message", "user": user, "text": text, "ts": ts, "team": "T0STEWARD",
                           "channel": self.chat, "event_ts": ts, "channel_type": "channel"})

    def report(self, reporter: str, member: str, words: str, again: bool = False) -> Wire:
        if not again:   # the slash command
            return self.slash_command(self.users[reporter],
                                      f"warn <@{self.users[member]}|{member}> {words}")
        # an @-mention of the bot in the channel
        return self.channel_message(self.users[reporter],
                                    f"<@{BOT_USER_ID}> warn <@{self.users[member]}|{member}> {words}")

    def retry(self, wire: Wire) -> Wire:
        """Slack's retry of an event it thinks was not acknowledged: same body, signed anew."""
        return self.signed(wire.body, wire.content_type,
                           extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})

    def departure(self, member: str) -> Wire:
        user_id = self.users[member]
        return self.event({"type": "user_change", "user": {
            "id": user_id, "team_id": "T0STEWARD", "name": member, "deleted": True, "is_bot": False,
            "profile": {"real_name": member, "display_name": member}, "updated": 1764072940},
            "cache_ts": 1764072940, "event_ts": "1764072940.001500"})

    # outbound
    def throttle_removal(self, retry_after: int) -> None:
        self.fake.fail_next("conversations.kick", status=429, retry_after=retry_after)

    def members_now(self) -> set[str]:
        return set(self.fake.state.members[self.chat]) - {BOT_USER_ID}

    def sent(self, since: int = 0) -> list[Sent]:
        out: list[Sent] = []
        dm_of: dict[str, str] = {}    # DM channel -> user, from the conversations.open answers' shape
        for call in self.fake.calls:
            if call.method == "conversations.open":
                dm_of["D" + str(call.args["users"]).lstrip("UW")[:10]] = call.args["users"]
        for call in self.fake.calls[since:]:
            a = call.args
            if call.method == "chat.postMessage":
                channel = a.get("channel")
                if channel in dm_of:
                    out.append(Sent(call.method, user=dm_of[channel], text=a.get("text", "")))
                else:
                    out.append(Sent(call.method, chat=channel, text=a.get("text", "")))
            elif call.method == "conversations.open":
                out.append(Sent(call.method, user=a.get("users")))
            elif call.method == "conversations.kick":
                out.append(Sent(call.method, chat=a.get("channel"), user=a.get("user")))
            else:
                out.append(Sent(call.method))
        return out


class WeComSide(Side):
    """WeCom: AES-encrypted XML signed with msg_signature (WXBizMsgCrypt, via wechatpy in the fake)."""
    platform = "wecom"
    chat = "wrTRAIN01"
    group_name = "WeCom new hires"
    users = {"admin": "wangadmin", "lead": "lilylead", "bob": "bobzhang", "carol": "carolli",
             "dave": "davezhao"}
    GROUP_POST = "appchat/send"
    PRIVATE = ("message/send",)
    REMOVE = "appchat/update"
    THROTTLED = "wecom appchat/update: HTTP 429"

    def __init__(self, clock: FrozenClock, fake: FakeWeCom) -> None:
        super().__init__(clock)
        self.fake = fake
        for person, user_id in self.users.items():
            fake.add_user(user_id, name=person.title())
        fake.add_chat(self.chat, self.users["admin"], list(self.users.values()), name=self.group_name)

    def env(self) -> dict[str, str]:
        return self.fake.env()

    # inbound
    def encrypted(self, plaintext_xml: str, endpoint: str = "callback", offset: int = 0) -> Wire:
        query, body = self.fake.callback(plaintext_xml, int(self.clock.now().timestamp()) + offset, endpoint)
        return Wire(f"/wecom/{endpoint}", body, query=query, content_type="text/xml")

    def app_text_xml(self, user: str, content: str) -> str:
        """A text a member sends the app in their 1:1 app chat (the only messages WeCom gives the app)."""
        msg_id = 7318463918273650000 + self.next_id()
        return (f"<xml><ToUserName><![CDATA[{self.fake.corp_id}]]></ToUserName>"
                f"<FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime>"
                "<MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
                f"<AgentID>{self.fake.agent_id}</AgentID></xml>")

    def app_text(self, user: str, content: str) -> Wire:
        return self.encrypted(self.app_text_xml(user, content))

    def report(self, reporter: str, member: str, words: str, again: bool = False) -> Wire:
        # No mention markup in a 1:1 chat: the member's bare user id. The first report leaves the group
        # to Steward (the admin looks after one group that bob is in); the second names it with in:.
        suffix = f" in:{self.chat}" if again else ""
        return self.app_text(self.users[reporter], f"warn {self.users[member]} {words}{suffix}")

    def retry(self, wire: Wire) -> Wire:
        """WeCom retries the very same request (5 s without an answer, three times)."""
        return wire

    def departure_xml(self, member: str) -> str:
        """通讯录同步 change_contact/delete_user."""
        return (f"<xml><ToUserName><![CDATA[{self.fake.corp_id}]]></ToUserName>"
                f"<FromUserName><![CDATA[sys]]></FromUserName>"
                f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime>"
                "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>"
                "<ChangeType>delete_user</ChangeType>"
                f"<UserID><![CDATA[{self.users[member]}]]></UserID></xml>")

    def departure(self, member: str) -> Wire:
        """On the contact-sync callback, with its own token and key."""
        return self.encrypted(self.departure_xml(member), endpoint="contacts")

    # outbound
    def throttle_removal(self, retry_after: int) -> None:
        self.fake.fail("appchat/update", status=429, retry_after=retry_after)

    def members_now(self) -> set[str]:
        return set(self.fake.chats[self.chat].userlist)

    def sent(self, since: int = 0) -> list[Sent]:
        out: list[Sent] = []
        for call in self.fake.calls[since:]:
            b = call.body if isinstance(call.body, dict) else {}
            if call.path == "gettoken":
                continue
            if call.path == "appchat/send":
                content = (b.get(b.get("msgtype")) or {}).get("content", "")
                out.append(Sent(call.path, chat=b.get("chatid"), text=content))
            elif call.path == "message/send":
                content = (b.get(b.get("msgtype")) or {}).get("content", "") if b.get("msgtype") == "text" \
                    else json.dumps(b.get(b.get("msgtype")), ensure_ascii=False)
                out.append(Sent(call.path, user=b.get("touser"), text=content))
            elif call.path == "appchat/update":
                out.append(Sent(call.path, chat=b.get("chatid"), user="|".join(b.get("del_user_list") or [])))
            else:
                out.append(Sent(call.path))
        return out


class DingTalkSide(Side):
    """DingTalk: robot callbacks signed with timestamp + sign headers; events AES-encrypted (dingtalk-sdk)."""
    platform = "dingtalk"
    chat = "cidTRAIN01e2e=="
    group_name = "DingTalk new hires"
    users = {"admin": "u_adam", "lead": "u_lily", "bob": "u_bob", "carol": "u_carol", "dave": "u_dave"}
    GROUP_POST = "/v1.0/robot/groupMessages/send"
    PRIVATE = ("/v1.0/robot/oToMessages/batchSend",)
    REMOVE = "/v1.0/im/sceneGroup/member/delete"   # a scene group (场景群): removal by openConversationId
    THROTTLED = "dingtalk /v1.0/im/sceneGroup/member/delete: HTTP 429"
    TOKEN = "e2e-dingtalk-event-token"
    AES_KEY = "e2eDingTalkAesKey0123456789abcdefghijklmnop"   # 43 characters, as the console shows
    ROBOT_USER = "$:LWCP_v1:$e2erobote2erobote2erobot"

    def __init__(self, clock: FrozenClock, fake: FakeDingTalk) -> None:
        super().__init__(clock)
        assert len(self.AES_KEY) == 43
        self.fake = fake
        for person, user_id in self.users.items():
            fake.add_user(user_id, name=person.title())
        fake.add_group(self.chat, list(self.users.values()), scene=True, name=self.group_name,
                       owner=self.users["admin"])

    def env(self) -> dict[str, str]:
        return self.fake.env(DINGTALK_TOKEN=self.TOKEN, DINGTALK_ENCODING_AES_KEY=self.AES_KEY)

    # inbound
    def ms(self, offset_seconds: float = 0) -> str:
        return str(int((self.clock.now().timestamp() + offset_seconds) * 1000))

    def robot_signed(self, body: bytes, *, timestamp: str | None = None, secret: str | None = None) -> Wire:
        """Base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret)) in the `sign` header. Each request
        DingTalk sends has its own timestamp (a signature is single-use), even while the test clock stands."""
        self._signed = getattr(self, "_signed", 0) + 1
        ts, key = timestamp or str(int(self.ms()) - self._signed), secret or self.fake.app_secret
        digest = hmac.new(key.encode(), f"{ts}\n{key}".encode(), hashlib.sha256).digest()
        return Wire("/dingtalk/robot", body, {"timestamp": ts, "sign": base64.b64encode(digest).decode()})

    def robot_payload(self, user: str, text: str, at: tuple[str, ...] = ()) -> bytes:
        """A group message that @-mentions the robot (DingTalk strips the robot's own @ from the text)."""
        n = self.next_id()
        payload = {
            "conversationId": self.chat, "conversationType": "2", "conversationTitle": self.group_name,
            "atUsers": [{"dingtalkId": self.ROBOT_USER}] + [
                {"dingtalkId": f"$:LWCP_v1:${u}", "staffId": u} for u in at],
            "chatbotCorpId": "dinge2ecorp", "chatbotUserId": self.ROBOT_USER, "msgId": f"msgE2E{n:08d}==",
            "senderNick": user, "isAdmin": True, "senderStaffId": user, "senderCorpId": "dinge2ecorp",
            "senderId": f"$:LWCP_v1:${user}", "isInAtList": True, "createAt": int(self.ms()),
            "sessionWebhookExpiredTime": int(self.ms(3600)),
            "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=e2e",
            "text": {"content": f" {text}"}, "robotCode": self.fake.robot_code, "msgtype": "text"}
        return json.dumps(payload, ensure_ascii=False).encode()

    def robot_message(self, user: str, text: str, at: tuple[str, ...] = ()) -> Wire:
        return self.robot_signed(self.robot_payload(user, text, at))

    def report(self, reporter: str, member: str, words: str, again: bool = False) -> Wire:
        verb = "警告" if again else "warn"
        return self.robot_message(self.users[reporter], f"{verb} @{member.title()} {words}",
                                  at=(self.users[member],))

    def retry(self, wire: Wire) -> Wire:
        """DingTalk's retry: a robot callback comes again with the same body (same msgId) and a fresh
        timestamp and sign; an event push (+10 s, +30 s) comes again as it was."""
        return self.robot_signed(wire.body) if wire.path == "/dingtalk/robot" else wire

    def event_push(self, payload: dict[str, Any] | str, *, timestamp: str | None = None,
                   token: str | None = None) -> Wire:
        """An event push as DingTalk sends it: {"encrypt": …} signed with msg_signature/timestamp/nonce."""
        from dingtalk.crypto import DingTalkCrypto  # the vendor SDK's crypto (the connector uses it too)
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        ts, nonce = timestamp or self.ms(), f"nonce{self.next_id():06d}"
        sealed = DingTalkCrypto(token or self.TOKEN, self.AES_KEY, self.fake.app_key).encrypt_message(
            text, nonce=nonce, timestamp=ts)
        return Wire("/dingtalk/events", json.dumps({"encrypt": sealed["encrypt"]}).encode(),
                    query={"msg_signature": sealed["msg_signature"], "timestamp": ts, "nonce": nonce})

    def open_reply(self, answer: dict[str, str]) -> str:
        """Check the signature of Steward's encrypted answer to an event push and decrypt it."""
        from dingtalk.crypto import DingTalkCrypto
        return DingTalkCrypto(self.TOKEN, self.AES_KEY, self.fake.app_key).decrypt_encrypt_str(
            answer["msg_signature"], answer["timeStamp"], answer["nonce"], answer["encrypt"])

    def departure_payload(self, member: str) -> dict[str, Any]:
        return {"EventType": "user_leave_org", "EventTime": int(self.ms()), "CorpId": "dinge2ecorp",
                "eventId": f"e2eleave{self.next_id():08d}", "timeStamp": self.ms(),
                "userId": [self.users[member]], "OptStaffId": "u_hr"}

    def departure(self, member: str) -> Wire:
        return self.event_push(self.departure_payload(member))

    # outbound
    def throttle_removal(self, retry_after: int) -> None:
        self.fake.throttle(self.REMOVE, retry_after=retry_after)

    def members_now(self) -> set[str]:
        return set(self.fake.groups[self.chat].members)

    def sent(self, since: int = 0) -> list[Sent]:
        out: list[Sent] = []
        for call in self.fake.calls[since:]:
            b = call.body if isinstance(call.body, dict) else {}
            if call.path in ("/v1.0/oauth2/accessToken", "/gettoken"):
                continue
            if call.path in (self.GROUP_POST, self.PRIVATE[0]):
                param = json.loads(b.get("msgParam") or "{}")
                text = param.get("content") or param.get("text") or ""
                if call.path == self.GROUP_POST:
                    out.append(Sent(call.path, chat=b.get("openConversationId"), text=text))
                else:
                    out.append(Sent(call.path, user=",".join(b.get("userIds") or []), text=text))
            elif call.path in ("/v1.0/im/sceneGroup/member/delete", "/v1.0/im/group/update"):
                out.append(Sent(call.path, chat=b.get("open_conversation_id") or b.get("chatid"),
                                user=",".join(b.get("user_ids") or b.get("del_useridlist") or [])))
            else:
                out.append(Sent(call.path))
        return out


#: One side per real messenger of the registry (tests/e2e/test_platforms_e2e.py checks that none is missing).
SIDES: dict[str, tuple[type, type[Side]]] = {"slack": (FakeSlack, SlackSide), "wecom": (FakeWeCom, WeComSide),
                                              "dingtalk": (FakeDingTalk, DingTalkSide)}


@contextmanager
def open_side(platform: str, clock: FrozenClock) -> Iterator[Side]:
    """The platform's side, talking to a running fake of its Web API."""
    fake_cls, side_cls = SIDES[platform]
    with fake_cls() as fake:
        yield side_cls(clock, fake)


@dataclass
class Deployment:
    """One Steward with several platforms configured at once."""
    container: Any
    client: Any
    sides: dict[str, Side]
