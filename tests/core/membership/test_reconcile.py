"""Reconciliation: hand-added members are recorded and flagged to the admins (R7.1.1); those who left
by themselves are recorded; a second run changes nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import AuditEntry, Group, Membership, OutboxItem
from core.services.directory import find_account
from core.services.membership_reconcile import reconcile_group


def test_reconcile_records_and_flags(container):
    with container.sessions.begin() as s:
        group = s.scalar(select(Group).where(Group.chat_id == "new-hires"))
        # on record: lily, adam, ian, alice, bob. In the group now: everyone but bob, plus zoe added by hand.
        report = reconcile_group(container.ctx, s, group, {"lily", "adam", "ian", "alice", "zoe"})
    assert (report.unrecorded, report.departed) == (["zoe"], ["bob"])
    with container.sessions() as s:
        flagged = [o.action for o in s.scalars(select(OutboxItem))]
        assert [(a["user_id"], "R7.1.1" in a["text"] and "zoe" in a["text"]) for a in flagged] == [("adam", True)]
        bob = find_account(s, "sandbox", "bob").person_id
        assert s.scalar(select(Membership.leave_reason).where(Membership.person_id == bob)) == \
            "left:found by reconcile"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "member.unrecorded", AuditEntry.clause == "R7.1.1")) == 1

    with container.sessions.begin() as s:
        group = s.scalar(select(Group).where(Group.chat_id == "new-hires"))
        again = reconcile_group(container.ctx, s, group, {"lily", "adam", "ian", "alice", "zoe"})
    assert (again.unrecorded, again.departed) == ([], [])
