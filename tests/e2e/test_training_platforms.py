"""A training with groups on Slack and WeCom, on the real wire formats (R3.1.1, R3.1.2, R3.2.1).

The lead announces a session with Slack's `/steward`; it reaches both groups: on Slack as a card with an
Acknowledge button, then pinned (pins.add with the posted message's ts); on WeCom as text (appchat/send
carries no buttons, and WeCom has no pin). A WeCom member acknowledges in the 1:1 app chat; the lead
reschedules with a change notice, and those who have not acknowledged are reminded privately.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.training.models import Acknowledgement, Announcement
from tests.conftest import build_container
from tests.e2e.platform_support import Deployment, SlackSide, WeComSide, deliver_all, steward_config
from tests.fakes.slack_api import FakeSlack
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app


@pytest.fixture
def both(db_url, clock):
    with FakeSlack() as slack, FakeWeCom() as wecom:
        sides = {"slack": SlackSide(clock, slack), "wecom": WeComSide(clock, wecom)}
        env = {key: value for side in sides.values() for key, value in side.env().items()}
        container = build_container(db_url, clock, steward_config(sides.values(), training="onboarding"), env)
        app = create_app(container)
        app.testing = True
        yield Deployment(container, app.test_client(), sides)
        container.engine.dispose()


def send(d: Deployment, wire) -> None:
    response = wire.send(d.client)
    assert response.status_code == 200, response.data[:300]


def test_a_session_on_slack_and_wecom_rescheduled_with_acknowledgements(both, clock):
    d, slack, wecom = both, both.sides["slack"], both.sides["wecom"]
    marks = {p: side.mark() for p, side in d.sides.items()}
    send(d, slack.slash_command(slack.users["lead"], "announce session topic: Onboarding day 1 "
                                                     "time: 2026-11-05 14:00 place: Room 3 points: bring a laptop"))
    deliver_all(d.container, clock)

    slack_calls = [c for c in slack.fake.calls[marks["slack"]:]]
    posts = [c for c in slack_calls if c.method == "chat.postMessage" and c.args.get("channel") == slack.chat]
    assert len(posts) == 1 and "Onboarding day 1" in str(posts[0].args) and "training.seen" in str(posts[0].args)
    pins = [c for c in slack_calls if c.method == "pins.add"]
    assert len(pins) == 1 and pins[0].args["channel"] == slack.chat
    [wecom_post] = wecom.posts(marks["wecom"])
    assert wecom_post.chat == wecom.chat
    assert "Onboarding day 1" in wecom_post.text and "R3.1.2" in wecom_post.text and "seen 1" in wecom_post.text
    assert not [s for s in wecom.sent(marks["wecom"]) if "pin" in s.api]

    send(d, wecom.app_text(wecom.users["bob"], "收到 1"))
    deliver_all(d.container, clock)
    with d.container.sessions() as s:
        assert s.scalar(select(Acknowledgement.announcement_id)) == 1

    marks = {p: side.mark() for p, side in d.sides.items()}
    send(d, slack.slash_command(slack.users["lead"], "change 1 time 2026-11-06 15:00"))
    deliver_all(d.container, clock)
    [notice] = wecom.posts(marks["wecom"])
    assert "2026-11-05 14:00" in notice.text and "2026-11-06 15:00" in notice.text and "#1" in notice.text
    assert "R3.2.1" in notice.text
    with d.container.sessions() as s:
        change = s.scalars(select(Announcement).where(Announcement.kind == "change")).one()
        change_id = change.id

    send(d, wecom.app_text(wecom.users["carol"], f"seen {change_id}"))
    deliver_all(d.container, clock)
    marks = {p: side.mark() for p, side in d.sides.items()}
    clock.advance(days=3)      # a day before the new time: the reminder runs
    deliver_all(d.container, clock)
    reminded_wecom = {p.user for p in wecom.privates(marks["wecom"]) if "R3.2.1" in p.text}
    assert reminded_wecom == {wecom.users["bob"], wecom.users["dave"]}
    reminded_slack = {p.user for p in slack.privates(marks["slack"]) if "R3.2.1" in p.text}
    assert reminded_slack == {slack.users[m] for m in ("bob", "carol", "dave")}
