"""The sandbox's "platform": an in-memory messenger with a transcript of everything said and done,
its groups' members, the files members sent and the idempotency keys it has seen."""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from core.clock import Clock
from core.errors import PermanentDeliveryError

KEEP = 2000      # a playground, not an archive: the database keeps that


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


class SandboxMessenger:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.transcript: list[Entry] = []
        self.members: dict[str, set[str]] = {}
        self._delivered: set[str] = set()
        self._files: dict[str, bytes] = {}      # what members "sent": message id -> bytes

    def log(self, kind: str, sender: str, text: str, **extra: Any) -> Entry:
        with self._lock:
            entry = Entry(seq=next(self._seq), at=self._clock.now().isoformat(), kind=kind,
                          sender=sender, text=text, **extra)
            self.transcript.append(entry)
            del self.transcript[:-KEEP]
            return entry

    def since(self, seq: int) -> list[dict[str, Any]]:
        with self._lock:
            return [e.to_dict() for e in self.transcript if e.seq > seq]

    # --- idempotency: the sandbox honours delivery keys, like a real platform should ----------------
    def seen(self, key: str) -> bool:
        with self._lock:
            return key in self._delivered

    def done(self, key: str) -> None:
        with self._lock:
            self._delivered.add(key)

    # --- membership ------------------------------------------------------------------------------
    def remove(self, chat_id: str, user_id: str) -> None:
        with self._lock:
            members = self.members.setdefault(chat_id, set())
            if user_id not in members and members:
                raise PermanentDeliveryError(f"{user_id} is not in {chat_id}", "not_in_channel")
            members.discard(user_id)

    def invite(self, chat_id: str, user_id: str) -> None:
        with self._lock:
            self.members.setdefault(chat_id, set()).add(user_id)

    # --- files members sent ----------------------------------------------------------------------
    def keep_file(self, message_id: str, data: bytes) -> None:
        with self._lock:
            self._files[message_id] = data

    def file(self, message_id: str) -> bytes:
        with self._lock:
            data = self._files.get(message_id)
        if data is None:
            raise PermanentDeliveryError(f"no such sandbox file {message_id}", "file_not_found")
        return data
