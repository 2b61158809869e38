"""Who may run what (R7.1.1, R7.1.2): a pure table from command to the roles allowed."""
from __future__ import annotations

from typing import Iterable

ROLES = ("admin", "lead", "instructor", "reviewer", "hr", "member")
STAFF = frozenset({"admin", "lead", "instructor"})

# command -> roles that may run it; "anyone" means every member of the group or organisation.
PERMISSIONS: dict[str, frozenset[str] | str] = {
    "help": "anyone",
    "rules": "anyone",
    "record": "anyone",          # members see only their own record
    "appeal": "anyone",          # R2.3.3
    "warn": frozenset({"admin", "lead", "instructor"}),
    "remove": frozenset({"admin"}),               # R2.4.2, R7.1.2
    "revoke": frozenset({"admin"}),
    "approve": frozenset({"admin"}),
    "reject": frozenset({"admin"}),
    "record_others": frozenset({"admin", "lead", "hr"}),
}


def may(command: str, roles: Iterable[str]) -> bool:
    allowed = PERMISSIONS.get(command)
    if allowed is None:
        return False
    if allowed == "anyone":
        return True
    return bool(allowed & set(roles))


def is_exempt(roles: Iterable[str], exempt_roles: Iterable[str]) -> bool:
    return bool(set(roles) & set(exempt_roles))
