"""WeComConnector: the self-built app callback, the contact-sync callback, the AI bot callback, and delivery
through wechatpy. It wires settings, verify, parse (and aibot), translate and client together."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from connectors.base import (
    Connector,
    ConnectorDeps,
    Delivery,
    Health,
    InboundRequest,
    InboundResult,
    Payload,
    unsupported,
)
from connectors.files import stored_bytes
from connectors.wecom import files as wecom_files
from connectors.wecom import translate as wecom_translate
from connectors.wecom.aibot import parse_aibot
from connectors.wecom.client import StewardWeChatClient, TokenStoreSession, WeComApi, post_response_url
from connectors.wecom.directory import Directory as DirectoryCache
from connectors.wecom.manifest import CAPABILITIES
from connectors.wecom.parse import Parsed, parse_app, parse_contacts
from connectors.wecom.settings import WeComSettings, load_settings
from connectors.wecom.translate import AppchatSend, AppchatUpdate, FileSend, MessageSend, Translation, TranslationError
from connectors.wecom.verify import ECHOSTR, CallbackCrypto
from connectors.wecom.xmlparse import parse_xml
from core.actions import Action
from core.capabilities import Capabilities
from core.errors import DeliveryError, Forbidden, NotFound, PermanentDeliveryError, RetryableDeliveryError
from core.events import FileRef
from core.ports import CreatedGroup, Directory, GroupCreator, Profile

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


class WeComConnector(Connector, Directory, GroupCreator):
    platform: ClassVar[str] = "wecom"

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
        self.directory = DirectoryCache(self._api, deps.clock, profile_ttl_seconds)
        self._downloads = requests.Session()

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps, **options) -> "WeComConnector":
        return cls(load_settings(env), deps, **options)

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES if self.settings.contacts_configured else CAPABILITIES.with_(departure_events=False)

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

    def verify(self, request: InboundRequest) -> Payload:
        return self._crypto_for(request).verify(request)

    def parse(self, request: InboundRequest, payload: Payload) -> InboundResult:
        if payload.kind == ECHOSTR:
            # URL verification: answer the plaintext exactly (no quotes, BOM or newline).
            return InboundResult(body=payload.text, ignored="url_verification")
        if request.endpoint == "aibot":
            return self._parse_aibot(payload.text)
        fields = parse_xml(payload.text)
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

    def translate(self, action: Action, idempotency_key: str = "") -> Translation:
        return wecom_translate.translate(action, idempotency_key)

    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        try:
            plan = self.translate(action, idempotency_key)
        except TranslationError as exc:
            raise PermanentDeliveryError(str(exc), code=exc.code) from None
        unsupported(plan)
        if isinstance(plan, MessageSend):
            return self._message_send(plan.user_id, plan.msg)
        if isinstance(plan, AppchatSend):
            if plan.reply_to:
                answered = self._aibot_reply(plan.reply_to, plan.reply_markdown or "")
                if answered is not None:
                    return answered
            return self._appchat_send(plan.chat_id, plan.msgtype, **plan.content)
        if isinstance(plan, AppchatUpdate):
            change = ({"add_user_list": list(plan.add_user_list)} if plan.add_user_list else {}) | \
                     ({"del_user_list": list(plan.del_user_list)} if plan.del_user_list else {})
            return self._update_members(plan.chat_id, **change)
        if isinstance(plan, FileSend):
            return self._post_file(plan)
        raise AssertionError(f"wecom: no way to perform {type(plan).__name__}")

    def _key(self, *parts: str) -> str:
        return ":".join(("wecom", self.settings.corp_id, *parts))

    def _message_send(self, user_id: str, msg: Mapping) -> Delivery:
        """message/send to one member, with WeCom's duplicate check so a retried delivery is not doubled."""
        self._api.pace(*((self._key("member", user_id, "message/send"), r) for r in PRIVATE_RATES),
                       (self._key("api", "message/send"), API_RATE))
        body = {**msg, **wecom_translate.duplicate_check(self._duplicate_check)}
        result = self._api.message_send(self.settings.agent_id, user_id, body)
        for field in ("invaliduser", "unlicenseduser"):
            if user_id.lower() in (result.get(field) or "").lower().split("|"):
                raise PermanentDeliveryError(f"wecom message/send: {field} {user_id}", code=field)
        return Delivery(remote_id=result.get("msgid") or None,
                        detail={"response_code": result["response_code"]} if result.get("response_code") else {})

    def _appchat_send(self, chat_id: str, msg_type: str, **content: str) -> Delivery:
        self._api.pace(*((self._key("chat", chat_id, "appchat/send"), r) for r in GROUP_RATES),
                       (self._key("api", "appchat/send"), API_RATE))
        self._api.appchat_send(chat_id, msg_type, **content)
        return Delivery()   # appchat/send returns no message id

    def _aibot_reply(self, reply_to: str, markdown: str) -> Delivery | None:
        """Answer an @-mention of the AI bot through its response_url: once (the URL is taken from the
        store before the POST, so a second delivery of any reply to it posts with appchat/send), within
        the hour. None when there is no URL, or WeCom refused it: then appchat/send answers."""
        key = self._response_url_key(reply_to)
        url = self._deps.tokens.get(key)
        if not url:
            return None
        self._deps.tokens.delete(key)
        try:
            taken = post_response_url(self._downloads, url, markdown)
        except requests.ConnectionError:
            # Nothing reached WeCom: put the URL back for the retry (55 + 5 minutes stay within WeCom's hour).
            self._deps.tokens.set(key, url, self._deps.clock.now() + timedelta(minutes=5))
            raise RetryableDeliveryError("wecom aibot/response: connection failed") from None
        if taken is None:
            # It may have been posted: the retry answers with appchat/send rather than post twice here.
            raise RetryableDeliveryError("wecom aibot/response: no answer")
        return Delivery(detail={"via": "aibot/response"}) if taken else None

    def _update_members(self, chat_id: str, **change: list[str]) -> Delivery:
        self._api.pace((self._key("api", "appchat/update"), UPDATE_RATE))
        self._api.appchat_update(chat_id, **change)
        return Delivery()

    def _post_file(self, plan: FileSend) -> Delivery:
        """Upload now (a media id lasts 3 days), then the caption and the file into the group. Apps may
        post files only into the groups they created (appchat/send)."""
        data = stored_bytes(self._deps.files, plan.sha256)
        self._api.pace((self._key("api", "media/upload"), API_RATE))
        media_id = wecom_files.upload(self._api, plan.name, data)
        if plan.caption:
            self._appchat_send(plan.chat_id, "text", content=wecom_translate.clip(plan.caption))
        return self._appchat_send(plan.chat_id, "file", media_id=media_id)

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        """media/get with the MediaId of the member's file or image message."""
        self._api.pace((self._key("api", "media/get"), API_RATE))
        return wecom_files.fetch(self._api, self._downloads, ref.handle, max_bytes)

    # --- directory and groups (used by the membership services) ------------------------------

    def user_profile(self, user_id: str) -> Profile | None:
        """Name, department names and position from user/get + department/get (cached); None for an
        unknown user."""
        return self.directory.user_profile(user_id)

    def group_members(self, chat_id: str) -> list[str]:
        """appchat/get's userlist (doc 90247): only groups this app created; one call, no pages
        (a group holds at most 2000 members)."""
        self._api.pace((self._key("api", "appchat/get"), API_RATE))
        info = self._api.appchat_get(chat_id)
        return [u for u in dict.fromkeys(info.get("userlist") or []) if isinstance(u, str) and u]

    def make_group(self, name: str, owner: str, user_ids: Sequence[str],
                   chat_id: str | None = None) -> CreatedGroup:
        """appchat/create. Pass a fixed chat_id to make retries idempotent."""
        if chat_id is not None and not CHAT_ID.fullmatch(chat_id):
            raise PermanentDeliveryError("wecom chat ids are 1-32 letters and digits", code="86001")
        members = list(dict.fromkeys([owner, *user_ids]))
        if not 2 <= len(members) <= 2000:
            raise PermanentDeliveryError("a WeCom group has 2 to 2000 members", code="86006")
        self._api.pace((self._key("api", "appchat/create"), CREATE_RATE))
        try:
            result = self._api.appchat_create(name[:50], owner, members, chat_id)
        except PermanentDeliveryError as exc:
            if chat_id and exc.code == "86215":       # created by an earlier attempt
                return CreatedGroup(chat_id)
            raise
        return CreatedGroup(result["chatid"])

    def health(self) -> Health:
        try:
            self._api.health()
        except DeliveryError as exc:
            return Health(False, str(exc))
        return Health(True, "gettoken ok")
