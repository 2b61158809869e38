"""The sandbox connector: a messenger that lives in memory.

It speaks a tiny JSON format (see README.md), keeps a transcript of everything said and done,
and can emulate WeCom's or DingTalk's restrictions (`emulate=`) so the core's fallbacks can be
seen and tested: the bot then only hears @-mentions and 1:1 chats, cannot delete or pin, and so on.
"""
from __future__ import annotations

import ipaddress
import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from connectors.base import (Connector, ConnectorDeps, Delivery, EnvVar, Health, InboundRequest,
                             InboundResult)
from connectors.files import read_limited, stored_bytes
from core.actions import (Action, DeleteMessage, InviteMember, PinMessage, PostCard, PostFile, PostMessage,
                          RemoveMember, SendEphemeral, SendPrivate)
from core.capabilities import BY_PLATFORM, FULL, Capabilities
from core.errors import BadRequest, ConfigError, Forbidden, PermanentDeliveryError, UnsupportedAction
from core.events import CardActed, FileRef, MessagePosted

BOT_NAMES = ("steward", "管家")
_MENTION = re.compile(r"@([A-Za-z0-9_.\-]{1,64})")
REMOTE_ADDR_HEADER = "X-Steward-Remote-Addr"


@dataclass
class Entry:
    seq: int
    at: str
    # said | message | private | ephemeral | card | file | removed | invited | deleted | pinned | unheard
    kind: str
    sender: str               # a user id or "steward"
    text: str = ""
    chat_id: str | None = None
    to_user: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    message_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


class SandboxConnector(Connector):
    platform: ClassVar[str] = "sandbox"
    endpoints: ClassVar[dict[str, tuple[str, ...]]] = {"messages": ("POST",), "cards": ("POST",)}
    ENV: ClassVar[tuple[EnvVar, ...]] = (
        EnvVar("STEWARD_SANDBOX_EMULATE", False, False,
               "make the sandbox behave like slack, wecom or dingtalk (capabilities)", None),
    )

    def __init__(self, deps: ConnectorDeps, emulate: str | None = None) -> None:
        if emulate not in (None, "slack", "wecom", "dingtalk"):
            raise ValueError(f"cannot emulate {emulate!r}")
        self.deps = deps
        self.emulate = emulate
        self._caps = (BY_PLATFORM[emulate] if emulate else FULL).with_(list_members=False)   # no member list
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.transcript: list[Entry] = []
        self.members: dict[str, set[str]] = {}
        self._delivered: set[str] = set()
        self._files: dict[str, bytes] = {}      # what members "sent": message id -> bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps) -> "SandboxConnector":
        emulate = (env.get("STEWARD_SANDBOX_EMULATE") or "").strip() or None
        if emulate not in (None, "slack", "wecom", "dingtalk"):
            raise ConfigError([f"STEWARD_SANDBOX_EMULATE: {emulate!r} is not slack, wecom or dingtalk"])
        return cls(deps, emulate)

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    # --- inbound -----------------------------------------------------------------------------
    def verify(self, request: InboundRequest) -> None:
        """The sandbox has no secret, so it answers only the machine it runs on."""
        addr = request.headers.get(REMOTE_ADDR_HEADER) or ""
        try:
            if ipaddress.ip_address(addr).is_loopback:
                return
        except ValueError:
            pass
        raise Forbidden("the sandbox only accepts requests from this machine")

    def parse(self, request: InboundRequest) -> InboundResult:
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("body is not JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("body must be a JSON object")
        if request.endpoint == "cards":
            return InboundResult(events=[self._card(data)], body=b"{}", content_type="application/json")
        event = self.say(_text_field(data, "user_id", 64), _text_field(data, "text", 4000, allow_empty=True),
                         chat_id=_optional(data, "chat_id"), event_id=_optional(data, "id"),
                         kind=_optional(data, "kind") or "text", content=_content(data))
        return InboundResult(events=[event] if event else [], body=json.dumps({"heard": bool(event)}),
                             content_type="application/json")

    def say(self, user_id: str, text: str, chat_id: str | None = None, event_id: str | None = None,
            kind: str = "text", content: bytes | None = None) -> MessagePosted | None:
        """A person types into a group (`chat_id`) or to Steward directly (no chat_id). A file message
        (`kind` file or image) is named by `text` and holds `content` (default: a line naming it)."""
        direct = chat_id is None
        mentions: list[str] = []
        addressed = direct

        def rewrite(m: re.Match[str]) -> str:
            nonlocal addressed
            if m.group(1).lower() in BOT_NAMES:
                addressed = True
                return ""
            mentions.append(m.group(1))
            return f"<@{m.group(1)}>"

        core_text = _MENTION.sub(rewrite, text).strip()
        message_id = event_id or uuid.uuid4().hex
        heard = direct or addressed or self._caps.sees_all_messages
        self._log("said" if heard else "unheard", user_id, text, chat_id=chat_id, message_id=message_id)
        if not heard:
            return None
        files: tuple[FileRef, ...] = ()
        if kind in ("file", "image"):
            data = content if content is not None else f"sandbox file {core_text}\n".encode("utf-8")
            with self._lock:
                self._files[message_id] = data
            files = (FileRef(handle=message_id, name=core_text or f"{kind}-{message_id}", size=len(data)),)
        return MessagePosted(platform="sandbox", event_id=f"msg:{message_id}",
                             chat_id=chat_id or f"dm:{user_id}", user_id=user_id, message_id=message_id,
                             text=core_text, kind=kind, mentions=tuple(mentions), addressed=addressed,
                             is_direct=direct, sent_at=self.deps.clock.now(), files=files)

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        with self._lock:
            data = self._files.get(ref.handle)
        if data is None:
            raise PermanentDeliveryError(f"no such sandbox file {ref.handle}", "file_not_found")
        return read_limited((data[i:i + 65536] for i in range(0, len(data), 65536)), max_bytes)

    def _card(self, data: dict[str, Any]) -> CardActed:
        return CardActed(platform="sandbox", event_id=f"card:{_optional(data, 'id') or uuid.uuid4().hex}",
                         user_id=_text_field(data, "user_id", 64), action=_text_field(data, "action", 64),
                         value=_text_field(data, "value", 64))

    # --- outbound ----------------------------------------------------------------------------
    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        with self._lock:
            if idempotency_key in self._delivered:   # the sandbox honours idempotency keys
                return Delivery(detail={"duplicate": True})
        caps = self._caps
        if isinstance(action, PostMessage):
            entry = self._log("message", "steward", action.text, chat_id=action.chat_id)
        elif isinstance(action, SendPrivate):
            entry = self._log("private", "steward", action.text, to_user=action.user_id)
        elif isinstance(action, SendEphemeral):
            if not caps.ephemeral:
                raise UnsupportedAction("no ephemeral messages here")
            entry = self._log("ephemeral", "steward", action.text, chat_id=action.chat_id, to_user=action.user_id)
        elif isinstance(action, RemoveMember):
            members = self.members.setdefault(action.chat_id, set())
            if action.user_id not in members and members:
                raise PermanentDeliveryError(f"{action.user_id} is not in {action.chat_id}", "not_in_channel")
            members.discard(action.user_id)
            entry = self._log("removed", "steward", action.user_id, chat_id=action.chat_id, to_user=action.user_id)
        elif isinstance(action, InviteMember):
            self.members.setdefault(action.chat_id, set()).add(action.user_id)
            entry = self._log("invited", "steward", action.user_id, chat_id=action.chat_id, to_user=action.user_id)
        elif isinstance(action, DeleteMessage):
            if not caps.delete_others_messages:
                raise UnsupportedAction("cannot delete other people's messages here")
            entry = self._log("deleted", "steward", action.message_id, chat_id=action.chat_id)
        elif isinstance(action, PinMessage):
            if not caps.pin:
                raise UnsupportedAction("no pins here")
            entry = self._log("pinned", "steward", action.message_id, chat_id=action.chat_id)
        elif isinstance(action, PostCard):
            if not caps.cards:
                raise UnsupportedAction("no cards here")
            entry = self._log("card", "steward", f"{action.title}\n{action.text}", chat_id=action.chat_id,
                              to_user=action.user_id,
                              buttons=[{"label": b.label, "action": b.action, "value": b.value} for b in action.buttons])
        elif isinstance(action, PostFile):
            data = stored_bytes(self.deps.files, action.sha256)
            entry = self._log("file", "steward", f"{action.caption}\n📎 {action.name} ({len(data)} bytes)".strip(),
                              chat_id=action.chat_id)
        else:
            raise UnsupportedAction(f"unknown action {action.kind}")
        with self._lock:
            self._delivered.add(idempotency_key)
        return Delivery(remote_id=str(entry.seq))

    def health(self) -> Health:
        return Health(True, f"sandbox{' emulating ' + self.emulate if self.emulate else ''}")

    # --- transcript ----------------------------------------------------------------------------
    def _log(self, kind: str, sender: str, text: str, **extra: Any) -> Entry:
        with self._lock:
            entry = Entry(seq=next(self._seq), at=self.deps.clock.now().isoformat(), kind=kind,
                          sender=sender, text=text, **extra)
            self.transcript.append(entry)
            del self.transcript[:-2000]   # a playground, not an archive: the database keeps that
            return entry

    def since(self, seq: int) -> list[dict[str, Any]]:
        with self._lock:
            return [e.to_dict() for e in self.transcript if e.seq > seq]


def _text_field(data: dict[str, Any], key: str, limit: int, allow_empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not value.strip() and not allow_empty):
        raise BadRequest(f"{key} is required and must be text")
    if len(value) > limit:
        raise BadRequest(f"{key} is longer than {limit} characters")
    return value


def _content(data: dict[str, Any]) -> bytes | None:
    """A sandbox file's content, as text (the request itself is at most 1 MiB)."""
    value = data.get("content")
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest("content must be text")
    return value.encode("utf-8")


def _optional(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 128:
        raise BadRequest(f"{key} must be short text")
    return value or None
