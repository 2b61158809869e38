"""Sign-in for the console, without Flask: one-time links and sessions, stored only as hashes.

A link (`steward console link --as PLATFORM:USER_ID`) is a random token; the database keeps its
SHA-256, its account, when it expires and when it was used — so it signs in once, and a copy of the
table signs in nobody. A session is the same: the browser holds the token in an HttpOnly cookie, the
table its hash, the CSRF token of its forms, and the times that end it (idle and absolute)."""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core.db.models import Account
from core.errors import ConfigError
from core.kernel import audit
from webhooks.console.models import ConsoleLink, ConsoleSession

CHANNEL = "console"
MAX_LINK_MINUTES = 24 * 60


def actor(person_id: int) -> str:
    """How the console appears in the audit log: the channel, then the person (`console:person:12`)."""
    return f"{CHANNEL}:person:{person_id}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConsoleSettings:
    public_url: str = "http://127.0.0.1:8000"
    idle_minutes: int = 30
    max_hours: int = 12
    env: Mapping[str, str] = field(default_factory=dict, repr=False)   # the messengers' sign-in settings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ConsoleSettings":
        env = os.environ if env is None else env

        def number(name: str, default: int, most: int) -> int:
            raw = (env.get(name) or "").strip()
            if not raw:
                return default
            if not raw.isdigit() or not 1 <= int(raw) <= most:
                raise ConfigError([f"{name}: a whole number from 1 to {most}, not {raw!r}"])
            return int(raw)

        url = (env.get("STEWARD_PUBLIC_URL") or "").strip().rstrip("/") or cls.public_url
        return cls(public_url=url, idle_minutes=number("STEWARD_CONSOLE_IDLE_MINUTES", cls.idle_minutes, 24 * 60),
                   max_hours=number("STEWARD_CONSOLE_MAX_HOURS", cls.max_hours, 7 * 24),
                   env=dict(env))

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")


def create_link(s: Session, account: Account, minutes: int, by: str, now: datetime) -> str:
    """A one-time sign-in token for `account`, valid for `minutes`; audited."""
    if not 1 <= minutes <= MAX_LINK_MINUTES:
        raise ValueError(f"--minutes must be between 1 and {MAX_LINK_MINUTES}")
    token = secrets.token_urlsafe(32)
    s.add(ConsoleLink(token_hash=digest(token), account_id=account.id, created_by=by, created_at=now,
                      expires_at=now + timedelta(minutes=minutes)))
    audit.record(s, at=now, actor=by, action="console.link_created", person_id=account.person_id,
                 account=f"{account.platform}:{account.user_id}", minutes=minutes)
    return token


def redeem_link(s: Session, token: str, now: datetime) -> Account | None:
    """The link's account, once; an unknown, used or expired link is refused and audited."""
    link = s.scalar(select(ConsoleLink).where(ConsoleLink.token_hash == digest(token)))
    why = ("unknown" if link is None else "used" if link.used_at is not None
           else "expired" if link.expires_at <= now else None)
    if why is not None or link is None:
        audit.record(s, at=now, actor=CHANNEL, action="console.link_refused", clause="R7.1.2",
                     person_id=None if link is None else s.get(Account, link.account_id).person_id, why=why)
        return None
    # claimed with one conditional UPDATE, so two requests racing with the same link cannot both sign in
    claimed = s.execute(update(ConsoleLink).where(ConsoleLink.id == link.id, ConsoleLink.used_at.is_(None))
                        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        audit.record(s, at=now, actor=CHANNEL, action="console.link_refused", clause="R7.1.2", why="used")
        return None
    return s.get(Account, link.account_id)


def start_session(s: Session, account: Account, method: str, now: datetime) -> str:
    """A new session for the account; returns the cookie's token. Audited as a sign-in."""
    token = secrets.token_urlsafe(32)
    s.add(ConsoleSession(token_hash=digest(token), csrf=secrets.token_urlsafe(32), account_id=account.id,
                         person_id=account.person_id, method=method, created_at=now, last_seen_at=now))
    audit.record(s, at=now, actor=actor(account.person_id), action="console.signed_in",
                 person_id=account.person_id, method=method, account=f"{account.platform}:{account.user_id}")
    return token


def current_session(s: Session, token: str | None, now: datetime, settings: ConsoleSettings) -> ConsoleSession | None:
    """The live session of this cookie, its idle clock reset; None once it has ended or expired."""
    if not token:
        return None
    row = s.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == digest(token)))
    if row is None or row.ended_at is not None:
        return None
    if (now - row.last_seen_at > timedelta(minutes=settings.idle_minutes)
            or now - row.created_at > timedelta(hours=settings.max_hours)):
        row.ended_at = now
        audit.record(s, at=now, actor=actor(row.person_id), action="console.session_expired",
                     person_id=row.person_id)
        return None
    row.last_seen_at = now
    return row


KEEP_ENDED = timedelta(days=1)    # an ended session or a spent link is kept a day, then deleted


def purge(s: Session, now: datetime, settings: ConsoleSettings) -> None:
    """Delete links past their expiry and sessions that can never be used again (ended, or older than
    STEWARD_CONSOLE_MAX_HOURS), a day on. Run at each sign-in: the tables stay as small as the live set."""
    cutoff = now - KEEP_ENDED
    s.execute(delete(ConsoleLink).where(ConsoleLink.expires_at < cutoff))
    s.execute(delete(ConsoleSession).where(or_(
        ConsoleSession.ended_at < cutoff,
        ConsoleSession.created_at < cutoff - timedelta(hours=settings.max_hours))))


def end_session(s: Session, row: ConsoleSession, now: datetime) -> None:
    row.ended_at = now
    audit.record(s, at=now, actor=actor(row.person_id), action="console.signed_out", person_id=row.person_id)
