"""The messengers the deployment knows, as the core sees them: an id, a display name, a capability row and
the column names an HR file may use for its accounts.

The core never names a messenger. `connectors/registry.py` (the only place that knows them) registers
one `PlatformInfo` per connector manifest; a test may register one more.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from core.capabilities import FULL, Capabilities

#: a platform id: lower-case, short, usable in `platform:user_id` account references
PLATFORM_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
#: the user-id part of an account reference (`slack:U0ALICE01`)
USER_ID = r"[^\s:][^\s]{0,127}"
ACCOUNT_REF = re.compile(rf"^([a-z][a-z0-9_]{{1,31}}):({USER_ID})$")


@dataclass(frozen=True)
class PlatformInfo:
    id: str
    display_name: str
    capabilities: Capabilities
    #: header names an onboarding file may use for this platform's user ids (the id itself always works)
    column_aliases: tuple[str, ...] = ()
    #: False for the playground: it never shares people or roles with a real messenger
    real: bool = True


_lock = threading.Lock()
_known: dict[str, PlatformInfo] = {}


def register(info: PlatformInfo) -> None:
    if not PLATFORM_ID.match(info.id):
        raise ValueError(f"platform id {info.id!r} must match {PLATFORM_ID.pattern}")
    with _lock:
        _known[info.id] = info


def unregister(platform: str) -> None:
    with _lock:
        _known.pop(platform, None)


def ids() -> tuple[str, ...]:
    return tuple(_known)


def get(platform: str) -> PlatformInfo | None:
    return _known.get(platform)


def is_known(platform: str) -> bool:
    return platform in _known


def capabilities(platform: str) -> Capabilities:
    """The platform's declared row; an unknown platform plans as if it could do everything."""
    info = _known.get(platform)
    return info.capabilities if info else FULL


def split_account(ref: str) -> tuple[str, str] | None:
    """`platform:user_id` of a known platform, else None."""
    m = ACCOUNT_REF.match(ref.strip())
    if m is None or m.group(1) not in _known:
        return None
    return m.group(1), m.group(2)
