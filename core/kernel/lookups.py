"""Per-process caches for the hot path (every message Steward sees).

Groups change only when the configuration is synced or a group is created, and an open
membership rarely closes; both are cached for a short time (monotonic seconds, not the domain
clock). A stale entry can at worst delay re-opening a membership by `ttl` seconds.

The senders' accounts are cached too, for the plain path of ingest (inbound.py): an account's id never
changes; its display name, when a message brings another, sends the batch back to the database; and its
person (which an identity link may change) is used for the process's membership cache only, the archive
taking the person from the accounts table as it writes.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Group


class Lookups:
    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._groups: dict[tuple[str, str], tuple[float, int | None]] = {}
        self._members: dict[tuple[int, int], float] = {}
        self._accounts: dict[tuple[str, str], tuple[float, tuple[int, int, str | None]]] = {}
        self._lock = threading.Lock()

    def group_id(self, s: Session, platform: str, chat_id: str) -> int | None:
        """The governed group's id, or None when Steward does not govern this chat."""
        key, now = (platform, chat_id), time.monotonic()
        with self._lock:
            hit = self._groups.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        gid = s.scalar(select(Group.id).where(Group.platform == platform, Group.chat_id == chat_id,
                                              Group.active.is_(True)))
        with self._lock:
            if len(self._groups) > 50_000:
                self._groups.clear()
            self._groups[key] = (now + self.ttl, gid)
        return gid

    def cached_group_id(self, platform: str, chat_id: str) -> tuple[bool, int | None]:
        """`group_id` from the cache alone: (False, None) when the cache does not know (or no longer trusts)
        it, else (True, the id or None)."""
        with self._lock:
            hit = self._groups.get((platform, chat_id))
        return (True, hit[1]) if hit is not None and hit[0] > time.monotonic() else (False, None)

    def known_member(self, person_id: int, group_id: int) -> bool:
        with self._lock:
            return self._members.get((person_id, group_id), 0.0) > time.monotonic()

    def remember_member(self, person_id: int, group_id: int) -> None:
        with self._lock:
            if len(self._members) > 200_000:
                self._members.clear()
            self._members[(person_id, group_id)] = time.monotonic() + self.ttl

    def forget_member(self, person_id: int, group_id: int) -> None:
        with self._lock:
            self._members.pop((person_id, group_id), None)

    def account(self, platform: str, user_id: str) -> tuple[int, int, str | None] | None:
        """(account id, person id, display name) of a sender seen lately, or None."""
        with self._lock:
            hit = self._accounts.get((platform, user_id))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def remember_accounts(self, accounts: dict[tuple[str, str], tuple[int, int, str | None]]) -> None:
        until = time.monotonic() + self.ttl
        with self._lock:
            if len(self._accounts) > 200_000:
                self._accounts.clear()
            for key, account in accounts.items():
                self._accounts[key] = (until, account)

    def clear(self) -> None:
        with self._lock:
            self._groups.clear()
            self._members.clear()
            self._accounts.clear()
