"""The sandbox connector: a messenger that lives in memory.

It speaks a tiny JSON format (see README.md), keeps a transcript of everything said and done,
and can emulate a real messenger's restrictions (`emulate=`) so the core's fallbacks can be
seen and tested: emulating WeCom or DingTalk, the bot only hears @-mentions and 1:1 chats, cannot
delete or pin, and so on.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, ClassVar, Mapping

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
from connectors.files import read_limited, stored_bytes
from connectors.sandbox import parse, translate, verify
from connectors.sandbox import settings as sandbox_settings
from connectors.sandbox.client import Entry, SandboxMessenger
from connectors.sandbox.manifest import CAPABILITIES
from core import platforms
from core.actions import Action
from core.capabilities import Capabilities
from core.events import FileRef, MessagePosted

BOT_NAMES = ("steward", "管家")
# `@name` or a full-width `＠name`; Steward's own names may be Chinese (`@管家`)
_MENTION = re.compile(r"[@＠]((?:" + "|".join(BOT_NAMES) + r")(?![A-Za-z0-9_.\-])|[A-Za-z0-9_.\-]{1,64})",
                      re.IGNORECASE)


class SandboxConnector(Connector):
    platform: ClassVar[str] = "sandbox"

    def __init__(self, deps: ConnectorDeps, emulate: str | None = None,
                 settings: sandbox_settings.SandboxSettings | None = None) -> None:
        self.settings = settings or sandbox_settings.SandboxSettings(emulate)
        self.deps = deps
        self.emulate = emulate
        # no member list, whatever it emulates
        self._caps = (platforms.capabilities(emulate).with_(list_members=False) if emulate else CAPABILITIES)
        self.messenger = SandboxMessenger(deps.clock)

    @classmethod
    def from_env(cls, env: Mapping[str, str], deps: ConnectorDeps) -> "SandboxConnector":
        settings = sandbox_settings.load(env)
        return cls(deps, settings.emulate, settings)

    def page_token(self) -> str:
        """The token a playground page hands its script; every POST must carry one (verify.py). Each page load
        gets its own, signed with this process's key (or STEWARD_PLAYGROUND_TOKEN, when it is set)."""
        return self.settings.csrf_token or verify.issue_token(self.settings.csrf_key)

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def transcript(self) -> list[Entry]:
        return self.messenger.transcript

    @property
    def members(self) -> dict[str, set[str]]:
        return self.messenger.members

    def since(self, seq: int) -> list[dict[str, Any]]:
        return self.messenger.since(seq)

    # --- inbound -----------------------------------------------------------------------------
    def verify(self, request: InboundRequest) -> Payload:
        return verify.verify(request, self.settings.csrf_token, self.settings.csrf_key)

    def parse(self, request: InboundRequest, payload: Payload) -> InboundResult:
        data = parse.body(payload)
        if request.endpoint == "cards":
            return InboundResult(events=[parse.card_acted(data)], body=b"{}", content_type="application/json")
        said = parse.said(data)
        event = self.say(said.user_id, said.text, chat_id=said.chat_id, event_id=said.event_id, kind=said.kind,
                         content=said.content)
        return InboundResult(events=[event] if event else [], body=b'{"heard": true}' if event else
                             b'{"heard": false}', content_type="application/json",
                             ignored=None if event else "not addressed to the bot, which hears only mentions")

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
        self.messenger.log("said" if heard else "unheard", user_id, text, chat_id=chat_id, message_id=message_id)
        if not heard:
            return None
        files: tuple[FileRef, ...] = ()
        if kind in ("file", "image"):
            data = content if content is not None else f"sandbox file {core_text}\n".encode("utf-8")
            self.messenger.keep_file(message_id, data)
            files = (FileRef(handle=message_id, name=core_text or f"{kind}-{message_id}", size=len(data)),)
        return MessagePosted(platform="sandbox", event_id=f"msg:{message_id}",
                             chat_id=chat_id or f"dm:{user_id}", user_id=user_id, message_id=message_id,
                             text=core_text, kind=kind, mentions=tuple(mentions), addressed=addressed,
                             is_direct=direct, sent_at=self.deps.clock.now(), files=files)

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        data = self.messenger.file(ref.handle)
        return read_limited((data[i:i + 65536] for i in range(0, len(data), 65536)), max_bytes)

    # --- outbound ----------------------------------------------------------------------------
    def translate(self, action: Action) -> translate.Line | translate.Unsupported:
        return translate.translate(action, self._caps)

    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        if self.messenger.seen(idempotency_key):
            return Delivery(detail={"duplicate": True})
        line = self.translate(action)
        unsupported(line)
        assert isinstance(line, translate.Line)
        text = line.text
        if line.kind == "removed":
            self.messenger.remove(line.chat_id or "", line.to_user or "")
        elif line.kind == "invited":
            self.messenger.invite(line.chat_id or "", line.to_user or "")
        elif line.kind == "file":
            data = stored_bytes(self.deps.files, line.file_sha256 or "")
            text = f"{line.text}\n📎 {line.file_name} ({len(data)} bytes)".strip()
        entry = self.messenger.log(line.kind, "steward", text, chat_id=line.chat_id, to_user=line.to_user,
                                   buttons=[{"label": label, "action": act, "value": value}
                                            for label, act, value in line.buttons])
        self.messenger.done(idempotency_key)
        return Delivery(remote_id=str(entry.seq))

    def health(self) -> Health:
        return Health(True, f"sandbox{' emulating ' + self.emulate if self.emulate else ''}")
