"""End to end on the real wire formats, for Slack, WeCom and DingTalk.

The Flask app (`webhooks.create_app`) receives requests signed or encrypted exactly as each platform
sends them, on the real webhook paths; the core decides in one transaction; `steward.worker.drain`
delivers the outbox through the real SDK clients (slack_sdk, wechatpy, the DingTalk client) against a
fake of the platform's Web API on 127.0.0.1 (tests/fakes/), whose recorded calls are what we assert on.

How an admin reports a member on each platform (what the connectors support):
- Slack sees every channel message: the admin types `/steward warn @bob …` (a slash command) or
  @-mentions Steward in the channel (a `message` event carrying `<@U0STEWARD>`).
- WeCom gives a self-built app only what members send it in their 1:1 app chat (no group messages,
  no mention markup). So the admin writes to Steward privately: `warn bobzhang R8.1.2 …` with the
  member's bare user id; the group is the one governed WeCom group the admin looks after that bob is
  in, or is named explicitly with `in:wrTRAIN01` (core/kernel/runner.py, `_group_for_direct`).
- DingTalk delivers group messages that @-mention the robot: `@Steward warn @Bob …`, with the
  mentioned people's staff ids in `atUsers` (DingTalk strips the robot's own @ from the text).

Departures arrive on each platform's directory channel: Slack `user_change` (deleted: true) on
/slack/events, WeCom 通讯录同步 `change_contact`/`delete_user` on /wecom/contacts (its own token and
key), DingTalk `user_leave_org` on /dingtalk/events (encrypted).
"""
from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from datetime import timedelta

import pytest
from sqlalchemy import select

from connectors import registry
from core.db.models import Case, Group, Membership, OutboxItem
from core.kernel.directory import find_account, group_for, link_account
from steward.worker import drain
from tests.conftest import build_container
from tests.e2e.platform_support import (
    SIDES,
    Deployment,
    DingTalkSide,
    SlackSide,
    WeComSide,
    Wire,
    counts,
    deliver_all,
    open_side,
    pending_rows,
    steward_config,
)
from webhooks import create_app

MiB = 1024 * 1024


# --- one platform at a time ---------------------------------------------------------------------

def test_every_registered_messenger_has_a_side():
    """A messenger added to the registry runs these tests too once it has a side (platform_support.py)."""
    assert sorted(SIDES) == sorted(registry.messengers())


@pytest.fixture
def container(db_url, clock, side):
    c = build_container(db_url, clock, steward_config([side]), side.env())
    assert list(c.connectors) == [side.platform]
    yield c
    c.engine.dispose()


def accepted(response) -> None:
    """The platform got its 2xx, so it stops retrying."""
    assert response.status_code == 200, (response.status_code, response.data[:300])


def case(container, number: str) -> Case:
    with container.sessions() as s:
        found = s.scalar(select(Case).where(Case.number == number))
        assert found is not None, number
        return found


def membership_of(container, platform: str, user_id: str, chat_id: str) -> Membership:
    """The latest stay of that account's person in that group."""
    with container.sessions() as s:
        person_id = find_account(s, platform, user_id).person_id
        group = group_for(s, platform, chat_id)
        stay = s.scalars(select(Membership).where(Membership.person_id == person_id,
                                                  Membership.group_id == group.id)
                         .order_by(Membership.id.desc())).first()
        assert stay is not None, (platform, user_id, chat_id)
        return stay


def test_warn_then_remove_and_a_retried_delivery_changes_nothing(side, container, client, clock):
    bob = side.users["bob"]

    # 1. The admin reports bob: a first violation warns (R8.2.1) in the group and privately.
    mark = side.mark()
    first = side.report("admin", "bob", "R8.1.2 posting ads")
    accepted(first.send(client))
    deliver_all(container, clock)
    assert [s.api for s in side.sent(mark)] == [side.GROUP_POST, *side.PRIVATE]
    [post] = side.posts(mark)
    assert post.chat == side.chat
    assert "R8.2.1" in post.text and "C000001" in post.text and "posting ads" in post.text
    [private] = side.privates(mark)
    assert private.user == bob
    assert "R8.2.1" in private.text and "breaks R8.1.2" in private.text and "appeal C000001" in private.text
    if side.platform == "slack":   # a DM is conversations.open, then chat.postMessage into the D… channel
        assert [(s.api, s.user) for s in side.sent(mark)][1] == ("conversations.open", bob)
    warning = case(container, "C000001")
    assert (warning.outcome, warning.outcome_clause, warning.clause) == ("warning", "R8.2.1", "R8.1.2")
    assert bob in side.members_now()

    # 2. The admin reports bob again: one live warning is the limit, so bob is removed (R8.2.2).
    mark = side.mark()
    second = side.report("admin", "bob", "posting ads again", again=True)
    accepted(second.send(client))
    deliver_all(container, clock)
    assert Counter(s.api for s in side.sent(mark)) == Counter([side.GROUP_POST, *side.PRIVATE, side.REMOVE])
    [removal] = side.removals(mark)
    assert (removal.chat, removal.user) == (side.chat, bob)
    assert bob not in side.members_now()
    [post] = side.posts(mark)
    assert post.chat == side.chat and "R8.2.2" in post.text and "C000002" in post.text
    [private] = side.privates(mark)
    assert private.user == bob and "R8.2.2" in private.text and "appeal C000002" in private.text
    removed = case(container, "C000002")
    assert (removed.outcome, removed.outcome_clause, removed.person_id) == ("removal", "R8.2.2",
                                                                             warning.person_id)
    stay = membership_of(container, side.platform, bob, side.chat)
    assert stay.left_at is not None and stay.leave_clause == "R8.2.2"
    with container.sessions() as s:
        assert {i.status for i in s.scalars(select(OutboxItem))} == {"done"}

    # 3. The platform redelivers the second report: no new case, no new outbox row, no API call.
    before, mark = counts(container), side.mark()
    accepted(side.retry(second).send(client))
    assert drain(container) == 0
    assert counts(container) == before
    assert side.mark() == mark


def test_departure_removes_the_member_and_tells_the_lead(side, container, client, clock):
    carol, lead = side.users["carol"], side.users["lead"]
    mark = side.mark()
    departure = side.departure("carol")
    response = departure.send(client)
    accepted(response)
    if side.platform == "dingtalk":   # DingTalk wants the encrypted, signed "success", or it retries
        assert side.open_reply(response.get_json()) == "success"
    else:
        assert response.data == b""
    deliver_all(container, clock)

    assert Counter(s.api for s in side.sent(mark)) == Counter([side.REMOVE, *side.PRIVATE])
    [removal] = side.removals(mark)
    assert (removal.chat, removal.user) == (side.chat, carol)
    assert carol not in side.members_now()
    [private] = side.privates(mark)
    assert private.user == lead
    # named as the platform's directory knows them (read when Steward first saw the account), else by id
    named = carol if side.platform == "slack" else "Carol"
    assert "R2.4.1" in private.text and named in private.text and side.group_name in private.text
    assert side.posts(mark) == []                       # nothing is said in the group
    stay = membership_of(container, side.platform, carol, side.chat)
    assert stay.left_at is not None and stay.leave_clause == "R2.4.1"
    with container.sessions() as s:
        assert find_account(s, side.platform, carol).person.status == "departed"

    # The directory's retry of the same departure changes nothing.
    before, mark = counts(container), side.mark()
    accepted(side.retry(departure).send(client))
    assert drain(container) == 0
    assert counts(container) == before and side.mark() == mark


def test_a_throttled_removal_waits_for_retry_after_and_completes_once(side, container, client, clock):
    dave = side.users["dave"]
    side.throttle_removal(retry_after=30)
    mark = side.mark()
    accepted(side.departure("dave").send(client))
    drain(container)

    # The removal API answered 429: the row waits exactly Retry-After on the outbox's clock.
    assert [(s.chat, s.user) for s in side.removals(mark)] == [(side.chat, dave)]
    [row] = pending_rows(container)
    assert row.action["type"] == "remove" and row.attempts == 0   # a throttle is not a failed attempt
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert row.last_error == side.THROTTLED
    assert dave in side.members_now()
    assert [p.user for p in side.privates(mark)] == [side.users["lead"]]   # the lead's message went out

    # Not due yet: nothing is attempted, nothing is called.
    mark = side.mark()
    clock.advance(seconds=29)
    assert drain(container) == 0 and side.mark() == mark

    # Due: delivered exactly once.
    clock.advance(seconds=1)
    assert drain(container) == 1
    assert [(s.chat, s.user) for s in side.removals(mark)] == [(side.chat, dave)]
    assert side.sent(mark) == side.removals(mark)
    assert dave not in side.members_now()
    with container.sessions() as s:
        done = s.get(OutboxItem, row.id)
        assert (done.status, done.attempts) == ("done", 1)
    assert drain(container) == 0 and len(side.removals()) == 2   # the 429 and the one that went through


# --- one deployment, three platforms --------------------------------------------------------------

TRAINING = "onboarding-2026q4"


@pytest.fixture
def everywhere(db_url, clock):
    """Slack, WeCom and DingTalk configured at once: three fakes, three groups of one training."""
    with ExitStack() as opened:
        sides = {platform: opened.enter_context(open_side(platform, clock)) for platform in SIDES}
        env = {key: value for side in sides.values() for key, value in side.env().items()}
        container = build_container(db_url, clock, steward_config(sides.values(), training=TRAINING), env)
        app = create_app(container)
        app.testing = True
        yield Deployment(container, app.test_client(), sides)
        container.engine.dispose()


def link_accounts(container, member: str) -> int:
    """One person behind the member's Slack, WeCom and DingTalk accounts (as HR's directory would say)."""
    with container.sessions.begin() as s:
        person = find_account(s, "slack", SlackSide.users[member]).person
        link_account(s, find_account(s, "wecom", WeComSide.users[member]), person)
        link_account(s, find_account(s, "dingtalk", DingTalkSide.users[member]), person)
        return person.id


def test_one_deployment_counts_warnings_per_person_across_platforms(everywhere, clock):
    d = everywhere
    slack, wecom, dingtalk = d.sides["slack"], d.sides["wecom"], d.sides["dingtalk"]
    assert sorted(d.container.connectors) == ["dingtalk", "slack", "wecom"]
    with d.container.sessions() as s:
        groups = s.scalars(select(Group).order_by(Group.platform)).all()
        assert [(g.platform, g.chat_id) for g in groups] == [
            ("dingtalk", dingtalk.chat), ("slack", slack.chat), ("wecom", wecom.chat)]
        assert len({g.training_id for g in groups}) == 1 and groups[0].training_id is not None
    bob = link_accounts(d.container, "bob")
    marks = {platform: side.mark() for platform, side in d.sides.items()}

    # Warned on Slack (R8.2.1) ...
    accepted(slack.report("admin", "bob", "R8.1.2 posting ads").send(d.client))
    deliver_all(d.container, clock)
    [post] = slack.posts(marks["slack"])
    assert post.chat == slack.chat and "R8.2.1" in post.text and "C000001" in post.text
    assert [p.user for p in slack.privates(marks["slack"])] == [slack.users["bob"]]

    # ... then reported on DingTalk: the Slack warning counts, so bob is removed there (R8.2.2).
    slack_mark = slack.mark()
    accepted(dingtalk.report("admin", "bob", "R8.1.2 posting ads again").send(d.client))
    deliver_all(d.container, clock)
    assert Counter(s.api for s in dingtalk.sent(marks["dingtalk"])) == Counter(
        [dingtalk.GROUP_POST, *dingtalk.PRIVATE, dingtalk.REMOVE])
    [removal] = dingtalk.removals(marks["dingtalk"])
    assert (removal.chat, removal.user) == (dingtalk.chat, dingtalk.users["bob"])
    assert dingtalk.users["bob"] not in dingtalk.members_now()
    [post] = dingtalk.posts(marks["dingtalk"])
    [private] = dingtalk.privates(marks["dingtalk"])
    assert "R8.2.2" in post.text and "C000002" in post.text
    assert private.user == dingtalk.users["bob"] and "R8.2.2" in private.text
    first, second = case(d.container, "C000001"), case(d.container, "C000002")
    assert (first.person_id, first.outcome) == (bob, "warning")
    assert (second.person_id, second.outcome, second.outcome_clause) == (bob, "removal", "R8.2.2")

    # The other platforms are untouched: bob stays in the Slack channel and the WeCom group.
    assert slack.sent(slack_mark) == [] and wecom.sent(marks["wecom"]) == []
    assert slack.users["bob"] in slack.members_now() and wecom.users["bob"] in wecom.members_now()


def test_a_linked_persons_departure_removes_them_on_every_platform(everywhere, clock):
    d = everywhere
    link_accounts(d.container, "bob")
    marks = {platform: side.mark() for platform, side in d.sides.items()}
    accepted(d.sides["wecom"].departure("bob").send(d.client))
    deliver_all(d.container, clock)
    for platform, side in d.sides.items():
        bob, lead = side.users["bob"], side.users["lead"]
        assert [(r.chat, r.user) for r in side.removals(marks[platform])] == [(side.chat, bob)], platform
        assert bob not in side.members_now(), platform
        [private] = side.privates(marks[platform])
        assert private.user == lead and "R2.4.1" in private.text, platform


def test_a_linked_persons_removal_closes_their_stay_in_that_group(everywhere, clock):
    d = everywhere
    link_accounts(d.container, "bob")
    accepted(d.sides["slack"].report("admin", "bob", "R8.1.2 posting ads").send(d.client))
    accepted(d.sides["dingtalk"].report("admin", "bob", "R8.1.2 posting ads again").send(d.client))
    assert case(d.container, "C000002").outcome == "removal"
    with d.container.sessions() as s:
        account = find_account(s, "dingtalk", DingTalkSide.users["bob"])
        stays = s.scalars(select(Membership).where(Membership.account_id == account.id)).all()
        assert [(m.left_at is not None, m.leave_clause) for m in stays] == [(True, "R8.2.2")]


def test_a_linked_admin_keeps_their_rights_in_each_group(everywhere, clock):
    d = everywhere
    link_accounts(d.container, "admin")
    dingtalk = d.sides["dingtalk"]
    mark = dingtalk.mark()
    accepted(dingtalk.report("admin", "bob", "R8.1.2 posting ads").send(d.client))
    deliver_all(d.container, clock)
    refusals = [p.text for p in dingtalk.privates(mark) if "R7.1.2" in p.text]
    assert refusals == []          # today: 'Sorry, you may not use "warn" (R7.1.2).' to the admin
    assert case(d.container, "C000001").outcome == "warning"
    assert [p.user for p in dingtalk.privates(mark)] == [dingtalk.users["bob"]]


# --- bad input, through the real app, on every endpoint -------------------------------------------

ENDPOINTS = ["/slack/events", "/wecom/callback", "/wecom/contacts", "/dingtalk/robot", "/dingtalk/events"]
DEFECTS = {"wrong signature": (401, "signature check failed"),
           "stale timestamp": (401, "signature check failed"),
           "malformed body": (400, "bad request"),
           "body over 1 MiB": (413, "payload too large")}
STALE = 600   # seconds; every platform's replay window is 300


def bad_request(d: Deployment, path: str, defect: str) -> Wire:
    """A request as the platform would send it, but for one defect."""
    slack, wecom, dingtalk = d.sides["slack"], d.sides["wecom"], d.sides["dingtalk"]
    big = b"x" * (MiB + 1)
    now = int(slack.clock.now().timestamp())
    if path == "/slack/events":
        body = slack.report("admin", "bob", "R8.1.2 posting ads", again=True).body
        return {"wrong signature": lambda: slack.signed(body, "application/json", secret="not-the-secret"),
                "stale timestamp": lambda: slack.signed(body, "application/json", timestamp=now - STALE),
                "malformed body": lambda: slack.signed(b'{"type": "event_callback", "event": ',
                                                       "application/json"),
                "body over 1 MiB": lambda: slack.signed(big, "application/json")}[defect]()
    if path.startswith("/wecom/"):
        endpoint = path.rsplit("/", 1)[1]
        xml = (wecom.app_text_xml(wecom.users["admin"], "warn bobzhang R8.1.2 posting ads")
               if endpoint == "callback" else wecom.departure_xml("bob"))
        other = "contacts" if endpoint == "callback" else "callback"
        if defect == "wrong signature":   # sealed with the other callback's token and key
            wire = wecom.encrypted(xml, other)
            return Wire(path, wire.body, query=wire.query, content_type="text/xml")
        if defect == "stale timestamp":
            return wecom.encrypted(xml, endpoint, offset=-STALE)
        if defect == "malformed body":   # signed and encrypted, but the plaintext is not XML
            return wecom.encrypted("<xml><MsgType><![CDATA[text]]></MsgType><Content>cut off", endpoint)
        wire = wecom.encrypted(xml, endpoint)
        return Wire(path, big, query=wire.query, content_type="text/xml")
    if path == "/dingtalk/robot":
        body = dingtalk.robot_payload(dingtalk.users["admin"], "warn @Bob R8.1.2 posting ads",
                                      at=(dingtalk.users["bob"],))
        return {"wrong signature": lambda: dingtalk.robot_signed(body, secret="not-the-app-secret"),
                "stale timestamp": lambda: dingtalk.robot_signed(body, timestamp=dingtalk.ms(-STALE)),
                "malformed body": lambda: dingtalk.robot_signed(b'{"msgId": "msgE2Ebad", "text": '),
                "body over 1 MiB": lambda: dingtalk.robot_signed(big)}[defect]()
    payload = dingtalk.departure_payload("bob")
    return {"wrong signature": lambda: dingtalk.event_push(payload, token="not-the-event-token"),
            "stale timestamp": lambda: dingtalk.event_push(payload, timestamp=dingtalk.ms(-STALE)),
            "malformed body": lambda: dingtalk.event_push("EventType=user_leave_org&userId=u_bob"),
            "body over 1 MiB": lambda: Wire(path, big, query=dingtalk.event_push(payload).query)}[defect]()


@pytest.mark.parametrize("defect", list(DEFECTS))
@pytest.mark.parametrize("path", ENDPOINTS)
def test_bad_input_is_refused_and_writes_nothing(everywhere, path, defect):
    d = everywhere
    before, marks = counts(d.container), {p: side.mark() for p, side in d.sides.items()}
    response = bad_request(d, path, defect).send(d.client)
    assert (response.status_code, response.get_json()["error"]) == DEFECTS[defect], response.data[:200]
    assert counts(d.container) == before
    assert drain(d.container) == 0
    assert {p: side.mark() for p, side in d.sides.items()} == marks


@pytest.mark.parametrize("path", ["/wecom/callback", "/wecom/contacts"])
def test_wecom_xml_with_entities_is_refused_unexpanded(everywhere, path):
    """A billion-laughs envelope: refused by the XML parser before any signature or decryption."""
    d = everywhere
    laughs = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><ToUserName>&c;</ToUserName>'
              '<Encrypt><![CDATA[AAAA]]></Encrypt></xml>').encode()
    wire = d.sides["wecom"].encrypted(d.sides["wecom"].departure_xml("bob"), path.rsplit("/", 1)[1])
    before = counts(d.container)
    response = Wire(path, laughs, query=wire.query, content_type="text/xml").send(d.client)
    assert response.status_code == 400
    assert b"lollol" not in response.data
    assert counts(d.container) == before
