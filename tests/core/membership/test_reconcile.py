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


# --- the first discovery of a large group: one summary card, not one card per person ----------------------

CROWD = [f"new{n:02d}" for n in range(25)]


def _outbox(container, since=0):
    with container.sessions() as s:
        return [(o.id, o.action) for o in s.scalars(select(OutboxItem).where(OutboxItem.id > since)
                                                    .order_by(OutboxItem.id))]


def _discover(container, present):
    from steward.worker import drain
    with container.sessions.begin() as s:
        apply(container.ctx, s, _group(s), plan(container.ctx, s, _group(s), present))
    drain(container)                       # the held-card jobs, if any, run too


def _click(container, user, action, value, n):
    from core.events import CardActed
    from core.kernel.inbound import ingest
    mark = (_outbox(container) or [(0, None)])[-1][0]
    ingest(container.ctx, CardActed(platform="sandbox", event_id=f"summary-{n}", user_id=user, action=action,
                                    value=value))
    return [a for _, a in _outbox(container, mark)]


def test_a_large_discovery_sends_one_summary_card_per_decider(container):
    _discover(container, PRESENT | set(CROWD))
    sent = [a for _, a in _outbox(container)]
    cards = [a for a in sent if a["type"] == "card"]
    assert sorted(c["user_id"] for c in cards) == ["adam", "lily"]          # one each, not 26 each
    card = cards[0]
    assert card["title"] == "26 people not admitted: New hires"
    assert "new00, new01" in card["text"] and "new09" in card["text"] and "new10" not in card["text"]
    assert "and 16 more" in card["text"] and "R2.1.1" in card["text"]
    assert [b["action"] for b in card["buttons"]] == ["membership.admit_all_held", "membership.review_held"]
    told = sorted(a["user_id"] for a in sent if a["type"] == "private" and "join in:new-hires" in a["text"])
    assert told == sorted(CROWD + ["zoe"])                                  # each held person, once
    assert not [a for a in sent if a["type"] == "private" and a["user_id"] == "adam" and "held" in a["text"]]
    value = card["buttons"][0]["value"]

    refused = _click(container, "alice", "membership.admit_all_held", value, 1)      # a member may not
    assert [a["user_id"] for a in refused] == ["alice"] and "R7.1.1" in refused[0]["text"]
    forged = _click(container, "alice", "membership.admit_all_held", "999999:" + value.split(":")[1], 2)
    assert [a["text"] for a in forged] == [a["text"] for a in refused]               # no group learnt
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "command.refused", AuditEntry.detail["command"].as_string()
            == "membership.admit_all_held")) == 2

    review = _click(container, "lily", "membership.review_held", value, 3)
    individual = [a for a in review if a["type"] == "card"]
    assert len(individual) == 10 and {a["user_id"] for a in individual} == {"lily"}
    assert [b["action"] for b in individual[0]["buttons"]] == ["membership.admit_held", "membership.remove_held"]
    assert "10 of the 26" in review[-1]["text"]
    from core.events import CardActed
    from core.kernel.inbound import ingest
    ingest(container.ctx, CardActed(platform="sandbox", event_id="summary-4", user_id="lily",
                                    action="membership.remove_held", value=individual[0]["buttons"][1]["value"]))

    with container.sessions.begin() as s:                  # someone held after the card: not on it
        from core.membership.admission import sort_unadmitted
        sort_unadmitted(container.ctx, s, _group(s), account_for(s, "sandbox", "late", container.clock.now()),
                        "joined")
    done = _click(container, "adam", "membership.admit_all_held", value, 5)
    assert "Admitted 25 people into New hires" in done[-1]["text"]
    with container.sessions() as s:
        def admission(user):
            return s.scalar(select(Membership.admission).where(
                Membership.person_id == find_account(s, "sandbox", user).person_id).order_by(Membership.id.desc()))
        assert {admission(u) for u in CROWD[1:] + ["zoe"]} == {"decided"} and admission("late") == "held"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "member.admitted", AuditEntry.detail["reason"].as_string() == "held:all")) == 25
    assert _click(container, "adam", "membership.review_held", value, 6)[-1]["text"] == \
        "Nobody from that card is held in New hires any more."


def test_two_found_at_once_get_the_summary_card(container):
    _discover(container, PRESENT | {"new00"})
    cards = [a for _, a in _outbox(container) if a["type"] == "card"]
    assert {c["title"] for c in cards} == {"2 people not admitted: New hires"}


def test_the_summary_card_in_three_locales():
    from core.i18n import t
    for locale, title, more in (("en", "3 people not admitted: G", " and 1 more"),
                                ("zh-Hans", "3 人未经准入：G", " 等另外 1 人"),
                                ("zh-Hant", "3 人未經准入：G", " 等另外 1 人")):
        assert t(locale, "membership.held.summary_title", group="G", count=3) == title
        text = t(locale, "membership.held.summary", group="G", count=3, names="a, b",
                 more=t(locale, "membership.held.more", count=1), clause="R2.1.1")
        assert "a, b" + more in text and "R2.1.1" in text and "{" not in text
        assert t(locale, "membership.button.admit_all") and t(locale, "membership.button.review")
