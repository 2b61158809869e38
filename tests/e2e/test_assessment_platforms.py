"""Assignments, review and a quiz on the real wire formats of Slack, WeCom and DingTalk (R5, R6).

Each platform the way its connector allows: the lead types the command (Slack's `/steward`, WeCom's 1:1
app chat, DingTalk's @-mention in the group); the member submits in the 1:1 chat with Steward; feedback
comes as a private message through the platform's API; the quiz question is a private card whose button
comes back as Slack `block_actions`, a WeCom `template_card_event`, or (DingTalk) the robot message its
`dtmd://` link makes the member's client send.
"""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.assessment.models import QuizAnswer, Submission
from tests.conftest import build_container
from tests.e2e.platform_support import (
    DingTalkSide,
    SlackSide,
    WeComSide,
    deliver_all,
    steward_config,
)
from webhooks import create_app


@pytest.fixture
def deployment(db_url, clock, side):
    container = build_container(db_url, clock, steward_config([side], training="onboarding"), side.env())
    app = create_app(container)
    app.testing = True
    yield container, app.test_client()
    container.engine.dispose()


def lead_says(side, text):
    """The lead's command, the way each platform carries it."""
    if isinstance(side, SlackSide):
        return side.slash_command(side.users["lead"], text)
    if isinstance(side, WeComSide):
        return side.app_text(side.users["lead"], text)
    return side.robot_message(side.users["lead"], text)


def member_dm(side, person, text):
    """A member's message in their 1:1 chat with Steward."""
    user = side.users[person]
    if isinstance(side, SlackSide):
        ts = f"{int(side.clock.now().timestamp())}.{side.next_id():06d}"
        return side.event({"type": "message", "user": user, "text": text, "ts": ts, "team": "T0STEWARD",
                           "channel": f"D{user[1:]}", "event_ts": ts, "channel_type": "im"})
    if isinstance(side, WeComSide):
        return side.app_text(user, text)
    payload = json.loads(side.robot_payload(user, text))
    payload.update(conversationType="1", conversationId=f"cid1to1{user}", atUsers=[], isInAtList=False)
    payload.pop("conversationTitle", None)
    return side.robot_signed(json.dumps(payload, ensure_ascii=False).encode())


def click(side, person, action, value):
    user = side.users[person]
    if isinstance(side, SlackSide):
        payload = {"type": "block_actions", "user": {"id": user, "username": person, "team_id": "T0STEWARD"},
                   "api_app_id": "A0STEWARD", "team": {"id": "T0STEWARD", "domain": "steward-e2e"},
                   "container": {"type": "message", "message_ts": "1764073320.001900", "channel_id": f"D{user[1:]}"},
                   "channel": {"id": f"D{user[1:]}", "name": "directmessage"},
                   "trigger_id": f"1764073330.{side.next_id():010d}.e2e",
                   "actions": [{"action_id": f"{action}#1", "block_id": "b2", "value": value, "type": "button",
                                "action_ts": f"{int(side.clock.now().timestamp())}.{side.next_id():06d}"}]}
        return side.signed(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")
    if isinstance(side, WeComSide):
        return side.encrypted(
            f"<xml><ToUserName><![CDATA[{side.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{int(side.clock.now().timestamp())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
            f"<EventKey><![CDATA[{action}|{value}]]></EventKey><TaskId><![CDATA[stw_e2e{side.next_id()}]]></TaskId>"
            "<CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[rc]]></ResponseCode>"
            f"<AgentID>{side.fake.agent_id}</AgentID></xml>")
    return member_dm(side, person, f"#steward {action} {value}")


def when(clock, **delta) -> str:
    return (clock.now() + timedelta(**delta)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def send(client, container, clock, wire):
    response = wire.send(client)
    assert response.status_code == 200, response.data[:300]
    deliver_all(container, clock)


def test_assign_submit_review_and_a_quiz_card(side, deployment, clock):
    container, client = deployment
    bob = side.users["bob"]
    mark = side.mark()
    send(client, container, clock, lead_says(
        side, f"assign title: Week 1 report due: {when(clock, days=2)} method: link rubric: Content 100"))
    posts = side.posts(mark)
    assert len(posts) == 1 and "Week 1 report" in posts[0].text and "R5.1.1" in posts[0].text

    mark = side.mark()
    send(client, container, clock, member_dm(side, "bob", "submit 1 https://wiki.example.com/bob/week1"))
    receipt = [p for p in side.privates(mark) if p.user == bob]
    assert receipt and "on time" in receipt[-1].text and "R5.2.1" in receipt[-1].text

    mark = side.mark()
    who = f"<@{bob}|bob>" if isinstance(side, SlackSide) else (bob if isinstance(side, WeComSide) else "@Bob")
    wire = lead_says(side, f"grade {who} 1 85 Clear; add one example.")
    if isinstance(side, DingTalkSide):
        wire = side.robot_message(side.users["lead"], "grade @Bob 1 85 Clear; add one example.", at=(bob,))
    send(client, container, clock, wire)
    feedback = [p for p in side.privates(mark) if p.user == bob]
    assert feedback and "85/100" in feedback[0].text and "add one example" in feedback[0].text
    with container.sessions() as s:
        assert s.scalar(select(Submission.status)) == "graded"

    mark = side.mark()
    send(client, container, clock, lead_says(side, "quiz title: Safety Q: Exits are green | true*"))
    cards = [c for c in side.fake.calls[mark:] if "assessment.answer" in json.dumps(
        getattr(c, "args", None) or getattr(c, "body", None) or {}, ensure_ascii=False)]
    assert cards, "the question reaches the member as a card with the answer buttons"

    mark = side.mark()
    send(client, container, clock, click(side, "bob", "assessment.answer", "1.1.1"))
    send(client, container, clock, click(side, "bob", "assessment.answer", "1.1.2"))
    replies = [p.text for p in side.privates(mark) if p.user == bob]
    assert any("recorded" in r for r in replies) and any("already answered" in r for r in replies)
    with container.sessions() as s:
        assert [(a.option, a.correct) for a in s.scalars(select(QuizAnswer))] == [(0, True)]
