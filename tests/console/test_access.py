"""The console's one table of who may see and do what (core/kernel/access.py), as a table."""
from __future__ import annotations

import pytest

from core.kernel.access import NAVIGATION, RULES, Viewer, allowed, groups_for, pages

G1, G2 = 1, 2
ORG_ADMIN = Viewer(10, frozenset({"admin"}))
HR = Viewer(11, frozenset({"hr"}))
LEAD_G1 = Viewer(12, group_roles={G1: frozenset({"lead"})})
ADMIN_G2 = Viewer(13, group_roles={G2: frozenset({"admin"})})
INSTRUCTOR_G1 = Viewer(14, group_roles={G1: frozenset({"instructor"})})
MEMBER = Viewer(15)

CASES = [
    # viewer, what, group, owner, allowed
    (ORG_ADMIN, "overview", None, None, True),
    (ORG_ADMIN, "cases", G2, None, True),
    (ORG_ADMIN, "case.decide", G1, None, True),
    (ORG_ADMIN, "audit.all", None, None, True),
    (ORG_ADMIN, "people", None, None, True),
    (ORG_ADMIN, "it", None, None, True),
    (HR, "overview", None, None, True),
    (HR, "cases", G1, None, True),             # RECORD_READERS: anyone's discipline record
    (HR, "case.decide", G1, None, False),      # HR reads, admins decide
    (HR, "audit.all", None, None, True),
    (HR, "people", None, None, True),
    (HR, "it", None, None, False),
    (LEAD_G1, "overview", None, None, True),
    (LEAD_G1, "cases", G1, None, True),
    (LEAD_G1, "cases", G2, None, False),       # not their group
    (LEAD_G1, "groups", G2, None, False),
    (LEAD_G1, "case.decide", G1, None, False),  # as in chat: approve/reject/revoke need an admin
    (LEAD_G1, "audit", G1, None, True),
    (LEAD_G1, "audit.all", None, None, False),
    (LEAD_G1, "people", None, None, False),
    (LEAD_G1, "it", None, None, False),
    (ADMIN_G2, "case.decide", G2, None, True),
    (ADMIN_G2, "case.decide", G1, None, False),
    (ADMIN_G2, "groups", G2, None, True),
    (ADMIN_G2, "it", None, None, False),       # IT is organisation-wide
    (INSTRUCTOR_G1, "cases", G1, None, False),
    (MEMBER, "overview", None, None, False),
    (MEMBER, "cases", G1, None, False),
    (MEMBER, "audit", None, None, False),
    (MEMBER, "me", None, 15, True),
    (MEMBER, "me", None, 16, False),           # somebody else's record
    (ORG_ADMIN, "moderation", None, None, True),
    (ADMIN_G2, "moderation", None, None, True),  # as the chat's `lexicon`: an admin in a group
    (LEAD_G1, "moderation", None, None, False),
    (HR, "moderation", None, None, False),
    (INSTRUCTOR_G1, "training", G1, None, True),   # R6.3.1: teaching staff and HR see results
    (INSTRUCTOR_G1, "training", G2, None, False),
    (MEMBER, "training", None, None, False),
]


@pytest.mark.parametrize("viewer, what, group, owner, expected", CASES)
def test_who_may_see_and_do_what(viewer, what, group, owner, expected):
    assert allowed(viewer, what, group_id=group, owner_id=owner) is expected


@pytest.mark.parametrize("viewer, what, expected", [
    (ORG_ADMIN, "cases", None),
    (HR, "cases", None),
    (LEAD_G1, "cases", {G1}),
    (ADMIN_G2, "groups", {G2}),
    (INSTRUCTOR_G1, "cases", set()),
    (MEMBER, "cases", set()),
    (LEAD_G1, "people", set()),
])
def test_which_groups_a_page_covers(viewer, what, expected):
    assert groups_for(viewer, what) == expected


@pytest.mark.parametrize("viewer, expected", [
    (ORG_ADMIN, list(NAVIGATION)),
    (HR, ["overview", "cases", "audit", "groups", "training", "people", "me"]),
    (ADMIN_G2, ["overview", "cases", "audit", "groups", "training", "moderation", "me"]),
    (LEAD_G1, ["overview", "cases", "audit", "groups", "training", "me"]),
    (INSTRUCTOR_G1, ["training", "me"]),
    (MEMBER, ["me"]),
])
def test_navigation(viewer, expected):
    assert pages(viewer) == expected


def test_every_rule_uses_the_one_role_vocabulary():
    from core.roles import ROLES
    for rule in RULES.values():
        assert rule.roles <= set(ROLES)
        assert rule.scope in ("org", "group", "self")
