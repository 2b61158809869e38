"""Small ports the core and the connectors depend on; implementations live in the composition root."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

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


class NoRateLimit:
    def acquire(self, key: str, rate: str) -> float:
        return 0.0


class Messenger(Protocol):
    """The outbound half of a connector, as the delivery service sees it."""

    def deliver(self, action: Action, idempotency_key: str) -> object:
        """Returns an object with an optional `remote_id`; raises core.errors.DeliveryError subclasses."""


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
