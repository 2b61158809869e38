"""Pager: a fifth messenger that exists only in the tests, to show a connector needs nothing but its own
folder and a manifest registered at run time (no change to webhooks/, the container or the core).

Wire format: `POST /pager/hook` with a JSON body {"id", "user", "chat", "text"} and optionally
"to_bot" (the bot was addressed) and "direct" (a 1:1 chat), signed as
`X-Pager-Signature: hex(HMAC-SHA256(PAGER_SECRET, X-Pager-Timestamp + "." + body))`, 300 s window.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import ClassVar, Mapping

from connectors.base import (
    Connector,
    ConnectorDeps,
    Delivery,
    EnvVar,
    Health,
    InboundRequest,
    InboundResult,
    Manifest,
    Payload,
    Unsupported,
    read_env,
    required_capabilities,
    unsupported,
)
from core.actions import Action, PostFile, PostMessage, RemoveMember, SendPrivate
from core.capabilities import Capabilities
from core.errors import BadRequest, VerificationFailed
from core.events import MessagePosted

ENV = (EnvVar("PAGER_SECRET", True, True, "the pager's signing secret"),)
CAPABILITIES = Capabilities(
    sees_all_messages=True, manages_any_group=False, remove_member=True, invite_member=False,
    delete_others_messages=False, pin=False, ephemeral=False, cards=False, private_messages=True,
    departure_events=False)
WINDOW = 300


@dataclass(frozen=True)
class PagerSettings:
    secret: str = field(repr=False)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class PagerConnector(Connector):
    platform: ClassVar[str] = "pager"

    def __init__(self, settings: PagerSettings, deps: ConnectorDeps) -> None:
        self.settings = settings
        self.deps = deps
        self.sent: list[tuple[str, str]] = []

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps) -> "PagerConnector":
        return cls(PagerSettings(read_env(ENV, env, "pager")["PAGER_SECRET"] or ""), deps)

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def verify(self, request: InboundRequest) -> Payload:
        timestamp, sent = request.headers.get("X-Pager-Timestamp") or "", request.headers.get("X-Pager-Signature") or ""
        if not timestamp.isdigit() or abs(self.deps.clock.now().timestamp() - int(timestamp)) > WINDOW:
            raise VerificationFailed("stale or missing timestamp")
        if not hmac.compare_digest(signature(self.settings.secret, timestamp, request.body).encode(), sent.encode()):
            raise VerificationFailed("bad signature")
        return Payload(request.body)

    def parse(self, request: InboundRequest, payload: Payload) -> InboundResult:
        try:
            data = json.loads(payload.raw)
            return InboundResult(events=[MessagePosted(
                platform="pager", event_id=data["id"], chat_id=data["chat"], user_id=data["user"],
                message_id=data["id"], text=data["text"], addressed=bool(data.get("to_bot")),
                is_direct=bool(data.get("direct")))], body=b"ok")
        except (ValueError, KeyError, TypeError):
            raise BadRequest("not a pager message") from None

    def translate(self, action: Action) -> tuple[str, str] | Unsupported:
        missing = [f for f in required_capabilities(action) if not getattr(CAPABILITIES, f)]
        if missing:
            return Unsupported(f"pager cannot {action.kind}")
        if isinstance(action, PostMessage):
            return action.chat_id, action.text
        if isinstance(action, SendPrivate):
            return action.user_id, action.text
        if isinstance(action, RemoveMember):
            return action.chat_id, f"remove {action.user_id}"
        if isinstance(action, PostFile):        # a pager has no files: it pages their name
            return action.chat_id, f"{action.caption} [{action.name}]".strip()
        return Unsupported(f"pager cannot {action.kind}")

    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        plan = self.translate(action)
        unsupported(plan)
        self.sent.append(plan)   # type: ignore[arg-type]
        return Delivery(remote_id=str(len(self.sent)))

    def health(self) -> Health:
        return Health(True, "pager")


def archive_events(lines, *, skip_senders=(), problems=None):
    """The pager's export: one JSON object per line, {"id", "user", "chat", "text"} (extra "archive")."""
    for line_no, raw in enumerate(lines, start=1):
        try:
            data = json.loads(raw)
            if data["user"] in skip_senders:
                continue
            yield MessagePosted(platform="pager", event_id=f"archive:{data['id']}", chat_id=data["chat"],
                                user_id=data["user"], message_id=data["id"], text=data["text"])
        except (ValueError, KeyError, TypeError):
            if problems is None:
                raise
            problems.append(ArchiveProblem(line_no, "not a pager record"))


@dataclass(frozen=True)
class ArchiveProblem:
    line_no: int
    reason: str


def check_config(config, env, say) -> None:
    """The pager's own line in `steward config check` (extra "config_check")."""
    say(f"  ✓ pager: {sum(g.platform == 'pager' for g in config.groups)} group(s) page their members")


MANIFEST = Manifest(id="pager", display_name="Pager", env=ENV, endpoints={"hook": ("POST",)},
                    capabilities=CAPABILITIES, connector="tests.connectors.pager.connector:PagerConnector",
                    column_aliases=("pager id",),
                    extras={"archive": "tests.connectors.pager.connector:archive_events",
                            "config_check": "tests.connectors.pager.connector:check_config"})
