"""Reconciliation: the plan only reads; applied, hand-added members are held and flagged to the admins
(R2.1.1) or removed (R2.1.1), those who left by themselves get their stay closed, people who left the
organisation are removed (R2.4.1), staff are never taken out; a second run finds nothing."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from core.db.models import AuditEntry, Group, Membership, OutboxItem
from core.kernel.directory import account_for, find_account, leave
from core.membership.config import MembershipSettings
from core.membership.reconcile import apply, plan

PRESENT = {"lily", "adam", "ian", "alice", "zoe"}      # on record: lily, adam, ian, alice, bob


def _group(s):
    return s.scalar(select(Group).where(Group.chat_id == "new-hires"))


def _counts(container):
    with container.sessions() as s:
        return [s.scalar(select(func.count()).select_from(m)) for m in (AuditEntry, OutboxItem, Membership)]


def test_the_plan_writes_nothing(container):
    before = _counts(container)
    with container.sessions.begin() as s:
        report = plan(container.ctx, s, _group(s), PRESENT)
    assert (report.unadmitted, report.gone, report.departed, report.staff) == (["zoe"], ["bob"], [], [])
    assert _counts(container) == before


def test_applied_it_holds_and_flags(container):
    with container.sessions.begin() as s:
        apply(container.ctx, s, _group(s), plan(container.ctx, s, _group(s), PRESENT))
    with container.sessions() as s:
        flagged = [o.action for o in s.scalars(select(OutboxItem))]
        assert [(a["user_id"], "R2.1.1" in a["text"] and "zoe" in a["text"]) for a in flagged] == [("adam", True)]
        bob = find_account(s, "sandbox", "bob").person_id
        assert s.scalar(select(Membership.leave_clause).where(Membership.person_id == bob)) == "R7.1.1"
        zoe = find_account(s, "sandbox", "zoe").person_id
        assert s.scalar(select(Membership.admission).where(Membership.person_id == zoe)) == "held"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "member.held", AuditEntry.clause == "R2.1.1")) == 1
    with container.sessions.begin() as s:
        assert plan(container.ctx, s, _group(s), PRESENT).clean


def test_remove_policy_departed_people_and_staff(container):
    ctx = replace(container.ctx, config=container.config.model_copy(
        update={"membership": MembershipSettings(unadmitted="remove")}))
    with container.sessions.begin() as s:
        group = _group(s)
        now = ctx.clock.now()
        alice = account_for(s, "sandbox", "alice", now).person
        alice.status = "departed"                                   # left the company, still in the group
        leave(s, account_for(s, "sandbox", "ian", now).person_id, group.id, now, "test")   # staff, no stay
        report = plan(ctx, s, group, PRESENT)
        assert (report.unadmitted, report.departed, report.staff) == (["zoe"], ["alice"], ["ian"])
        apply(ctx, s, group, report)
    with container.sessions() as s:
        removals = sorted(o.action["user_id"] for o in s.scalars(select(OutboxItem)) if o.action["type"] == "remove")
        assert removals == ["alice", "zoe"]                         # never ian, the instructor
        assert sorted(s.scalars(select(AuditEntry.clause).where(AuditEntry.action.in_(
            ("member.unadmitted_removed", "member.departed_removed"))))) == ["R2.1.1", "R2.4.1"]
        assert s.scalar(select(func.count()).select_from(Membership).where(
            Membership.person_id == find_account(s, "sandbox", "zoe").person_id)) == 0
