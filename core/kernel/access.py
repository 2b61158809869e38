"""Who may see and do what in the console: the one table (R7.1.1, R7.1.2, R2.3.3, R6.3.1, R8.2.3).

Each entry names the roles that grant a page or an action and its scope:

- `org`: the role must be held organisation-wide (no group);
- `group`: the role held in the group concerned, or organisation-wide;
- `self`: everyone, for what is their own (their record, cases and appeals).

The roles are the sets of `core/roles.py` the chat commands check, so a person may do the same thing in
the console as in the chat: approving a pending removal needs `ADMINS` in the case's group in both.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from core.roles import ADMIN, ADMINS, DECIDERS, GRADES_READERS, HR, LEAD, LINKERS, RECORD_READERS

ORG, GROUP, SELF = "org", "group", "self"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: str


RULES: Mapping[str, Rule] = {
    "me": Rule(frozenset(), SELF),                            # one's own record, cases and appeals
    "overview": Rule(RECORD_READERS, GROUP),                   # counts of the groups one looks after
    "cases": Rule(RECORD_READERS, GROUP),                      # cases and appeals of those groups
    "case.decide": Rule(ADMINS, GROUP),                        # approve/reject/revoke/accept appeal: as in chat
    "application.decide": Rule(DECIDERS, GROUP),               # join applications (R2.1.3): the lead's card
    "audit": Rule(RECORD_READERS, GROUP),                      # the audit log of those groups
    "audit.all": Rule(frozenset({ADMIN, HR}), ORG),            # entries without a group, and the export
    "groups": Rule(RECORD_READERS, GROUP),                     # members and roles
    "people": Rule(frozenset({ADMIN, HR}), ORG),               # every person (HR: membership, departures)
    "identity": Rule(LINKERS, ORG),                            # settle identity conflicts: as `link` in chat
    "it": Rule(ADMINS, ORG),                                   # messengers, callback URLs
    "moderation": Rule(ADMINS, GROUP),                         # lexicon edits and the what-if box: as `lexicon`
    "training": Rule(GRADES_READERS, GROUP),                   # notices, questions, materials, assignments
}

#: the pages in the navigation, in order
NAVIGATION = ("overview", "cases", "audit", "groups", "training", "people", "moderation", "it", "me")


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and the roles they hold: organisation-wide, and per group id."""
    person_id: int
    org_roles: frozenset[str] = frozenset()
    group_roles: Mapping[int, frozenset[str]] = field(default_factory=dict)


def allowed(viewer: Viewer, what: str, group_id: int | None = None, owner_id: int | None = None) -> bool:
    """May `viewer` see or do `what` — in group `group_id`, about person `owner_id`?

    A group-scoped rule asked without a group answers whether the viewer holds the role anywhere (the
    page then lists only the groups of `groups_for`)."""
    rule = RULES[what]
    if rule.scope == SELF:
        return owner_id is None or owner_id == viewer.person_id
    if viewer.org_roles & rule.roles:
        return True
    if rule.scope == ORG:
        return False
    if group_id is None:
        return any(roles & rule.roles for roles in viewer.group_roles.values())
    return bool(viewer.group_roles.get(group_id, frozenset()) & rule.roles)


def groups_for(viewer: Viewer, what: str) -> set[int] | None:
    """The groups `what` covers for the viewer: None means every group."""
    rule = RULES[what]
    if rule.scope != SELF and viewer.org_roles & rule.roles:
        return None
    if rule.scope != GROUP:
        return set()
    return {gid for gid, roles in viewer.group_roles.items() if roles & rule.roles}


def pages(viewer: Viewer) -> list[str]:
    """The navigation the viewer sees."""
    return [p for p in NAVIGATION if allowed(viewer, p)]


__all__ = ["ADMIN", "HR", "LEAD", "RULES", "Rule", "Viewer", "allowed", "groups_for", "pages"]
