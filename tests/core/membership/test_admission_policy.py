"""`membership.unadmitted` on a join (R2.1.1): hold (a card to the lead and the admins, the newcomer told
how to apply; the lead admits or removes), remove, allow; a person the lead adds is admitted; a held
person who is then recommended is admitted without a second invite; a departing lead flags the group
until someone takes it over (R1.3.4)."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from core.db.models import AuditEntry, Group, Membership, OutboxItem, Role
from core.events import CardActed, CommandInvoked, MemberJoined, MemberLeft
from core.kernel.directory import account_for, find_account, join
from core.kernel.inbound import ingest
from core.membership.config import MembershipSettings
from steward.worker import drain


def _stay(container, user_id):
    with container.sessions() as s:
        account = find_account(s, "sandbox", user_id)
        return s.scalar(select(Membership).where(Membership.person_id == account.person_id)
                        .order_by(Membership.id.desc()))


def _actions(container, since=0):
    with container.sessions() as s:
        return [o.action for o in s.scalars(select(OutboxItem).where(OutboxItem.id > since).order_by(OutboxItem.id))]


def _last_outbox(container):
    with container.sessions() as s:
        return s.scalar(select(OutboxItem.id).order_by(OutboxItem.id.desc()).limit(1)) or 0


def _joined(container, user_id, n, inviter=None):
    assert ingest(container.ctx, MemberJoined(platform="sandbox", event_id=f"join-{n}", chat_id="new-hires",
                                              user_id=user_id, inviter_id=inviter))
    drain(container)


def _with(container, policy):
    container.ctx = replace(container.ctx, config=container.config.model_copy(
        update={"membership": MembershipSettings(unadmitted=policy)}))
    return container


def test_hold_sends_the_card_and_the_lead_decides(container):
    mark = _last_outbox(container)
    _joined(container, "zoe", 1)
    assert _stay(container, "zoe").admission == "held"
    sent = _actions(container, mark)
    cards = [a for a in sent if a.get("type") == "card"]
    assert sorted(c["user_id"] for c in cards) == ["adam", "lily"]
    assert all(b["action"] == "membership.admit_held" or b["action"] == "membership.remove_held"
               for c in cards for b in c["buttons"])
    told = [a for a in sent if a.get("user_id") == "zoe"]
    assert told and "join in:new-hires" in told[0]["text"] and "R2.1.3" in told[0]["text"]
    stay_id = _stay(container, "zoe").id
    ingest(container.ctx, CardActed(platform="sandbox", event_id="click-1", user_id="alice",
                                    action="membership.admit_held", value=str(stay_id)))
    assert _stay(container, "zoe").admission == "held"          # a member may not decide (R7.1.1)
    ingest(container.ctx, CardActed(platform="sandbox", event_id="click-2", user_id="lily",
                                    action="membership.admit_held", value=str(stay_id)))
    assert _stay(container, "zoe").admission == "decided"
    with container.sessions() as s:
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action == "member.welcomed")) is not None


def test_a_held_person_removed_from_the_card(container):
    _joined(container, "yuri", 2)
    mark = _last_outbox(container)
    ingest(container.ctx, CardActed(platform="sandbox", event_id="click-3", user_id="adam",
                                    action="membership.remove_held", value=str(_stay(container, "yuri").id)))
    stay = _stay(container, "yuri")
    assert stay.left_at is not None and stay.leave_clause == "R2.1.1"
    assert [a["user_id"] for a in _actions(container, mark) if a.get("type") == "remove"] == ["yuri"]


def test_remove_and_allow(container):
    _with(container, "remove")
    mark = _last_outbox(container)
    _joined(container, "xena", 3)
    assert _stay(container, "xena").left_at is not None
    assert [a["user_id"] for a in _actions(container, mark) if a.get("type") == "remove"] == ["xena"]
    _with(container, "allow")
    _joined(container, "wes", 4)
    assert _stay(container, "wes").admission == "allowed" and _stay(container, "wes").left_at is None


def test_added_by_the_lead_is_admitted_and_a_recommendation_admits_a_held_person(container):
    _joined(container, "vera", 5, inviter="lily")
    assert _stay(container, "vera").admission == "decided"
    _joined(container, "uma", 6)
    assert _stay(container, "uma").admission == "held"
    mark = _last_outbox(container)
    ingest(container.ctx, CommandInvoked(platform="sandbox", event_id="rec-1", user_id="lily",
                                        text="recommend @uma strong results", chat_id="new-hires"))
    assert _stay(container, "uma").admission == "recommendation"
    assert not [a for a in _actions(container, mark) if a.get("type") == "invite"]   # already in


def test_a_departing_lead_flags_the_group_until_taken_over(container, clock):
    mark = _last_outbox(container)
    assert ingest(container.ctx, MemberLeft(platform="sandbox", event_id="left-1", chat_id="new-hires",
                                            user_id="lily"))
    with container.sessions() as s:
        group = s.scalar(select(Group).where(Group.chat_id == "new-hires"))
        assert group.unattended_since is not None
    told = [a for a in _actions(container, mark) if a.get("type") == "private"]
    assert sorted(a["user_id"] for a in told) == ["adam", "hannah"] and all("R1.3.4" in a["text"] for a in told)
    with container.sessions.begin() as s:       # a new lead is named and is in the group
        group = s.scalar(select(Group).where(Group.chat_id == "new-hires"))
        kim = account_for(s, "sandbox", "kim", clock.now())
        s.add(Role(person_id=kim.person_id, role="lead", group_id=group.id, source="cli", created_at=clock.now()))
        join(s, kim, group, clock.now(), reason="cli:lead", admission="staff")
    clock.advance(hours=24, seconds=1)
    drain(container)
    with container.sessions() as s:
        assert s.scalar(select(Group).where(Group.chat_id == "new-hires")).unattended_since is None
        assert s.scalar(select(AuditEntry.clause).where(AuditEntry.action == "group.attended")) == "R1.3.4"
