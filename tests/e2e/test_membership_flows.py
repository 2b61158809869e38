"""Membership end to end through the Flask app, the sandbox and the worker: join applications (R2.1.3),
recommendations (R2.1.1), welcome and acknowledgement (R3.3), moves and departures (R2.4.1), one identity."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db.models import Account, AuditEntry, Group, Membership, OutboxItem, Person
from core.events import MemberJoined, UserChanged, UserDeparted
from core.kernel.directory import find_account
from core.kernel.inbound import ingest
from core.membership.groups import register_group
from core.membership.models import Acknowledgement, MembershipRequest
from steward.worker import drain
from tests.conftest import LOCAL, build_container
from tests.e2e.sandbox_support import click, mark
from webhooks import create_app


def say(client, container, user, text, chat=None):
    body = {"user_id": user, "text": text}
    if chat:
        body["chat_id"] = chat
    assert client.post("/sandbox/messages", json=body, environ_base=LOCAL).status_code == 200
    drain(container)


def out(container, since):
    return [e for e in container.connectors["sandbox"].since(since) if e["sender"] == "steward"]


def to(entries, user, kind=None):
    return [e for e in entries if e["to_user"] == user and (kind is None or e["kind"] == kind)]


def audit_actions(container, clause=None):
    with container.sessions() as s:
        query = select(AuditEntry.action).order_by(AuditEntry.id)
        if clause:
            query = query.where(AuditEntry.clause == clause)
        return list(s.scalars(query))


def test_an_application_without_a_position_is_asked_for_it_and_never_forwarded(client, container):
    m = mark(container)
    say(client, container, "carol", "join in:new-hires name: Carol Wu department: Sales")
    replies = out(container, m)
    assert [e["kind"] for e in replies] == ["private"]
    assert "position" in replies[0]["text"] and "R2.1.3" in replies[0]["text"]
    assert not [e for e in replies if e["kind"] == "card"]       # nothing went to the lead

    m = mark(container)
    say(client, container, "carol", "join Account manager")       # the answer to the question asked
    replies = out(container, m)
    card = to(replies, "lily", "card")[0]
    assert "Carol Wu" in card["text"] and "Sales" in card["text"] and "Account manager" in card["text"]
    assert "R2.1.3" in card["text"]
    assert [b["action"] for b in card["buttons"]] == ["membership.approve", "membership.reject"]
    assert "went to the training lead" in to(replies, "carol")[0]["text"]

    # a member cannot press the lead's button (a forged click): refused, audited, still pending
    request_id = card["buttons"][0]["value"]
    click(client, container, "bob", "membership.approve", request_id)
    with container.sessions() as s:
        assert s.get(MembershipRequest, int(request_id)).status == "pending"
    assert "command.refused" in audit_actions(container)

    m = mark(container)
    click(client, container, "lily", "membership.approve", request_id)
    replies = out(container, m)
    assert [e["kind"] for e in replies if e["chat_id"] == "new-hires"] == ["invited"]
    welcome = to(replies, "carol", "card")[0]
    assert "R3.3.1" in welcome["text"] and "R3.3.2" in welcome["text"]
    assert welcome["buttons"][0]["action"] == "membership.ack"
    assert any("approved" in e["text"] and "R2.1.3" in e["text"] for e in to(replies, "carol", "private"))
    assert "approved" in to(replies, "lily")[0]["text"].lower()
    assert audit_actions(container, "R2.1.3") == ["application.submitted", "member.admitted",
                                                  "application.approved"]
    with container.sessions() as s:
        person = find_account(s, "sandbox", "carol").person
        assert (person.department, person.position) == ("Sales", "Account manager")

    # a second click changes nothing
    m = mark(container)
    click(client, container, "lily", "membership.approve", request_id)
    assert not [e for e in out(container, m) if e["kind"] == "invited"]


def test_a_rejected_applicant_hears_it(client, container):
    say(client, container, "carol", "申请加入 in:new-hires 姓名: 吴卡 部门: 销售部 职位: 客户经理")
    card = [e for e in out(container, 0) if e["kind"] == "card"][0]
    m = mark(container)
    click(client, container, "lily", "membership.reject", card["buttons"][1]["value"])
    replies = out(container, m)
    assert not [e for e in replies if e["kind"] == "invited"]
    assert "not approved" in to(replies, "carol")[0]["text"] and "R2.1.3" in to(replies, "carol")[0]["text"]


def test_a_member_cannot_apply_twice_and_a_member_is_told_so(client, container):
    m = mark(container)
    say(client, container, "bob", "join in:new-hires")
    assert "already a member" in out(container, m)[0]["text"]


def test_recommendation_invites_and_tells_why(client, container):
    m = mark(container)
    say(client, container, "lily", "@steward recommend @carol @dave strong sales results", chat="new-hires")
    replies = out(container, m)
    assert sorted(e["to_user"] for e in replies if e["kind"] == "invited") == ["carol", "dave"]
    told = to(replies, "carol", "private")[0]["text"]
    assert "strong sales results" in told and "R2.1.1" in told
    assert "Invited 2" in to(replies, "lily", "ephemeral")[0]["text"]

    m = mark(container)
    say(client, container, "lily", "@steward recommend @carol again", chat="new-hires")
    assert not [e for e in out(container, m) if e["kind"] == "invited"]     # nobody is added twice

    m = mark(container)
    say(client, container, "bob", "@steward recommend @erin", chat="new-hires")
    assert not [e for e in out(container, m) if e["kind"] == "invited"]
    assert "R7.1.2" in out(container, m)[0]["text"]


def test_welcome_acknowledgement_reminder_and_the_leads_list(client, container, clock):
    # added by the group's lead: admitted (someone nobody admitted would be held, R2.1.1)
    assert ingest(container.ctx, MemberJoined(platform="sandbox", event_id="j-1", chat_id="new-hires",
                                              user_id="erin", inviter_id="lily"))
    assert ingest(container.ctx, MemberJoined(platform="sandbox", event_id="j-2", chat_id="new-hires",
                                              user_id="finn", inviter_id="lily"))
    drain(container)
    cards = [e for e in out(container, 0) if e["kind"] == "card"]
    assert sorted(c["to_user"] for c in cards) == ["erin", "finn"]

    m = mark(container)
    say(client, container, "lily", "@steward acks", chat="new-hires")
    listing = out(container, m)[0]["text"]
    assert "erin" in listing and "finn" in listing and "R3.3.2" in listing

    click(client, container, "erin", "membership.ack", cards[0]["buttons"][0]["value"])
    say(client, container, "finn", "保密确认")                       # the typed reply works as well
    m = mark(container)
    say(client, container, "lily", "@steward acks", chat="new-hires")
    assert "Everyone" in out(container, m)[0]["text"]

    assert ingest(container.ctx, MemberJoined(platform="sandbox", event_id="j-3", chat_id="new-hires",
                                              user_id="gina", inviter_id="lily"))
    drain(container)
    clock.advance(hours=49)
    m = mark(container)
    drain(container)
    reminders = out(container, m)
    assert [e["to_user"] for e in reminders] == ["gina"] and "R3.3.2" in reminders[0]["text"]
    with container.sessions() as s:
        assert s.scalar(select(Acknowledgement.reminded_at).join(Person, Person.id == Acknowledgement.person_id)
                        .where(Person.name == "gina")) is not None

    # a second MemberJoined for the same stay does not welcome twice
    m = mark(container)
    assert ingest(container.ctx, MemberJoined(platform="sandbox", event_id="j-4", chat_id="new-hires",
                                              user_id="gina", inviter_id="lily"))
    drain(container)
    assert not out(container, m)


def test_the_member_list_command_is_for_leads(client, container):
    m = mark(container)
    say(client, container, "bob", "@steward acks", chat="new-hires")
    assert "R7.1.2" in out(container, m)[0]["text"]


def test_a_position_change_asks_the_lead_who_removes_with_the_clause(client, container):
    assert ingest(container.ctx, UserChanged(platform="sandbox", event_id="u-1", user_id="bob",
                                             changes={"position": "Driver"}))
    drain(container)
    card = [e for e in out(container, 0) if e["kind"] == "card"][0]
    assert card["to_user"] == "lily" and "R2.4.1" in card["text"]
    assert [b["action"] for b in card["buttons"]] == ["membership.keep", "membership.remove"]
    click(client, container, "bob", "membership.remove", card["buttons"][1]["value"])    # not his to decide
    m = mark(container)
    click(client, container, "lily", "membership.remove", card["buttons"][1]["value"])
    replies = out(container, m)
    assert [e["to_user"] for e in replies if e["kind"] == "removed"] == ["bob"]
    assert "R2.4.1" in to(replies, "bob", "private")[0]["text"]
    with container.sessions() as s:
        bob = find_account(s, "sandbox", "bob").person_id
        assert s.scalar(select(Membership.leave_clause).where(Membership.person_id == bob)) == "R2.4.1"
    assert "member.move_removed" in audit_actions(container, "R2.4.1")


def test_a_kept_member_stays(client, container):
    ingest(container.ctx, UserChanged(platform="sandbox", event_id="u-2", user_id="alice",
                                      changes={"department": "7"}))
    drain(container)
    card = [e for e in out(container, 0) if e["kind"] == "card"][0]
    m = mark(container)
    click(client, container, "lily", "membership.keep", card["buttons"][0]["value"])
    assert not [e for e in out(container, m) if e["kind"] == "removed"]
    assert "stays" in out(container, m)[0]["text"]


def test_link_by_admin_and_conflicts_are_reported_not_merged(client, container):
    m = mark(container)
    say(client, container, "bob", "link alice sandbox:zed")
    assert "R7.1.1" in out(container, m)[0]["text"]                 # members cannot link

    m = mark(container)
    say(client, container, "hannah", "link alice sandbox:zed")
    assert "Linked" in out(container, m)[0]["text"]
    say(client, container, "hannah", "link bob E1001")               # records an employee id on bob
    m = mark(container)
    say(client, container, "hannah", "link bob sandbox:zed")
    text = out(container, m)[0]["text"]
    assert "Not linked" in text and "another known person" in text
    say(client, container, "hannah", "link alice E2002")
    m = mark(container)
    say(client, container, "hannah", "link bob E2002")                # the employee id of another person
    assert "Not linked" in out(container, m)[0]["text"]
    m = mark(container)
    say(client, container, "hannah", "link alice wecom:zhangsan")     # the playground never meets a real person
    assert "Not linked" in out(container, m)[0]["text"]
    with container.sessions() as s:
        alice = find_account(s, "sandbox", "alice").person
        assert {(a.platform, a.user_id) for a in alice.accounts} == {("sandbox", "alice"), ("sandbox", "zed")}
        assert find_account(s, "sandbox", "bob").person.employee_id == "E1001"
        zhangsan = find_account(s, "wecom", "zhangsan")
        assert zhangsan is None or zhangsan.person_id != alice.id
    assert audit_actions(container).count("identity.conflict") == 3


def test_a_departure_on_wecom_empties_the_person_out_of_every_platform(db_url, clock, sandbox_config):
    from core.kernel.directory import account_for
    from core.kernel.identity import link_by_key
    from core.membership.admission import admit

    container = build_container(db_url, clock, sandbox_config)
    try:
        now = clock.now()
        with container.sessions.begin() as s:
            register_group(container.ctx, s, platform="wecom", chat_id="wrwNEW", name="新人群", kind="new-hire",
                           lead="wecom:lily", admins=("wecom:lily",))
            register_group(container.ctx, s, platform="slack", chat_id="C0NEW", name="New hires", kind="new-hire",
                           lead="slack:U0LILY", admins=("slack:U0LILY",))
        with container.sessions.begin() as s:
            alice = account_for(s, "slack", "U0ALICE", now)
            assert link_by_key(s, alice, "wecom:zhangsan", now, "test").status == "linked"
            for platform, chat, user in (("slack", "C0NEW", "U0ALICE"), ("wecom", "wrwNEW", "zhangsan")):
                group = s.scalar(select(Group).where(Group.chat_id == chat))
                admit(container.ctx, s, group, find_account(s, platform, user), reason="test", clause="R2.1.2",
                      actor="test")
        assert ingest(container.ctx, UserDeparted(platform="wecom", event_id="d-1", user_id="zhangsan"))
        with container.sessions() as s:
            alice = find_account(s, "slack", "U0ALICE").person
            assert alice.status == "departed"
            assert s.scalars(select(Membership).where(Membership.person_id == alice.id,
                                                      Membership.left_at.is_(None))).all() == []
            removals = [(o.platform, o.action["chat_id"]) for o in s.scalars(select(OutboxItem))
                        if o.action["type"] == "remove"]
            assert sorted(removals) == [("slack", "C0NEW"), ("wecom", "wrwNEW")]
            assert {a.platform for a in s.scalars(select(Account).where(Account.person_id == alice.id))} == \
                {"slack", "wecom"}
    finally:
        container.engine.dispose()


def test_wecom_emulation_sends_cards_privately(db_url, clock, sandbox_config):
    container = build_container(db_url, clock, sandbox_config, extra_env={"STEWARD_SANDBOX_EMULATE": "wecom"})
    try:
        app = create_app(container).test_client()
        assert app.post("/sandbox/messages", json={"user_id": "carol", "text": "join in:new-hires name: C "
                                                   "department: D position: P"}, environ_base=LOCAL).status_code == 200
        drain(container)
        cards = [e for e in container.connectors["sandbox"].since(0) if e["kind"] == "card"]
        assert cards and all(c["chat_id"] is None and c["to_user"] == "lily" for c in cards)
    finally:
        container.engine.dispose()


def test_voluntary_leave_records_the_reason_and_tells_the_lead(client, container):
    m = mark(container)
    say(client, container, "bob", "退群 换了项目")
    replies = out(container, m)
    assert [e["to_user"] for e in replies if e["kind"] == "removed"] == ["bob"]
    assert "换了项目" in to(replies, "lily", "private")[0]["text"] and "R7.1.1" in to(replies, "bob", "private")[0]["text"]
    with container.sessions() as s:
        bob = find_account(s, "sandbox", "bob").person_id
        stay = s.scalar(select(Membership).where(Membership.person_id == bob))
        assert (stay.leave_reason, stay.leave_clause) == ("voluntary: 换了项目", "R7.1.1")
    m = mark(container)
    say(client, container, "bob", "leave in:new-hires again")
    assert "not one of yours" in out(container, m)[0]["text"]        # he left: the group is not his any more
    m = mark(container)
    say(client, container, "bob", "leave")
    assert "leave" in out(container, m)[0]["text"]                   # the usage: a reason is required


@pytest.mark.parametrize("user,text,expected", [
    ("carol", "join in:nowhere", "nowhere"),                           # an unknown group is named
    ("carol", "join", "in:new-hires"),                                 # two groups: which one?
    ("hannah", "link alice not a key!", "Not linked"),
    ("hannah", "link alice", "link @member"),                          # the usage
    ("bob", "recommend carol", "in:GROUP"),                            # which group, from a 1:1 chat
    ("carol", "ack", "nothing for you to acknowledge"),
])
def test_bad_input_gets_a_clear_reply_and_writes_nothing(client, container, user, text, expected):
    def state():
        with container.sessions() as s:
            return (s.scalar(select(func.count()).select_from(MembershipRequest)),
                    s.scalar(select(func.count()).select_from(Membership).where(Membership.left_at.is_(None))),
                    s.scalar(select(func.count()).select_from(Account)))
    say(client, container, "carol", "hello")          # carol's account exists before the check
    before = state()
    m = mark(container)
    say(client, container, user, text)
    replies = out(container, m)
    assert replies and expected in replies[0]["text"], replies
    assert not [e for e in replies if e["kind"] in ("invited", "removed", "card")]
    assert state() == before


@pytest.mark.parametrize("action,value", [("membership.approve", "abc"), ("membership.reject", "999"),
                                          ("membership.keep", "1"), ("membership.ack", "x"),
                                          ("membership.ack", "999")])
def test_forged_or_stale_card_clicks_change_nothing(client, container, action, value):
    m = mark(container)
    click(client, container, "bob", action, value)
    assert not [e for e in out(container, m) if e["kind"] in ("invited", "removed")]
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(MembershipRequest)) == 0


def test_recommend_a_list_from_a_one_to_one_chat_as_on_wecom(client, container):
    say(client, container, "carol", "hello")
    say(client, container, "erin", "hello")
    m = mark(container)
    say(client, container, "lily", "recommend carol erin in:new-hires both finished the pre-course")
    replies = out(container, m)
    assert sorted(e["to_user"] for e in replies if e["kind"] == "invited") == ["carol", "erin"]
    assert "both finished the pre-course" in to(replies, "erin", "private")[0]["text"]


def test_staff_joining_their_own_group_get_no_welcome(client, container):
    assert ingest(container.ctx, MemberJoined(platform="sandbox", event_id="j-lily", chat_id="new-hires",
                                              user_id="lily"))
    drain(container)
    assert not [e for e in out(container, 0) if e["kind"] == "card"]
