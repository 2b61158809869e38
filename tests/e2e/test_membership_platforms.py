"""Membership on the real wire formats: Slack, WeCom and DingTalk fakes in one deployment.

A new hire arrives from HR's file and is added to the WeCom new-hire group with the welcome, and
acknowledges from the 1:1 app chat (R2.1.2, R3.3.2); an admin links one person's accounts with the
`link` command on Slack, and a resignation on WeCom empties that person out of every group (R2.4.1);
a Slack applicant's profile is pre-filled from users.info and only the missing field is asked (R2.1.3).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Membership
from core.kernel.directory import find_account
from core.membership.models import Acknowledgement
from core.membership.onboarding import onboard, prefetch_profiles
from core.membership.onboarding_file import read_hr_file
from tests.conftest import build_container
from tests.e2e.platform_support import Deployment, DingTalkSide, SlackSide, WeComSide, deliver_all, steward_config
from tests.fakes.dingtalk_api import FakeDingTalk
from tests.fakes.slack_api import FakeSlack
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app


@pytest.fixture
def everywhere(db_url, clock):
    with FakeSlack() as slack, FakeWeCom() as wecom, FakeDingTalk() as dingtalk:
        sides = {"slack": SlackSide(clock, slack), "wecom": WeComSide(clock, wecom),
                 "dingtalk": DingTalkSide(clock, dingtalk)}
        env = {key: value for side in sides.values() for key, value in side.env().items()}
        container = build_container(db_url, clock, steward_config(sides.values(), training="onboarding"), env)
        app = create_app(container)
        app.testing = True
        yield Deployment(container, app.test_client(), sides)
        container.engine.dispose()


def ok(response) -> None:
    assert response.status_code == 200, (response.status_code, response.data[:300])


def clauses(container, action):
    with container.sessions() as s:
        return list(s.scalars(select(AuditEntry.clause).where(AuditEntry.action == action)))


def test_a_new_hire_from_hrs_file_joins_the_wecom_group_and_acknowledges(everywhere, clock):
    d = everywhere
    wecom = d.sides["wecom"]
    wecom.fake.add_user("erinwu", name="Erin Wu")
    hr_file = ("姓名,工号,部门,职位,入职日期,企业微信\n"
               "吴尔,E500,销售部,专员,2026-11-02,erinwu\n").encode("gbk")
    rows, problems = read_hr_file(hr_file, "入职.csv", max_rows=100, max_bytes=100_000)
    assert not problems
    mark = wecom.mark()
    profiles = prefetch_profiles(d.container.ctx, rows)      # the directory, before the transaction
    assert profiles[("wecom", "erinwu")].name == "Erin Wu"
    with d.container.sessions.begin() as s:
        results, failed = onboard(d.container.ctx, s, rows, profiles=profiles)
    assert not failed and results[0].joined == [f"wecom:{wecom.chat}"]
    deliver_all(d.container, clock)

    assert "erinwu" in wecom.members_now()                               # appchat/update add_user_list
    welcome = [c for c in wecom.sent(mark) if c.api == "message/send" and c.user == "erinwu"]
    assert welcome and "R3.3.2" in welcome[0].text
    assert clauses(d.container, "member.admitted") == ["R2.1.2"]

    mark = wecom.mark()
    ok(wecom.app_text("erinwu", "保密确认").send(d.client))             # the 1:1 app chat is all WeCom gives
    deliver_all(d.container, clock)
    [thanks] = [c for c in wecom.sent(mark) if c.api == "message/send"]
    assert thanks.user == "erinwu" and "R3.3.2" in thanks.text
    with d.container.sessions() as s:
        assert s.scalar(select(Acknowledgement.acknowledged_at)) is not None
    assert clauses(d.container, "member.acknowledged") == ["R3.3.2"]


def test_linked_on_slack_then_a_resignation_on_wecom_empties_every_platform(everywhere, clock):
    d = everywhere
    slack = d.sides["slack"]
    for target in ("wecom:bobzhang", "dingtalk:u_bob"):
        ok(slack.slash_command(slack.users["admin"], f"link <@U0BOB0001|bob> {target}").send(d.client))
    deliver_all(d.container, clock)
    with d.container.sessions() as s:
        person = find_account(s, "slack", "U0BOB0001").person
        assert {a.platform for a in person.accounts} == {"slack", "wecom", "dingtalk"}
        person_id = person.id
    assert len(clauses(d.container, "identity.linked")) == 2

    marks = {platform: side.mark() for platform, side in d.sides.items()}
    ok(d.sides["wecom"].departure("bob").send(d.client))
    deliver_all(d.container, clock)
    for platform, side in d.sides.items():
        assert [(r.chat, r.user) for r in side.removals(marks[platform])] == [(side.chat, side.users["bob"])]
        assert side.users["bob"] not in side.members_now(), platform
    with d.container.sessions() as s:
        assert s.scalars(select(Membership).where(Membership.person_id == person_id,
                                                  Membership.left_at.is_(None))).all() == []
    assert clauses(d.container, "member.offboarded") == ["R2.4.1"] * 3


def test_a_member_cannot_link_accounts(everywhere, clock):
    d = everywhere
    slack = d.sides["slack"]
    ok(slack.slash_command(slack.users["bob"], "link <@U0CAROL01|carol> wecom:bobzhang").send(d.client))
    deliver_all(d.container, clock)
    with d.container.sessions() as s:
        assert find_account(s, "wecom", "bobzhang").person_id != find_account(s, "slack", "U0CAROL01").person_id
    assert clauses(d.container, "command.refused") == ["R7.1.1"]


def test_a_slack_applicant_is_prefilled_from_users_info_and_asked_only_for_the_department(everywhere, clock):
    d = everywhere
    slack = d.sides["slack"]
    slack.fake.add_user("U0ERIN001", name="erin", real_name="Erin Wu", title="Engineer", email="erin@example.com")
    mark = slack.mark()
    ok(slack.slash_command("U0ERIN001", "join").send(d.client))
    deliver_all(d.container, clock)
    asked = [c.text for c in slack.sent(mark) if c.api in ("chat.postEphemeral", "chat.postMessage")]
    assert asked and "department" in asked[0] and "R2.1.3" in asked[0]

    mark = slack.mark()
    ok(slack.slash_command("U0ERIN001", "join department: Sales").send(d.client))
    deliver_all(d.container, clock)
    to_lead = [c for c in slack.sent(mark) if c.api == "chat.postMessage" and c.user == slack.users["lead"]]
    assert to_lead, slack.sent(mark)
    with d.container.sessions() as s:
        erin = find_account(s, "slack", "U0ERIN001").person
        assert (erin.name, erin.position, erin.email, erin.department) == ("Erin Wu", "Engineer",
                                                                          "erin@example.com", "Sales")


def test_a_wecom_applicant_in_the_app_chat_is_prefilled_from_user_get(everywhere, clock):
    """The directory is read after the message's transaction (the token store shares the database)."""
    d = everywhere
    wecom = d.sides["wecom"]
    wecom.fake.add_department(7, "销售部")
    wecom.fake.add_user("frankliu", name="刘帆", department=[7], position="客户经理")
    mark = wecom.mark()
    ok(wecom.app_text("frankliu", "申请加入").send(d.client))
    deliver_all(d.container, clock)
    told = [c for c in wecom.sent(mark) if c.api == "message/send" and c.user == "frankliu"]
    assert told and "R2.1.3" in told[0].text
    to_lead = [c for c in wecom.sent(mark) if c.api == "message/send" and c.user == wecom.users["lead"]]
    assert to_lead and "刘帆" in to_lead[0].text and "销售部" in to_lead[0].text and "客户经理" in to_lead[0].text
