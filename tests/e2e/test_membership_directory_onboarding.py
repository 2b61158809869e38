"""Onboarding from the directory (R2.1.2, R3.3) through the webhooks and the fakes' Web APIs (and Slack's team_join).

A WeCom contact-sync `create_user` and a DingTalk `user_add_org` push reach Steward; the person's profile
is read from the directory (WeCom user/get + department/get, DingTalk topapi/v2/user/get) after the
event's transaction, and `membership.onboarding_rules` decide: a match joins the training's new-hire group
on that platform (the invite through the platform's API and the welcome with the confidentiality terms);
no match leaves nothing but an audit record. A retried push changes nothing; a broken payload writes nothing.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.config import parse_config
from core.db.models import AuditEntry, Membership
from core.kernel.directory import find_account
from tests.conftest import build_container
from tests.e2e.platform_support import DingTalkSide, SlackSide, WeComSide, counts, deliver_all, group_yaml
from tests.fakes.dingtalk_api import FakeDingTalk
from tests.fakes.slack_api import FakeSlack
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app

RULES = """membership:
  onboarding_rules:
    - departments: [销售部]
      training: onboarding
    - positions: [Engineer]
      training: onboarding
    - departments: [财务部]
      training: finance-2026
"""


@pytest.fixture
def d(db_url, clock):
    with FakeWeCom() as wecom, FakeDingTalk() as dingtalk, FakeSlack() as slack:
        sides = {"wecom": WeComSide(clock, wecom), "dingtalk": DingTalkSide(clock, dingtalk),
                 "slack": SlackSide(clock, slack)}
        text = ("locale: en\ngroups:\n" + "\n".join(group_yaml(s, "onboarding") for s in sides.values())
                + "\n" + RULES)
        env = {k: v for side in sides.values() for k, v in side.env().items()}
        container = build_container(db_url, clock, parse_config(text), env)
        app = create_app(container)
        app.testing = True
        yield container, app.test_client(), sides
        container.engine.dispose()


def audit(container, action):
    with container.sessions() as s:
        return [(e.clause, e.detail) for e in s.scalars(select(AuditEntry).where(AuditEntry.action == action))]


def stays(container, platform, user_id):
    with container.sessions() as s:
        account = find_account(s, platform, user_id)
        if account is None:
            return []
        return list(s.scalars(select(Membership.join_reason).where(Membership.person_id == account.person_id)))


def create_user_xml(side: WeComSide, user_id: str, department: str, created: int | None = None) -> str:
    """The contact-sync push of a new member, as newer callbacks send it (little more than the ids)."""
    at = created or int(side.clock.now().timestamp())
    return (f"<xml><ToUserName><![CDATA[{side.fake.corp_id}]]></ToUserName>"
            "<FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[create_user]]></ChangeType>"
            f"<UserID><![CDATA[{user_id}]]></UserID><Department><![CDATA[{department}]]></Department></xml>")


def test_wecom_create_user_joins_the_matching_new_hire_group(d, clock):
    container, client, sides = d
    wecom = sides["wecom"]
    wecom.fake.add_department(7, "销售部")
    wecom.fake.add_user("xiaoma", name="马小", department=[7], position="销售专员")
    mark = wecom.mark()
    wire = wecom.encrypted(create_user_xml(wecom, "xiaoma", "7"), endpoint="contacts")
    assert wire.send(client).status_code == 200
    deliver_all(container, clock)

    assert "xiaoma" in wecom.members_now()                                  # appchat/update add_user_list
    welcome = [c for c in wecom.sent(mark) if c.api == "message/send" and c.user == "xiaoma"]
    assert welcome and "R3.3.2" in welcome[0].text
    assert [clause for clause, _ in audit(container, "member.admitted")] == ["R2.1.2"]
    assert stays(container, "wecom", "xiaoma") == ["directory:onboarding:R2.1.2"]
    with container.sessions() as s:
        person = find_account(s, "wecom", "xiaoma").person
        assert (person.name, person.department, person.position) == ("马小", "销售部", "销售专员")

    assert wire.send(client).status_code == 200                             # WeCom's retry: nothing twice
    deliver_all(container, clock)
    assert len(audit(container, "member.admitted")) == 1


def test_wecom_create_user_without_a_matching_rule_is_only_audited(d, clock):
    container, client, sides = d
    wecom = sides["wecom"]
    wecom.fake.add_department(9, "法务部")
    wecom.fake.add_user("lawyer", name="律师", department=[9], position="法务")
    before = counts(container)["OutboxItem"]
    wire = wecom.encrypted(create_user_xml(wecom, "lawyer", "9"), endpoint="contacts")
    assert wire.send(client).status_code == 200
    [(clause, details)] = audit(container, "onboarding.no_rule")
    assert clause == "R2.1.2" and "法务部" in details["departments"] and details["position"] == "法务"
    assert counts(container)["OutboxItem"] == before and stays(container, "wecom", "lawyer") == []


def test_a_rule_whose_training_has_no_group_here_is_audited(d, clock):
    container, client, sides = d
    wecom = sides["wecom"]
    wecom.fake.add_department(8, "财务部")
    wecom.fake.add_user("kuaiji", name="会计", department=[8])
    assert wecom.encrypted(create_user_xml(wecom, "kuaiji", "8"), endpoint="contacts").send(client).status_code == 200
    [(clause, details)] = audit(container, "onboarding.no_group")
    assert clause == "R2.1.2" and details["training"] == "finance-2026" and details["platform"] == "wecom"


def test_dingtalk_user_add_org_joins_by_position(d, clock):
    container, client, sides = d
    dingtalk = sides["dingtalk"]
    dingtalk.fake.add_user("u_newdev", name="New Dev", title="Engineer", dept_id_list=[42])
    mark = dingtalk.mark()
    payload = {"EventType": "user_add_org", "EventTime": int(dingtalk.ms()), "CorpId": "dinge2ecorp",
               "eventId": "e2eaddorg00000001", "TimeStamp": dingtalk.ms(), "userId": ["u_newdev"]}
    response = dingtalk.event_push(payload).send(client)
    assert response.status_code == 200 and dingtalk.open_reply(json.loads(response.data)) == "success"
    deliver_all(container, clock)

    assert "u_newdev" in dingtalk.members_now()                             # sceneGroup/member/add
    assert [c.path for c in dingtalk.fake.calls[mark:] if c.path == "/topapi/v2/user/get"]
    welcome = [c for c in dingtalk.sent(mark) if c.api == dingtalk.PRIVATE[0] and c.user == "u_newdev"]
    assert welcome and "R3.3.2" in welcome[0].text
    assert stays(container, "dingtalk", "u_newdev") == ["directory:onboarding:R2.1.2"]


def test_dingtalk_directory_down_means_no_rule_matches(d, clock):
    """user_add_org names nobody's department: without the profile no rule can match, and nobody is added."""
    container, client, sides = d
    dingtalk = sides["dingtalk"]                                            # u_ghost is unknown to user/get
    payload = {"EventType": "user_add_org", "eventId": "e2eaddorg00000002", "userId": ["u_ghost"]}
    assert dingtalk.event_push(payload).send(client).status_code == 200
    assert [c for c, _ in audit(container, "onboarding.no_rule")] == ["R2.1.2"]
    assert stays(container, "dingtalk", "u_ghost") == []


def test_a_broken_push_writes_nothing(d):
    container, client, sides = d
    before = counts(container)
    wecom = sides["wecom"]
    broken = create_user_xml(wecom, "", "7")                                # no UserID
    assert wecom.encrypted(broken, endpoint="contacts").send(client).status_code == 400
    assert counts(container) == before


def test_slack_team_join_joins_by_the_profile_title(d, clock):
    """R2.1.2: a new workspace member whose title matches a rule is invited into the new-hire channel."""
    container, client, sides = d
    slack = sides["slack"]
    slack.fake.add_user("U0NEWDEV1", name="new.dev", real_name="New Dev", title="Engineer")
    mark = len(slack.fake.calls)
    joined = slack.event({"type": "team_join", "user": {
        "id": "U0NEWDEV1", "team_id": "T0STEWARD", "name": "new.dev", "deleted": False, "is_bot": False,
        "profile": {"real_name": "New Dev", "title": "Engineer"}, "updated": 1764073000},
        "event_ts": "1764073000.001600"})
    assert joined.send(client).status_code == 200
    deliver_all(container, clock)
    assert "U0NEWDEV1" in slack.members_now()                                 # conversations.invite
    welcome = [c for c in slack.sent(mark) if c.user == "U0NEWDEV1" and c.api == "chat.postMessage"]
    assert welcome and "R3.3.2" in welcome[0].text
    assert stays(container, "slack", "U0NEWDEV1") == ["directory:onboarding:R2.1.2"]
