"""The connector contract: what every messenger connector implements, and how it is declared.

A connector verifies inbound requests on their raw bytes, parses them into core events,
translates core actions into its platform's calls, delivers them through the platform's SDK and
declares its capabilities. It never imports Flask or another connector: `webhooks/` turns HTTP
into an `InboundRequest` and back.

Every connector is one folder with the same modules in the same roles:

    settings.py    the environment it reads (ENV) and a settings dataclass; secrets never in repr
    verify.py      signature, freshness and decryption; returns the verified `Payload`
    parse.py       a verified payload -> core events (explicit tables, explicit ignore lists)
    translate.py   a core action -> a description of the platform call, or `Unsupported` (pure)
    client.py      the only module that talks to the platform (SDK or HTTP)
    connector.py   wires the others together (the `Connector` below)
    manifest.py    the `Manifest`: what the registry and the core know about it, without importing the SDK
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

from core.actions import (
    Action,
    DeleteMessage,
    InviteMember,
    PinMessage,
    PostCard,
    PostFile,
    PostMessage,
    RemoveMember,
    SendEphemeral,
    SendPrivate,
)
from core.capabilities import Capabilities
from core.clock import Clock
from core.errors import ConfigError, UnsupportedAction
from core.events import Event, FileRef
from core.platforms import PlatformInfo
from core.ports import FileStore, MemoryReplayGuard, RateLimiter, ReplayGuard, TokenStore

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: anything larger is answered 413 before it is read


class Headers(dict):
    """Case-insensitive header mapping (keys stored lower-case)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__({k.lower(): v for k, v in (items or {}).items()})

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass(frozen=True)
class InboundRequest:
    """A framework-neutral HTTP request: the raw body is kept exactly as received."""
    method: str
    path: str
    endpoint: str                      # which of the connector's endpoints: "events", "callback", ...
    headers: Headers
    query: Mapping[str, str]
    body: bytes


@dataclass
class InboundResult:
    """What to answer the platform, and the events to hand to the core."""
    events: list[Event] = field(default_factory=list)
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain; charset=utf-8"
    # An answer that must be computed after the core ran (e.g. WeCom's encrypted "success").
    ignored: str | None = None         # why nothing was produced (an explicitly ignored payload type)


@dataclass(frozen=True)
class Payload:
    """What verify() vouches for: the request's content once its origin was checked, decrypted where the
    platform encrypts (WeCom, DingTalk events). parse() reads only this, so nothing is decrypted twice."""
    data: bytes | str
    #: what the verified content is, when one endpoint carries several kinds ("echostr" for a URL check)
    kind: str = "message"

    @property
    def text(self) -> str:
        return self.data if isinstance(self.data, str) else self.data.decode("utf-8")

    @property
    def raw(self) -> bytes:
        return self.data.encode("utf-8") if isinstance(self.data, str) else self.data

    def __repr__(self) -> str:   # payloads are members' words: logs get the size, never the content
        return f"Payload(kind={self.kind!r}, {len(self.data)} {'chars' if isinstance(self.data, str) else 'bytes'})"


@dataclass(frozen=True)
class Unsupported:
    """translate()'s answer for an action the platform cannot perform (in agreement with the capability row)."""
    reason: str


#: The capability flag each core action needs (PostMessage and PostFile need none). A card in a group
#: with buttons also needs `group_buttons`. translate() answers Unsupported exactly when a flag is off.
ACTION_CAPABILITY: Mapping[type[Action], str | None] = MappingProxyType({
    PostMessage: None,
    PostFile: None,
    SendPrivate: "private_messages",
    SendEphemeral: "ephemeral",
    RemoveMember: "remove_member",
    InviteMember: "invite_member",
    DeleteMessage: "delete_others_messages",
    PinMessage: "pin",
    PostCard: "cards",
})


def required_capabilities(action: Action) -> tuple[str, ...]:
    """The capability flags `action` needs on its platform."""
    flag = ACTION_CAPABILITY.get(type(action))
    flags = (flag,) if flag else ()
    if isinstance(action, PostCard) and action.chat_id and not action.user_id and action.buttons:
        flags += ("group_buttons",)
    return flags


@dataclass(frozen=True)
class Delivery:
    """The result of one delivered action: the platform's id for what it created, if any."""
    remote_id: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""


class Connector(ABC):
    platform: ClassVar[str]

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this platform lets Steward do, as configured (docs/design.md, capability table)."""

    @abstractmethod
    def verify(self, request: InboundRequest) -> Payload:
        """Check the signature on the raw bytes, in constant time, within the replay window, and return
        the verified content (decrypted where the platform encrypts).

        Raises core.errors.VerificationFailed (401) or Forbidden (403); BadRequest when a signed body
        cannot be decrypted. Must not parse the body beyond what the signature scheme itself needs.
        """

    @abstractmethod
    def parse(self, request: InboundRequest, payload: Payload) -> InboundResult:
        """Turn the payload verify() returned into core events and the answer for the platform.

        Raises core.errors.BadRequest for malformed payloads. Unknown payload types produce
        no events and a 200, so the platform stops retrying.
        """

    def receive(self, request: InboundRequest) -> InboundResult:
        """verify, then parse: the whole inbound path (webhooks/ and tests use it)."""
        return self.parse(request, self.verify(request))

    @abstractmethod
    def translate(self, action: Action) -> Any:
        """The platform call(s) `action` becomes, as a description (no I/O), or `Unsupported(reason)`
        exactly when the connector's capabilities lack a flag the action needs (ACTION_CAPABILITY)."""

    @abstractmethod
    def deliver(self, action: Action, idempotency_key: str) -> Delivery:
        """Perform one action through the platform's API.

        Raises core.errors.RetryableDeliveryError (throttled, 5xx, timeouts),
        PermanentDeliveryError (refused for good) or UnsupportedAction (capability missing).
        """

    @abstractmethod
    def health(self) -> Health:
        """A cheap check that credentials and the API are usable (used by `/healthz?deep=1`)."""

    def use_chat_aliases(self, aliases: Mapping[str, str]) -> None:
        """Other chat ids the platform reports for governed groups (alias -> chat_id, from steward.yaml).
        Only WeCom's AI bot has them (`aibot_chat_id`); other connectors ignore them."""

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        """Download a file a member sent (`MessagePosted.files`), streaming, and stop as soon as more
        than `max_bytes` arrived (core.errors.FileTooLarge). Platform errors map like deliver()'s."""
        raise UnsupportedAction(f"{self.platform} cannot fetch files")

    def group_members(self, chat_id: str) -> list[str]:
        """The user ids of the group's current members, the bot itself left out, every page read
        (optional: a connector that implements it declares `capabilities.list_members`). Paced through
        the connector's limiter; platform errors map like deliver()'s (Retryable- or PermanentDeliveryError)."""
        raise UnsupportedAction(f"{self.platform} cannot list a group's members")


@dataclass(frozen=True)
class EnvVar:
    name: str
    required: bool
    secret: bool
    meaning: str
    default: str | None = None


@dataclass(frozen=True)
class ConnectorDeps:
    """What the composition root hands every connector."""
    clock: Clock
    tokens: TokenStore
    limiter: RateLimiter
    files: FileStore | None = None     # stored files, read when a PostFile is delivered
    #: signed requests already accepted, shared by every process (steward/replay.py); None: this process only
    replay: ReplayGuard | None = None

    def replay_guard(self) -> ReplayGuard:
        return self.replay if self.replay is not None else MemoryReplayGuard(self.clock)


def read_env(spec: tuple[EnvVar, ...], env: Mapping[str, str], platform: str) -> dict[str, str | None]:
    """Values for `spec` from `env`; raises ConfigError naming every missing required variable."""
    values: dict[str, str | None] = {}
    missing = []
    for var in spec:
        value = (env.get(var.name) or "").strip() or var.default
        if var.required and not value:
            missing.append(f"{var.name} is not set ({var.meaning})")
        values[var.name] = value
    if missing:
        raise ConfigError([f"{platform}: {m}" for m in missing])
    return values


def is_configured(spec: tuple[EnvVar, ...], env: Mapping[str, str]) -> bool:
    """A platform counts as configured as soon as any of its variables is set."""
    return any((env.get(var.name) or "").strip() for var in spec)


def unsupported(plan: Any) -> None:
    """Raise UnsupportedAction when translate() said so (every deliver() starts with this)."""
    if isinstance(plan, Unsupported):
        raise UnsupportedAction(plan.reason)


@dataclass(frozen=True)
class Manifest:
    """Everything Steward knows about one messenger before (and without) importing its SDK.

    `connectors/registry.py` lists the built-in manifests; each connector's `manifest.py` defines one.
    The connector class itself (`connector`, imported when first used) has a classmethod `from_env(env, deps)` that raises
    ConfigError naming every variable that is missing or wrong.
    """
    id: str                                               # `slack`: URLs, account references, config
    display_name: str                                     # `Slack`: what people read
    env: tuple[EnvVar, ...]                               # the environment variables it reads
    endpoints: Mapping[str, tuple[str, ...]]              # HTTP endpoint name -> methods: /<id>/<name>
    capabilities: Capabilities                            # the platform's capability row (docs/design.md)
    connector: str                                        # "module:Class", imported (with its SDK) when used
    column_aliases: tuple[str, ...] = ()                  # onboarding-file headers naming its user ids
    real: bool = True                                     # False: the sandbox (a playground, not a messenger)
    #: optional extras, each "module:attribute", imported when used. Known names:
    #: "stream" (a runner class taking (connector, sink) for a connection without a public URL),
    #: "signin" (the console's sign-in provider class, webhooks/console),
    #: "archive" (`(lines, *, skip_senders, problems) -> Iterator[Event]`: `steward <id> ingest-archive`),
    #: "config_check" (`(config, env, say) -> None`: the messenger's own lines in `steward config check`).
    extras: Mapping[str, str] = field(default_factory=dict)
    page: str | None = None                               # a page webhooks/ mounts at /<id>/ ("playground")

    @property
    def info(self) -> PlatformInfo:
        return PlatformInfo(id=self.id, display_name=self.display_name, capabilities=self.capabilities,
                            column_aliases=self.column_aliases, real=self.real)

    def connector_class(self) -> type[Connector]:
        return _load(self.connector)

    def extra(self, name: str) -> Any | None:
        path = self.extras.get(name)
        return _load(path) if path is not None else None


def _load(path: str) -> Any:
    """`package.module:attribute`: an explicit path written in a manifest (no discovery)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
