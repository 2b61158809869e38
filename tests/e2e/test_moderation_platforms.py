"""Moderation on the real wire formats: what each platform lets Steward see is checked and acted on.

Slack delivers every channel message; DingTalk only messages that @-mention the robot; WeCom's group
traffic arrives through the message archive (`steward wecom ingest-archive`, tested on its own).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import Case
from tests.conftest import build_container
from tests.e2e.platform_support import DingTalkSide, SlackSide, deliver_all, steward_config
from tests.fakes.dingtalk_api import FakeDingTalk
from tests.fakes.slack_api import FakeSlack
from webhooks import create_app

SIDES = {"slack": (FakeSlack, SlackSide, "channel_message"), "dingtalk": (FakeDingTalk, DingTalkSide, "robot_message")}


@pytest.fixture(params=list(SIDES))
def side(request, clock):
    fake_cls, side_cls, method = SIDES[request.param]
    with fake_cls() as fake:
        side = side_cls(clock, fake)
        side.say = getattr(side, method)
        yield side


@pytest.fixture
def deployment(sqlite_url, clock, side):
    container = build_container(sqlite_url, clock, steward_config([side]), side.env())
    yield container, create_app(container).test_client()
    container.engine.dispose()


def test_an_ad_is_warned_then_removed_through_the_platform(deployment, side, clock):
    container, client = deployment
    bob = side.users["bob"]
    assert side.say(bob, "加我微信 zhang_888，课程资料免费送").send(client).status_code == 200
    deliver_all(container, clock)
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert (case.category, case.clause, case.outcome_clause) == ("ads", "R8.1.2", "R8.2.1")
    assert any("R8.2.1" in p.text for p in side.posts())
    assert any("R8.1.2" in p.text for p in side.privates())

    mark = side.mark()
    assert side.say(bob, "兼职刷单，日结工资，有意私聊").send(client).status_code == 200
    deliver_all(container, clock)
    assert [(r.chat, r.user) for r in side.removals(mark)] == [(side.chat, bob)]


@pytest.mark.parametrize("text,category,clause", [
    ("你是白癡嗎，講幾次了還不懂", "insult", "R1.3.3"),
    ("Go back to your country if you don't like it here", "discrimination", "R1.3.3"),
    ("Anyone selling fake invoices? Need some for my expense claim", "illegal", "R8.1.1"),
    ("我的身份证号是 110105198503136671，麻烦 HR 帮我登记一下", "dlp", "R8.1.4"),
])
def test_every_category_reaches_the_ladder(deployment, side, clock, text, category, clause):
    container, client = deployment
    assert side.say(side.users["carol"], text).send(client).status_code == 200
    deliver_all(container, clock)
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert (case.category, case.clause) == (category, clause)
    assert "110105198503136671" not in case.evidence
