"""The connector contract: what every messenger connector implements.

A connector verifies inbound requests on their raw bytes, parses them into core events,
delivers core actions through the platform's SDK and declares its capabilities. It never
imports Flask or another connector: `webhooks/` turns HTTP into an `InboundRequest` and back.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Mapping

from core.actions import Action
from core.clock import Clock
from core.errors import ConfigError, UnsupportedAction
from core.ports import FileStore, RateLimiter, TokenStore
from core.capabilities import Capabilities
from core.events import Event, FileRef

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
    #: HTTP endpoints this connector serves, name -> allowed methods; webhooks/ mounts them.
    endpoints: ClassVar[dict[str, tuple[str, ...]]] = {}

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this platform lets Steward do, as configured (docs/design.md capability table)."""

    @abstractmethod
    def verify(self, request: InboundRequest) -> None:
        """Check the signature on the raw bytes, in constant time, within the replay window.

        Raises core.errors.VerificationFailed (401) or Forbidden (403). Must not parse the body
        beyond what the signature scheme itself needs.
        """

    @abstractmethod
    def parse(self, request: InboundRequest) -> InboundResult:
        """Turn a verified request into core events and the answer for the platform.

        Raises core.errors.BadRequest for malformed payloads. Unknown payload types produce
        no events and a 200, so the platform stops retrying.
        """

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


# Every connector module defines a class with:
#   ENV: tuple[EnvVar, ...]                        the environment variables it reads (docs/design.md names)
#   from_env(env, deps) -> Connector (classmethod) raises ConfigError naming what is missing
