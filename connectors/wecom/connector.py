"""WeComConnector: the self-built app callback, the contact-sync callback, and delivery through wechatpy."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Callable, ClassVar, Mapping
from urllib.parse import urlsplit

import requests

from core.actions import (Action, DeleteMessage, InviteMember, PinMessage, PostCard, PostFile, PostMessage,
                          RemoveMember, SendEphemeral, SendPrivate)
from core.capabilities import WECOM, Capabilities
from core.errors import (BadRequest, DeliveryError, Forbidden, NotFound, PermanentDeliveryError,
                         RetryableDeliveryError, UnsupportedAction)
from core.events import FileRef

from connectors.base import Connector, ConnectorDeps, Delivery, Health, InboundRequest, InboundResult
from connectors.files import stored_bytes
from connectors.wecom import files as wecom_files, render
from connectors.wecom.aibot import parse_aibot
from connectors.wecom.client import StewardWeChatClient, TokenStoreSession, WeComApi
from connectors.wecom.directory import Directory, UserProfile
from connectors.wecom.parse import DM_PREFIX, Parsed, parse_app, parse_contacts
from connectors.wecom.settings import ENV, WeComSettings, load_settings
from connectors.wecom.verify import CallbackCrypto, normalise_echostr
from connectors.wecom.xmlparse import parse_xml, text

# Pacing below WeCom's caps (doc 90312, 90236, 90248). Over-cap sends are dropped *silently*
# by WeCom, so Steward waits instead (RetryableDeliveryError with retry_after).
PRIVATE_RATES = ("25/minute", "900/hour")           # message/send: 30/min and 1000/hour per member
GROUP_RATES = ("150/minute", "9000/day")            # appchat/send: 200/min and 10000/day per member
API_RATE = "9000/minute"                            # any API: 10000/min per corp
UPDATE_RATE = "900/hour"                            # appchat/update: 1000 group changes per corp per hour
CREATE_RATE = "900/day"                             # appchat/create: 1000 groups per corp per day
CHAT_ID = re.compile(r"[0-9A-Za-z]{1,32}")
# An AI bot response_url may be POSTed once within 1 hour (doc 101138); Steward keeps it a little less.
RESPONSE_URL_TTL = timedelta(minutes=55)


class WeComConnector(Connector):
    platform: ClassVar[str] = "wecom"
    endpoints: ClassVar[dict[str, tuple[str, ...]]] = {"callback": ("GET", "POST"), "contacts": ("GET", "POST"),
                                                       "aibot": ("GET", "POST")}
    ENV = ENV

    def __init__(self, settings: WeComSettings, deps: ConnectorDeps, *, replay_window_seconds: int = 300,
                 duplicate_check_seconds: int = 1800, timeout_seconds: float = 10.0,
                 profile_ttl_seconds: int = 3600) -> None:
        self.settings = settings
        self._deps = deps
        self._duplicate_check = duplicate_check_seconds
        self._crypto: dict[str, CallbackCrypto] = {
            "callback": CallbackCrypto(settings.token, settings.aes_key, settings.corp_id,
                                       deps.clock, replay_window_seconds),
        }
        if settings.contacts_configured:
            self._crypto["contacts"] = CallbackCrypto(
                settings.contact_token or "", settings.contact_aes_key or "", settings.corp_id,
                deps.clock, replay_window_seconds)
        if settings.aibot_configured:   # the AI bot's ReceiveId is "" (doc 101033)
            self._crypto["aibot"] = CallbackCrypto(
                settings.aibot_token or "", settings.aibot_aes_key or "", "", deps.clock, replay_window_seconds)
        self._chat_aliases: dict[str, str] = {}
        client = StewardWeChatClient(settings.corp_id, settings.secret, settings.agent_id, settings.api_url,
                                     TokenStoreSession(deps.tokens, deps.clock), timeout_seconds)
        self._api = WeComApi(client, deps.limiter)
        self.directory = Directory(self._api, deps.clock, profile_ttl_seconds)
        self._downloads = requests.Session()
        self._deliver: dict[type[Action], Callable[[Action, str], Delivery]] = {
            PostMessage: self._post_message,
            SendPrivate: self._send_private,
            RemoveMember: self._remove_member,
            InviteMember: self._invite_member,
            PostCard: self._post_card,
            PostFile: self._post_file,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps, **options) -> "WeComConnector":
        return cls(load_settings(env), deps, **options)

    @property
    def capabilities(self) -> Capabilities:
        return WECOM if self.settings.contacts_configured else WECOM.with_(departure_events=False)

    # --- inbound ----------------------------------------------------------------------------

    def use_chat_aliases(self, aliases: Mapping[str, str]) -> None:
        """steward.yaml `aibot_chat_id`: the AI bot's chatid of a governed group -> its chat_id."""
        self._chat_aliases = dict(aliases)

    def _crypto_for(self, request: InboundRequest) -> CallbackCrypto:
        crypto = self._crypto.get(request.endpoint)
        if crypto is None and request.endpoint == "aibot":
            raise NotFound("the WeCom AI bot callback is not configured (WECOM_AIBOT_TOKEN)")
        if crypto is None:
            raise Forbidden(f"wecom endpoint {request.endpoint!r} is not configured")
        return crypto

    @staticmethod
    def _encrypted(request: InboundRequest) -> str:
        if request.method == "GET":
            return normalise_echostr(request.query.get("echostr") or "")
        if request.method == "POST" and request.endpoint == "aibot":
            return _json_encrypt(request.body)
        if request.method == "POST":
            return text(parse_xml(request.body), "Encrypt")
        raise BadRequest(f"method {request.method} is not used by WeCom")

    def verify(self, request: InboundRequest) -> None:
        self._crypto_for(request).check(request.query, self._encrypted(request))

    def parse(self, request: InboundRequest) -> InboundResult:
        crypto = self._crypto_for(request)
        encrypted = self._encrypted(request)
        if request.method == "GET":
            # URL verification: answer the plaintext exactly (no quotes, BOM or newline).
            plaintext = crypto.decrypt_echostr(request.query, encrypted)
            return InboundResult(body=plaintext, ignored="url_verification")
        if request.endpoint == "aibot":
            return self._parse_aibot(crypto.decrypt_message(request.query, encrypted))
        fields = parse_xml(crypto.decrypt_message(request.query, encrypted))
        parsed: Parsed = (parse_contacts if request.endpoint == "contacts" else parse_app)(fields)
        # 200 with an empty body: WeCom stops retrying; replies go out later through message/send.
        return InboundResult(events=parsed.events, body=b"", ignored=parsed.ignored)

    def _parse_aibot(self, plaintext: str) -> InboundResult:
        """The AI bot's JSON; its response_url is kept for the reply (an empty answer is allowed, doc 101033)."""
        message = parse_aibot(plaintext, self.settings.aibot_name, self._chat_aliases)
        if message.event_id and message.response_url and self._is_api_url(message.response_url):
            self._deps.tokens.set(self._response_url_key(message.event_id), message.response_url,
                                  self._deps.clock.now() + RESPONSE_URL_TTL)
        return InboundResult(events=message.parsed.events, body=b"", ignored=message.parsed.ignored)

    def _is_api_url(self, url: str) -> bool:
        """Only a URL on WeCom's API host is ever POSTed to (the doc's is .../cgi-bin/aibot/response)."""
        ours, theirs = urlsplit(self.settings.api_url), urlsplit(url)
        return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)

    def _response_url_key(self, event_id: str) -> str:
        return self._key("aibot", "response_url", event_id)

    # --- outbound ---------------------------------------------------------------------------

    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        handler = self._deliver.get(type(action))
        if handler is None:
            raise UnsupportedAction(_UNSUPPORTED.get(type(action), f"wecom cannot {action.kind}"))
        try:
            return handler(action, idempotency_key)
        except render.RenderError as exc:
            raise PermanentDeliveryError(str(exc), code=exc.code) from None

    def _key(self, *parts: str) -> str:
        return ":".join(("wecom", self.settings.corp_id, *parts))

    def _message_send(self, user_id: str, msg: dict) -> Delivery:
        """message/send to one member, with WeCom's duplicate check so a retried delivery is not doubled."""
        self._api.pace(*((self._key("member", user_id, "message/send"), r) for r in PRIVATE_RATES),
                       (self._key("api", "message/send"), API_RATE))
        body = {**msg, **render.duplicate_check(self._duplicate_check)}
        result = self._api.call("message/send", lambda c: c.message.send(self.settings.agent_id, user_id, msg=body))
        for field in ("invaliduser", "unlicenseduser"):
            if user_id.lower() in (result.get(field) or "").lower().split("|"):
                raise PermanentDeliveryError(f"wecom message/send: {field} {user_id}", code=field)
        return Delivery(remote_id=result.get("msgid") or None,
                        detail={"response_code": result["response_code"]} if result.get("response_code") else {})

    def _appchat_send(self, chat_id: str, msg_type: str, **content: str) -> Delivery:
        self._api.pace(*((self._key("chat", chat_id, "appchat/send"), r) for r in GROUP_RATES),
                       (self._key("api", "appchat/send"), API_RATE))
        self._api.call("appchat/send", lambda c: c.appchat.send(chat_id, msg_type, **content))
        return Delivery()   # appchat/send returns no message id

    def _post_message(self, action: PostMessage, key: str) -> Delivery:
        if action.chat_id.startswith(DM_PREFIX):          # a member's 1:1 chat with the app
            return self._message_send(action.chat_id[len(DM_PREFIX):], render.text_message(action.text))
        if action.reply_to:
            answered = self._aibot_reply(action)
            if answered is not None:
                return answered
        return self._appchat_send(action.chat_id, "text", content=render.clip(action.text))

    def _aibot_reply(self, action: PostMessage) -> Delivery | None:
        """Answer an @-mention of the AI bot through its response_url: once (the URL is taken from the
        store before the POST, so a second delivery of any reply to it posts with appchat/send), within
        the hour. None when there is no URL, or WeCom refused it: then appchat/send answers."""
        key = self._response_url_key(action.reply_to or "")
        url = self._deps.tokens.get(key)
        if not url:
            return None
        self._deps.tokens.delete(key)
        body = {"msgtype": "markdown", "markdown": {"content": render.clip(action.text, 20480)}}
        try:
            response = self._downloads.post(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                            headers={"Content-Type": "application/json"}, timeout=10)
        except requests.ConnectionError:
            # Nothing reached WeCom: put the URL back for the retry (55 + 5 minutes stay within WeCom's hour).
            self._deps.tokens.set(key, url, self._deps.clock.now() + timedelta(minutes=5))
            raise RetryableDeliveryError("wecom aibot/response: connection failed") from None
        except requests.RequestException:
            # It may have been posted: the retry answers with appchat/send rather than post twice here.
            raise RetryableDeliveryError("wecom aibot/response: no answer") from None
        try:
            result = response.json()
        except ValueError:
            result = {}
        if response.status_code == 200 and result.get("errcode") == 0:
            return Delivery(detail={"via": "aibot/response"})
        return None

    def _send_private(self, action: SendPrivate, key: str) -> Delivery:
        return self._message_send(action.user_id, render.text_message(action.text))

    def _update_members(self, chat_id: str, **change: list[str]) -> Delivery:
        self._api.pace((self._key("api", "appchat/update"), UPDATE_RATE))
        self._api.call("appchat/update", lambda c: c.appchat.update(chat_id, **change))
        return Delivery()

    def _remove_member(self, action: RemoveMember, key: str) -> Delivery:
        return self._update_members(action.chat_id, del_user_list=[action.user_id])

    def _invite_member(self, action: InviteMember, key: str) -> Delivery:
        return self._update_members(action.chat_id, add_user_list=[action.user_id])

    def _post_card(self, action: PostCard, key: str) -> Delivery:
        if action.user_id:
            return self._message_send(action.user_id, render.card_message(action, key))
        if action.chat_id and not action.buttons:
            return self._appchat_send(action.chat_id, "markdown",
                                      content=render.markdown_content(action.title, action.text))
        raise UnsupportedAction("wecom group chats (appchat/send) cannot carry buttons; "
                                "send the card privately (PostCard.user_id)")

    def _post_file(self, action: PostFile, key: str) -> Delivery:
        """Upload now (a media id lasts 3 days), then the caption and the file into the group. Apps may
        post files only into the groups they created (appchat/send)."""
        data = stored_bytes(self._deps.files, action.sha256)
        self._api.pace((self._key("api", "media/upload"), API_RATE))
        media_id = wecom_files.upload(self._api, action.name, data)
        if action.caption:
            self._appchat_send(action.chat_id, "text", content=render.clip(action.caption))
        return self._appchat_send(action.chat_id, "file", media_id=media_id)

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        """media/get with the MediaId of the member's file or image message."""
        self._api.pace((self._key("api", "media/get"), API_RATE))
        return wecom_files.fetch(self._api, self._downloads, ref.handle, max_bytes)

    # --- directory and groups (used by the membership services) ------------------------------

    def user_profile(self, user_id: str) -> UserProfile:
        """Name, department names and position from user/get + department/get (cached)."""
        return self.directory.user_profile(user_id)

    def group_members(self, chat_id: str) -> list[str]:
        """appchat/get's userlist (doc 90247): only groups this app created; one call, no pages
        (a group holds at most 2000 members)."""
        self._api.pace((self._key("api", "appchat/get"), API_RATE))
        info = self._api.call("appchat/get", lambda c: c.appchat.get(chat_id))
        return [u for u in dict.fromkeys(info.get("userlist") or []) if isinstance(u, str) and u]

    def create_group(self, name: str, owner: str, user_ids: list[str] | tuple[str, ...],
                     chat_id: str | None = None) -> str:
        """appchat/create; returns the chat id. Pass a fixed chat_id to make retries idempotent."""
        if chat_id is not None and not CHAT_ID.fullmatch(chat_id):
            raise PermanentDeliveryError("wecom chat ids are 1-32 letters and digits", code="86001")
        members = list(dict.fromkeys([owner, *user_ids]))
        if not 2 <= len(members) <= 2000:
            raise PermanentDeliveryError("a WeCom group has 2 to 2000 members", code="86006")
        self._api.pace((self._key("api", "appchat/create"), CREATE_RATE))
        try:
            result = self._api.call("appchat/create", lambda c: c.appchat.create(
                chat_id=chat_id, name=name[:50], owner=owner, user_list=members))
        except PermanentDeliveryError as exc:
            if chat_id and exc.code == "86215":       # created by an earlier attempt
                return chat_id
            raise
        return result["chatid"]

    def health(self) -> Health:
        try:
            self._api.health()
        except DeliveryError as exc:
            return Health(False, str(exc))
        return Health(True, "gettoken ok")


def _json_encrypt(body: bytes) -> str:
    """The `encrypt` field of the AI bot's JSON envelope (doc 101033), read before the signature check
    (it is what is signed); nothing else in the body is trusted."""
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the WeCom AI bot body is not JSON") from None
    encrypted = envelope.get("encrypt") if isinstance(envelope, dict) else None
    if not isinstance(encrypted, str):
        raise BadRequest("the WeCom AI bot body has no encrypt field")
    return encrypted


_UNSUPPORTED: dict[type[Action], str] = {
    SendEphemeral: "wecom has no ephemeral messages in group chats",
    DeleteMessage: "wecom cannot delete members' messages (message/recall only recalls the app's own)",
    PinMessage: "wecom has no pin or group-announcement API for app groups",
}
