"""Small ports the core and the connectors depend on; implementations live in the composition root."""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence

from core.actions import Action
from core.clock import Clock
from core.events import FileRef


class TokenStore(Protocol):
    """Shared cache for platform access tokens (WeCom, DingTalk), so every worker reuses one token."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, expires_at: datetime) -> None: ...

    def delete(self, key: str) -> None: ...


class RateLimiter(Protocol):
    def acquire(self, key: str, rate: str) -> float:
        """Take one slot of `rate` (e.g. "20/second") for `key`; return 0, or seconds to wait."""


class MemoryTokenStore:
    """In-process TokenStore for tests and single-process runs."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[1] <= self._clock.now():
                self._items.pop(key, None)
                return None
            return item[0]

    def set(self, key: str, value: str, expires_at: datetime) -> None:
        with self._lock:
            self._items[key] = (value, expires_at)

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class ReplayGuard(Protocol):
    """Makes a signed request single-use, across every process of the deployment (steward/replay.py)."""

    def first_use(self, key: str, ttl_seconds: float, fingerprint: str = "") -> bool:
        """True when `key` (a signature) was not seen in the last `ttl_seconds`, or only with this same
        `fingerprint` (the very same request again: a retry, which the core de-duplicates); False when it was
        seen with another one (a captured signature reused with another body). Records it either way."""


class MemoryReplayGuard:
    """In-process ReplayGuard: one process only (tests; a connector built without a shared one)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def first_use(self, key: str, ttl_seconds: float, fingerprint: str = "") -> bool:
        now = self._clock.now().timestamp()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v[1] > now}
            seen = self._seen.get(key)
            if seen is not None and seen[1] > now:
                return seen[0] == fingerprint
            self._seen[key] = (fingerprint, now + ttl_seconds)
            return True


class NoRateLimit:
    def acquire(self, key: str, rate: str) -> float:
        return 0.0


class Metrics(Protocol):
    """What the core counts for monitoring (e.g. `count("detector_hits", detector="ads", category="ads")`);
    the composition root exports it (Prometheus)."""

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None: ...


class NoMetrics:
    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        pass


class Messenger(Protocol):
    """The outbound half of a connector, as the delivery service sees it."""

    def deliver(self, action: Action, idempotency_key: str) -> object:
        """Returns an object with an optional `remote_id`; raises core.errors.DeliveryError subclasses."""


class DeliveryCheck(Protocol):
    """A connector whose platform keeps a mark of what Steward sent (Slack: message metadata). Asked before
    an item is sent again whose earlier attempt was interrupted mid-call (a worker killed while waiting for
    the platform's answer): the platform may have done it already."""

    def find_delivered(self, action: Action, idempotency_key: str) -> object | None:
        """What `deliver` would have returned if the platform has it already, else None (then it is sent);
        raises RetryableDeliveryError when the platform cannot tell now."""


class FileStore(Protocol):
    """Where fetched files are kept, addressed by their SHA-256 (R5.2.1: a checksum for every attempt)."""

    def put(self, data: bytes) -> str:
        """Keep `data` (once, however often it is put); returns its SHA-256 hex digest."""

    def read(self, sha256: str) -> bytes:
        """The bytes stored under `sha256`; raises FileNotFoundError when there are none."""

    def has(self, sha256: str) -> bool: ...


class FileSource(Protocol):
    """The download half of a connector (`fetch_file`), as the file jobs see it."""

    def fetch_file(self, ref: FileRef, max_bytes: int) -> bytes:
        """The file's bytes; raises core.errors.FileTooLarge past `max_bytes`, and Retryable- or
        PermanentDeliveryError like deliver()."""


@dataclass(frozen=True)
class Profile:
    """What a platform's directory says about one user, in the one shape every connector returns."""
    user_id: str
    name: str | None = None
    email: str | None = None
    mobile: str | None = None
    employee_id: str | None = None
    department: str | None = None             # the main department's name
    position: str | None = None               # job title / position
    deleted: bool = False                     # deactivated or left the organisation
    departments: tuple[str, ...] = ()         # department names, the main one first
    department_ids: tuple[str, ...] = ()      # the same departments by the platform's ids


class Directory(ABC):
    """A connector that can look a user up (Slack users.info, WeCom user/get, DingTalk topapi/v2/user/get)."""

    @abstractmethod
    def user_profile(self, user_id: str) -> Profile | None:
        """The user's profile, or None when the platform knows no such user. Other failures raise
        core.errors delivery errors (Retryable- or PermanentDeliveryError)."""


@dataclass(frozen=True)
class CreatedGroup:
    """A group a connector created on its platform."""
    chat_id: str                              # the id Steward governs the group by
    #: what went wrong after the group itself was created (e.g. DingTalk's robot could not be added);
    #: empty when everything is in place
    warnings: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.warnings


class GroupCreator(ABC):
    """A connector that creates the groups it governs (WeCom appchat/create, DingTalk group/create)."""

    @abstractmethod
    def make_group(self, name: str, owner: str, user_ids: Sequence[str],
                   chat_id: str | None = None) -> CreatedGroup:
        """Create a group named `name`, owned by `owner`, with `user_ids` (the owner is always a member).
        `chat_id` asks for a fixed id where the platform lets the caller choose one (retries are then
        idempotent); where it does not, passing one raises ValueError. Platform refusals raise
        PermanentDeliveryError, temporary failures RetryableDeliveryError."""
