"""End to end through HTTP: the Flask app, the sandbox connector, the core, the outbox and the worker.

warn -> warn -> removal -> revoke, with the clause id in every message Steward sends.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, Case, InboundEvent, Membership, OutboxItem
from steward.worker import drain
from tests.conftest import LOCAL


def say(client, container, user, text, chat="new-hires", id=None):
    body = {"user_id": user, "text": text}
    if chat:
        body["chat_id"] = chat
    if id:
        body["id"] = id
    r = client.post("/sandbox/messages", json=body, environ_base=LOCAL)
    assert r.status_code == 200, r.data
    drain(container)
    return r


def steward_said(container, since=0):
    return [e for e in container.connectors["sandbox"].since(since) if e["sender"] == "steward"]


def test_warn_warn_remove_revoke(client, container):
    sandbox = container.connectors["sandbox"]
    say(client, container, "adam", "@steward warn @bob R8.1.2 posting ads")
    out = steward_said(container)
    assert [e["kind"] for e in out] == ["message", "private"]
    assert "R8.2.1" in out[0]["text"] and "C000001" in out[0]["text"]
    assert out[1]["to_user"] == "bob" and "R8.1.2" in out[1]["text"] and "appeal C000001" in out[1]["text"]

    mark = sandbox.transcript[-1].seq
    say(client, container, "adam", "@steward 警告 @bob 又发广告")
    out = steward_said(container, mark)
    kinds = [e["kind"] for e in out]
    assert kinds == ["message", "private", "removed"]
    assert all("R8.2.2" in e["text"] for e in out if e["kind"] != "removed")
    with container.sessions() as s:
        assert s.scalar(select(Case.outcome).where(Case.number == "C000002")) == "removal"
        left = s.scalars(select(Membership).where(Membership.leave_clause == "R8.2.2")).all()
        assert len(left) == 1

    mark = sandbox.transcript[-1].seq
    say(client, container, "adam", "@steward revoke C000002 appeal accepted", chat=None)
    out = steward_said(container, mark)
    assert {e["kind"] for e in out} == {"private", "invited"}
    with container.sessions() as s:
        assert s.scalar(select(Case.status).where(Case.number == "C000002")) == "revoked"
        actions = [a for a in s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions[-3:] == ["case.warning", "case.removal", "case.revoked"]

    # Revocation re-counts: the next violation is judged with the one live warning -> removal again.
    mark = sandbox.transcript[-1].seq
    say(client, container, "adam", "@steward warn @bob again")
    assert "R8.2.2" in steward_said(container, mark)[0]["text"]


def test_confirm_mode_waits_for_an_admin_card(client, container):
    say(client, container, "lily", "@steward warn @dave rude", chat="managers")
    say(client, container, "lily", "@steward warn @dave rude again", chat="managers")
    mark = container.connectors["sandbox"].transcript[-1].seq
    say(client, container, "lily", "@steward warn @dave third time", chat="managers")
    out = steward_said(container, mark)
    cards = [e for e in out if e["kind"] == "card"]
    assert cards and cards[0]["to_user"] == "adam" and "R8.2.2" in cards[0]["text"]
    assert not [e for e in out if e["kind"] == "removed"]
    number = cards[0]["buttons"][0]["value"]

    # A member cannot press the admin's button: refused and audited.
    r = client.post("/sandbox/cards", json={"user_id": "dave", "action": "case.approve", "value": number},
                    environ_base=LOCAL)
    assert r.status_code == 200
    drain(container)
    with container.sessions() as s:
        assert s.scalar(select(Case.outcome).where(Case.number == number)) == "removal_pending"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "command.refused")) == 1

    mark = container.connectors["sandbox"].transcript[-1].seq
    client.post("/sandbox/cards", json={"user_id": "adam", "action": "case.approve", "value": number},
                environ_base=LOCAL)
    drain(container)
    assert "removed" in [e["kind"] for e in steward_said(container, mark)]
    with container.sessions() as s:
        assert s.scalar(select(Case.outcome).where(Case.number == number)) == "removal"


def test_staff_is_exempt_only_from_automated_discipline(client, container):
    say(client, container, "adam", "@steward warn @ian off topic")
    with container.sessions() as s:
        assert s.scalar(select(Case.outcome)) == "warning"   # a human report still counts for staff


def test_a_redelivered_message_changes_nothing(client, container):
    say(client, container, "adam", "@steward warn @bob spam", id="m-1")
    with container.sessions() as s:
        before = (s.scalar(select(func.count()).select_from(Case)),
                  s.scalar(select(func.count()).select_from(OutboxItem)))
    say(client, container, "adam", "@steward warn @bob spam", id="m-1")
    with container.sessions() as s:
        after = (s.scalar(select(func.count()).select_from(Case)),
                 s.scalar(select(func.count()).select_from(OutboxItem)))
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 1
    assert before == after == (1, 2)


def test_members_see_only_their_own_record(client, container):
    say(client, container, "adam", "@steward warn @bob spam")
    mark = container.connectors["sandbox"].transcript[-1].seq
    say(client, container, "alice", "@steward record @bob")
    out = steward_said(container, mark)
    assert "only see their own" in out[0]["text"] and "C000001" not in out[0]["text"]
    say(client, container, "bob", "@steward 记录", chat=None)
    assert "C000001" in steward_said(container, mark)[-1]["text"]


@pytest.mark.parametrize("text,expected", [
    ("@steward warn", "missing an argument"),
    ("@steward warn @bob", "missing an argument"),
    ("@steward warn @nobody spam", "No member nobody"),
    ("@steward revoke C999 because", "No case C000999"),
    ("@steward frobnicate", "no command"),
])
def test_bad_commands_get_a_clear_reply_and_write_no_case(client, container, text, expected):
    say(client, container, "adam", text, chat=None if "frobnicate" in text else "new-hires")
    out = steward_said(container)
    assert expected.lower() in out[-1]["text"].lower()
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_appeal_reaches_the_admins(client, container):
    say(client, container, "adam", "@steward warn @bob spam")
    mark = container.connectors["sandbox"].transcript[-1].seq
    say(client, container, "bob", "申诉 C000001 我只是分享了课程链接", chat=None)
    out = steward_said(container, mark)
    assert {e["to_user"] for e in out} == {"bob", "adam"}
    assert any("R2.3.3" in e["text"] for e in out)
    mark = container.connectors["sandbox"].transcript[-1].seq
    say(client, container, "alice", "appeal C000001 not me", chat=None)
    assert "own cases" in steward_said(container, mark)[-1]["text"]


@pytest.mark.parametrize("body,status", [
    (b"not json", 400),
    (b"[]", 400),
    (json.dumps({"text": "hi"}).encode(), 400),
    (json.dumps({"user_id": "u", "text": "x" * 5000}).encode(), 400),
])
def test_bad_sandbox_input_is_refused_and_writes_nothing(client, container, body, status):
    r = client.post("/sandbox/messages", data=body, content_type="application/json", environ_base=LOCAL)
    assert r.status_code == status
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_oversized_body_is_413(client, container):
    r = client.post("/sandbox/messages", data=b"x" * (1024 * 1024 + 1), content_type="application/json",
                    environ_base=LOCAL)
    assert r.status_code == 413


def test_sandbox_refuses_other_machines(client, container):
    r = client.post("/sandbox/messages", json={"user_id": "a", "text": "hi"},
                    environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 403
    r = client.post("/sandbox/messages", json={"user_id": "a", "text": "hi"},
                    headers={"X-Steward-Remote-Addr": "127.0.0.1"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 403   # a client cannot forge the address header


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_departure_removes_the_person_from_every_group_on_every_platform(client, container):
    """R2.4.1: a departure on one platform removes the person everywhere and tells the leads."""
    from core.events import UserDeparted
    from core.kernel.directory import account_for, group_for, join, link_account
    from core.kernel.inbound import ingest

    with container.sessions.begin() as s:
        now = container.clock.now()
        bob = account_for(s, "sandbox", "bob", now)
        bob_slack = account_for(s, "slack", "U0BOB", now)
        link_account(s, bob_slack, bob.person)
        join(s, bob, group_for(s, "sandbox", "managers"), now, reason="test")
    assert ingest(container.ctx, UserDeparted(platform="slack", event_id="Ev-leave-1", user_id="U0BOB"))
    assert not ingest(container.ctx, UserDeparted(platform="slack", event_id="Ev-leave-1", user_id="U0BOB"))
    drain(container)
    out = steward_said(container)
    assert sorted(e["chat_id"] for e in out if e["kind"] == "removed") == ["managers", "new-hires"]
    assert [e["to_user"] for e in out if e["kind"] == "private"] == ["lily", "lily"]
    assert all("R2.4.1" in e["text"] for e in out if e["kind"] == "private")
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Membership).where(
            Membership.leave_clause == "R2.4.1")) == 2


def test_group_commands_from_a_private_chat(client, container):
    """On WeCom members talk to the app 1:1: `warn bob reason` finds the one group that fits,
    `in:CHAT` names it, and several candidates get a question, not a guess."""
    say(client, container, "adam", "warn bob R8.1.2 ads in a private chat", chat=None)
    out = steward_said(container)
    assert out[0]["chat_id"] == "new-hires" and "R8.2.1" in out[0]["text"]

    mark = container.connectors["sandbox"].transcript[-1].seq
    say(client, container, "lily", "warn @dave rude in:managers", chat=None)
    assert steward_said(container, mark)[0]["chat_id"] == "managers"

    mark = container.connectors["sandbox"].transcript[-1].seq
    say(client, container, "lily", "warn zed spam", chat=None)   # zed is in no group lily leads
    assert "in:" in steward_said(container, mark)[-1]["text"]

    mark = container.connectors["sandbox"].transcript[-1].seq
    say(client, container, "adam", "warn bob spam in:nowhere", chat=None)
    # a group that does not exist is refused as one the asker is not in: in:GROUP never tells who exists
    assert "nowhere is not one of yours" in steward_said(container, mark)[-1]["text"]


def test_a_members_group_command_in_a_private_chat_finds_their_group(client, container):
    say(client, container, "alice", "rules", chat=None)
    assert "New hires" in steward_said(container)[-1]["text"]


def test_help_lists_every_features_commands_the_person_may_use(client, container):
    say(client, container, "alice", "help", chat=None)
    member_help = steward_said(container)[-1]["text"]
    say(client, container, "adam", "help", chat=None)
    admin_help = steward_said(container)[-1]["text"]
    member_lines = {line.split()[0] for line in member_help.splitlines()[1:-1]}
    admin_lines = {line.split()[0] for line in admin_help.splitlines()[1:-1]}
    assert {"help", "rules", "appeal", "ask", "submit", "my"} <= member_lines
    assert not member_lines & {"lexicon", "warn", "remove", "revoke", "approve", "grade", "announce"}
    assert {"lexicon", "warn", "remove", "revoke", "approve", "assign", "quiz", "grades", "honours"} <= admin_lines
