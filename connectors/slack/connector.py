"""SlackConnector: the connector contract for Slack (connectors/base.py), wiring settings, verify, parse,
translate and the Web API client."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from typing import ClassVar, Mapping

import requests

from connectors.base import (
    Connector,
    ConnectorDeps,
    Delivery,
    Health,
    InboundRequest,
    InboundResult,
    Payload,
    Unsupported,
    unsupported,
)
from connectors.files import stored_bytes
from connectors.slack import files as slack_files
from connectors.slack import members as slack_members
from connectors.slack.client import SlackApi, make_web_client
from connectors.slack.manifest import CAPABILITIES
from connectors.slack.parse import SlackParser
from connectors.slack.profiles import DEFAULT_TTL, ProfileCache
from connectors.slack.settings import SlackSettings
from connectors.slack.translate import Call, Upload, translate
from connectors.slack.verify import SlackVerifier
from core.actions import Action
from core.capabilities import Capabilities
from core.errors import DeliveryError, PermanentDeliveryError
from core.events import FileRef
from core.ports import Directory, Profile

log = logging.getLogger(__name__)


class SlackConnector(Connector, Directory):
    platform: ClassVar[str] = "slack"

    def __init__(self, settings: SlackSettings, deps: ConnectorDeps, *, timeout: float = 10.0,
                 max_inline_wait: float = 1.0) -> None:
        self.settings = settings
        self._deps = deps
        self._verifier = SlackVerifier(settings.signing_secret, deps.clock)
        bot = make_web_client(settings.bot_token, settings.api_url, timeout=timeout,
                              max_inline_wait=max_inline_wait)
        admin = (make_web_client(settings.admin_user_token, settings.api_url, timeout=timeout,
                                 max_inline_wait=max_inline_wait)
                 if settings.admin_user_token else None)
        self.api = SlackApi(bot, admin, deps.limiter)
        self._profiles = ProfileCache(self.api, deps.clock, DEFAULT_TTL)
        self.parser = SlackParser(on_user_changed=self._profiles.forget)
        self._downloads = requests.Session()
        self._bot_user_id: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps) -> "SlackConnector":
        return cls(SlackSettings.from_env(env), deps)

    @property
    def capabilities(self) -> Capabilities:
        # A bot token may delete only the bot's own messages (chat.delete docs).
        return CAPABILITIES.with_(delete_others_messages=self.api.admin is not None)

    def verify(self, request: InboundRequest) -> Payload:
        return self._verifier.verify(request.headers, request.body)

    def parse(self, request: InboundRequest, payload: Payload) -> InboundResult:
        return self.parser.parse_http(request, payload)

    def translate(self, action: Action) -> Call | Upload | Unsupported:
        return translate(action, admin=self.api.admin is not None)

    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        try:
            plan = marked(self.translate(action), idempotency_key)
            unsupported(plan)
            if isinstance(plan, Upload):
                delivery = slack_files.post_file(self.api, plan, stored_bytes(self._deps.files, plan.sha256))
            else:
                delivery = self.api.perform(plan)
        except DeliveryError as exc:
            log.info("slack: %s %s not delivered: %s", action.kind, idempotency_key, exc)
            raise
        log.info("slack: %s %s delivered (%s)", action.kind, idempotency_key, delivery.remote_id or "-")
        return delivery

    def find_delivered(self, action: Action, idempotency_key: str) -> Delivery | None:
        """A post whose earlier attempt was interrupted mid-call (core/ports.py DeliveryCheck): look for the
        outbox mark (message metadata, `marked`) in the channel's latest messages — or the thread's — before
        it is posted again. Only posts carry the mark; the rest is idempotent on Slack's side (kick, invite,
        pin, delete answer "already so") or cannot be found (an ephemeral message is not stored)."""
        plan = self.translate(action)
        if not isinstance(plan, Call) or plan.method != "chat.postMessage":
            return None
        digest = outbox_mark(idempotency_key)
        try:
            channel = self.api.open_dm(plan.dm_user) if plan.dm_user is not None else plan.args["channel"]
            thread = plan.args.get("thread_ts")
            if thread:
                data = self.api.call("conversations.replies", channel=channel, ts=thread, limit=LOOK_BACK,
                                     include_all_metadata=True)
            else:
                data = self.api.call("conversations.history", channel=channel, limit=LOOK_BACK,
                                     include_all_metadata=True)
        except PermanentDeliveryError as exc:   # no history scope, an archived channel: post again
            log.warning("slack: cannot look for %s before sending it again: %s", idempotency_key, exc)
            return None
        for message in data.get("messages") or ():
            meta = message.get("metadata") if isinstance(message, dict) else None
            if isinstance(meta, dict) and meta.get("event_type") == MARK_TYPE and \
                    (meta.get("event_payload") or {}).get("outbox") == digest:
                return Delivery(remote_id=message.get("ts"), detail={"channel": channel, "found": True})
        return None

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        """files.info, then the private download URL with the bot token (files:read)."""
        return slack_files.fetch(self.api, self._downloads, self.settings.bot_token, ref, max_bytes)

    def group_members(self, chat_id: str) -> list[str]:
        """conversations.members, every page; the bot's own user (auth.test, asked once) left out."""
        if self._bot_user_id is None:
            self._bot_user_id = str(self.api.call("auth.test").get("user_id") or "") or None
        return slack_members.list_members(self.api, chat_id, self._bot_user_id)

    def user_profile(self, user_id: str) -> Profile | None:
        """Name, title and email from users.info, cached; None for an unknown user."""
        return self._profiles.get(user_id)

    def health(self) -> Health:
        checks = [("bot", self.api.bot)] + ([("admin", self.api.admin)] if self.api.admin else [])
        details = []
        for label, client in checks:
            try:
                data = client.auth_test().data
            except Exception as exc:  # health never raises: it reports
                code = getattr(getattr(exc, "response", None), "data", {}) or {}
                reason = code.get("error") if isinstance(code, dict) else None
                return Health(ok=False, detail=f"{label} token: {reason or type(exc).__name__}")
            details.append(f"{label} {data.get('user_id')} in {data.get('team_id')}")
        return Health(ok=True, detail="; ".join(details))


MARK_TYPE = "steward_outbox"    # message metadata event_type of every post Steward makes
LOOK_BACK = 100                 # messages searched for an interrupted post (the newest first)


def outbox_mark(idempotency_key: str) -> str:
    """What a post carries of its outbox key: a digest, so no key (user ids, event ids) is shown to Slack."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


def marked(plan, idempotency_key: str):
    """A chat.postMessage carries its outbox key as message metadata, so an interrupted attempt can be
    found again (`SlackConnector.find_delivered`)."""
    if isinstance(plan, Call) and plan.method == "chat.postMessage":
        meta = {"event_type": MARK_TYPE, "event_payload": {"outbox": outbox_mark(idempotency_key)}}
        return replace(plan, args={**plan.args, "metadata": meta})
    return plan

