"""Membership truth from the first minute, on Slack, WeCom and DingTalk through each platform's fake
Web API (real SDK clients): Steward starts on groups that already have members, and nobody runs a
command by hand. The start-up's discovery (the worker lists every group and looks every new account up
in its directory) is what lets an admin warn a member who never posted, links one person's three
accounts by their e-mail (so a WeCom departure removes them everywhere, R2.4.1), reports two people
sharing an e-mail instead of merging them, holds a stranger who joins (R2.1.1), and flags a group whose
lead left the organisation (R1.3.4)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.config import parse_config
from core.db.models import AuditEntry, Group, IdentityConflict, Membership
from core.kernel.directory import find_account
from tests.conftest import build_container
from tests.e2e.platform_support import DingTalkSide, SlackSide, WeComSide, group_yaml, pending_rows
from tests.e2e.platform_support import deliver_all as deliver_paced
from tests.fakes.dingtalk_api import FakeDingTalk
from tests.fakes.slack_api import FakeSlack
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app

# Pat is in all three groups (nobody configured them) with one e-mail; memb03 is in each group and
# never posted; the twins share an e-mail on Slack.
PAT = {"slack": "U0PAT0001", "wecom": "patwu", "dingtalk": "u_pat"}
MEMB03 = {"slack": "U0MEMB03", "wecom": "memb03", "dingtalk": "u_memb03"}
TWINS = ("U0TWIN001", "U0TWIN002")
PAT_MAIL = "pat@corp.example"


def deliver_all(container, clock) -> None:
    """Every card and message, however many one admin's DM holds (Slack paces one post a second)."""
    for _ in range(12):
        try:
            deliver_paced(container, clock)
            return
        except AssertionError:
            if not all("pacing" in (r.last_error or "") for r in pending_rows(container)):
                raise
    deliver_paced(container, clock)


class Started:
    def __init__(self, container, client, sides, clock):
        self.container, self.client, self.sides, self.clock = container, client, sides, clock

    def audits(self, action: str) -> list[AuditEntry]:
        with self.container.sessions() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))

    def stay(self, platform: str, user_id: str) -> Membership | None:
        side = self.sides[platform]
        with self.container.sessions() as s:
            account = find_account(s, platform, user_id)
            group = s.scalar(select(Group).where(Group.platform == platform, Group.chat_id == side.chat))
            if account is None:
                return None
            return s.scalar(select(Membership).where(Membership.person_id == account.person_id,
                                                     Membership.group_id == group.id).order_by(Membership.id.desc()))


def _arrange(slack: FakeSlack, wecom: FakeWeCom, dingtalk: FakeDingTalk, sides) -> None:
    """The directories and the groups as the company has them before Steward is installed."""
    s, w, d = sides["slack"], sides["wecom"], sides["dingtalk"]
    for role, uid in s.users.items():
        slack.add_user(uid, name=role, real_name=role.title(), email=f"{role}.slack@corp.example")
    slack.add_user(PAT["slack"], name="pat", real_name="Pat Wu", title="Engineer", email=PAT_MAIL)
    slack.add_user(MEMB03["slack"], name="memb03", real_name="Member Three", email="memb03@corp.example")
    for twin in TWINS:
        slack.add_user(twin, name=twin.lower(), real_name=f"Twin {twin[-1]}", email="twins@corp.example")
    slack.add_channel(s.chat, PAT["slack"], MEMB03["slack"], *TWINS)
    wecom.add_user(PAT["wecom"], name="Pat Wu", position="Engineer")
    wecom.users[PAT["wecom"]]["email"] = PAT_MAIL
    wecom.add_user(MEMB03["wecom"], name="Member Three")
    wecom.chats[w.chat].userlist += [PAT["wecom"], MEMB03["wecom"]]
    dingtalk.add_user(PAT["dingtalk"], name="Pat Wu", title="Engineer", org_email=PAT_MAIL)
    dingtalk.add_user(MEMB03["dingtalk"], name="Member Three")
    dingtalk.groups[d.chat].members += [PAT["dingtalk"], MEMB03["dingtalk"]]


@pytest.fixture
def started(tmp_path, db_url, clock):
    slack, wecom, dingtalk = FakeSlack().start(), FakeWeCom().start(), FakeDingTalk().start()
    sides = {"slack": SlackSide(clock, slack), "wecom": WeComSide(clock, wecom),
             "dingtalk": DingTalkSide(clock, dingtalk)}
    _arrange(slack, wecom, dingtalk, sides)
    text = "locale: en\ngroups:\n" + "\n".join(group_yaml(side, "onboarding") for side in sides.values()) + "\n"
    env = {key: value for side in sides.values() for key, value in side.env().items()}
    path = tmp_path / "steward.yaml"
    path.write_text(text, encoding="utf-8")
    env.update({"STEWARD_LOG_LEVEL": "ERROR", "STEWARD_FILES_DIR": str(tmp_path / "files"),
                "STEWARD_CONFIG": str(path)})
    container = build_container(db_url, clock, parse_config(text), env)    # starts: sync, then the worker
    container.cli_env = {**env, "DATABASE_URL": db_url}
    deliver_all(container, clock)
    app = create_app(container)
    app.testing = True
    yield Started(container, app.test_client(), sides, clock)
    container.engine.dispose()
    for fake in (slack, wecom, dingtalk):
        fake.stop()


def test_discovery_records_every_member_by_the_admission_policy(started):
    for platform, side in started.sides.items():
        assert started.stay(platform, side.users["bob"]).admission == "config"
        assert started.stay(platform, side.users["lead"]).admission == "staff"
        held = started.stay(platform, MEMB03[platform])
        assert held is not None and held.left_at is None and held.admission == "held"


@pytest.mark.parametrize("platform,how", [("slack", "mention"), ("wecom", "direct"), ("dingtalk", "mention"),
                                          ("dingtalk", "direct")])
def test_an_admin_warns_a_member_who_never_posted(started, platform, how):
    side = started.sides[platform]
    mark = side.mark()
    if platform == "slack":
        wire = side.slash_command(side.users["admin"], f"warn <@{MEMB03['slack']}|memb03> 刷屏")
    elif platform == "wecom":
        wire = side.app_text(side.users["admin"], f"warn {MEMB03['wecom']} 刷屏")
    elif how == "mention":
        wire = side.robot_message(side.users["admin"], "warn @Member Three 刷屏", at=(MEMB03["dingtalk"],))
    else:   # the admin's 1:1 chat with the robot: the member's user id without markup
        payload = json.loads(side.robot_payload(side.users["admin"], f"warn {MEMB03['dingtalk']} 刷屏"))
        payload.update(conversationType="1", conversationId="cidAdminDirect==", atUsers=[], isInAtList=False)
        payload.pop("conversationTitle")
        wire = side.robot_signed(json.dumps(payload, ensure_ascii=False).encode())
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    said = [str(c.args) if hasattr(c, "args") else str(c) for c in side.fake.calls[mark:]]
    assert not any("No member" in t for t in said), said
    assert any("R8.2.1" in t for t in said), said
    with started.container.sessions() as s:
        assert find_account(s, platform, MEMB03[platform]) is not None


def test_a_mention_of_a_user_steward_never_saw_is_resolved_through_the_directory(started):
    side = started.sides["slack"]
    started.sides["slack"].fake.add_user("U0NEWBIE1", name="newbie", real_name="New Bie")
    mark = side.mark()
    wire = side.slash_command(side.users["admin"], "warn <@U0NEWBIE1|newbie> 刷屏")
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    said = [str(c.args) for c in side.fake.calls[mark:]]
    assert not any("No member" in t for t in said), said
    assert any("R8.2.1" in t for t in said), said
    assert any(c.args.get("user") == "U0NEWBIE1" for c in side.fake.calls_to("users.info"))
    mark = side.mark()
    wire = side.slash_command(side.users["admin"], "warn <@U0NOBODY1|nobody> 刷屏")
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)     # the directory knows no such user: refused
    assert any("No member U0NOBODY1" in str(c.args) for c in side.fake.calls[mark:])


def test_one_person_is_linked_automatically_and_a_wecom_departure_removes_them_everywhere(started):
    with started.container.sessions() as s:
        people = {find_account(s, p, u).person_id for p, u in PAT.items()}
    assert len(people) == 1
    linked = started.audits("identity.auto_linked")
    assert {e.detail["key"] for e in linked if e.person_id in people} == {"email"}
    marks = {p: side.mark() for p, side in started.sides.items()}
    wecom = started.sides["wecom"]
    wecom.users = {**wecom.users, "pat": PAT["wecom"]}
    assert wecom.departure("pat").send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    for platform, side in started.sides.items():
        assert [r.user for r in side.removals(marks[platform])] == [PAT[platform]], platform
        assert started.stay(platform, PAT[platform]).leave_clause == "R2.4.1"


def test_two_people_sharing_an_email_are_reported_not_merged(started):
    with started.container.sessions() as s:
        a, b = (find_account(s, "slack", t).person_id for t in TWINS)
        conflicts = list(s.scalars(select(IdentityConflict)))
    assert a != b
    assert [(c.key, c.value, c.reason) for c in conflicts] == [("email", "twins@corp.example", "same_platform")]
    slack = started.sides["slack"]
    told = [p.text for p in slack.privates() if p.user == slack.users["admin"] and "twins@corp.example" in p.text]
    assert told and "steward identity conflicts" in told[0]
    assert [e.detail["reason"] for e in started.audits("identity.conflict")] == ["same_platform"]


def test_steward_identity_conflicts_lists_them_until_resolved(started):
    from click.testing import CliRunner

    from steward.cli import main

    env = started.container.cli_env
    listed = CliRunner().invoke(main, ["identity", "conflicts"], env=env, catch_exceptions=False)
    assert listed.exit_code == 1, listed.output
    [line] = [x for x in listed.output.splitlines() if x.startswith("#")]
    assert "slack:U0TWIN00" in line and "email twins@corp.example — same_platform" in line
    assert "1 open identity conflict(s)" in listed.output
    number = line.split()[0].lstrip("#")
    resolved = CliRunner().invoke(main, ["identity", "resolve", number], env=env, catch_exceptions=False)
    assert resolved.exit_code == 0, resolved.output
    again = CliRunner().invoke(main, ["identity", "conflicts"], env=env, catch_exceptions=False)
    assert again.exit_code == 0 and "0 open identity conflict(s)" in again.output
    assert started.audits("identity.conflict_resolved")


def test_a_stranger_who_joins_a_slack_channel_is_held_and_the_admins_get_the_card(started):
    side = started.sides["slack"]
    side.fake.add_user("U0STRANGE1", name="stranger", real_name="Sam Stranger", title="Contractor")
    side.fake.state.members[side.chat].add("U0STRANGE1")
    mark = side.mark()
    wire = side.event({"type": "member_joined_channel", "user": "U0STRANGE1", "channel": side.chat,
                       "channel_type": "C", "team": "T0STEWARD", "event_ts": "1764073300.000100"})
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    assert started.stay("slack", "U0STRANGE1").admission == "held"
    cards = [c for c in side.fake.calls[mark:] if c.method == "chat.postMessage"
             and "Sam Stranger" in str(c.args) and "Contractor" in str(c.args)]
    assert {c.args.get("channel") for c in cards} >= {"D" + side.users["admin"].lstrip("UW")[:10]}
    told = [p for p in side.privates(mark) if p.user == "U0STRANGE1"]
    assert told and "join in:" in told[0].text and "R2.1.3" in told[0].text
    assert [e.clause for e in started.audits("member.held") if e.detail.get("user_id") == "U0STRANGE1"] == ["R2.1.1"]


def test_a_departing_lead_flags_the_group(started):
    side = started.sides["dingtalk"]
    assert side.departure("lead").send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    flagged = started.audits("group.unattended")
    assert [(e.clause, e.detail["role"], e.detail["why"]) for e in flagged] == [("R1.3.4", "lead", "departed")]
    with started.container.sessions() as s:
        group = s.scalar(select(Group).where(Group.platform == "dingtalk"))
        assert group.unattended_since is not None


def test_a_directory_change_rechecks_the_identity(started):
    """Slack user_change: the profile is read again; the twin's own new e-mail is recorded on them, and
    one that belongs to Pat is a conflict against the link the directory made, never a merge."""
    from core.db.models import Person

    side = started.sides["slack"]
    with started.container.sessions() as s:      # the twin the shared e-mail was not recorded on
        [second] = [t for t in TWINS if s.get(Person, find_account(s, "slack", t).person_id).email is None]
    side.fake.state.users[second]["profile"]["email"] = "twin.two@corp.example"
    wire = side.event({"type": "user_change", "user": {**side.fake.state.users[second]},
                       "cache_ts": 1764073400, "event_ts": "1764073400.000100"})
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    with started.container.sessions() as s:
        assert s.get(Person, find_account(s, "slack", second).person_id).email == "twin.two@corp.example"
    side.fake.state.users[MEMB03["slack"]]["profile"]["email"] = PAT_MAIL
    wire = side.event({"type": "user_change", "user": {**side.fake.state.users[MEMB03["slack"]]},
                       "cache_ts": 1764073500, "event_ts": "1764073500.000100"})
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    with started.container.sessions() as s:
        memb03, pat = (find_account(s, "slack", u).person_id for u in (MEMB03["slack"], PAT["slack"]))
        assert memb03 != pat
        assert [c.reason for c in s.scalars(select(IdentityConflict).where(IdentityConflict.value == PAT_MAIL))] \
            == ["same_platform"]


def test_a_report_naming_a_user_steward_never_saw_is_resolved_through_the_directory(started):
    """`report @someone` finds a member Steward has not seen yet in the platform's directory, as `warn` does,
    and files the report; a name the directory does not know is told so, and nothing is filed."""
    from core.db.models import ReviewItem

    side = started.sides["slack"]
    side.fake.add_user("U0NEWBIE2", name="newbie2", real_name="New Bie")
    wire = side.slash_command(side.users["bob"], "report <@U0NEWBIE2|newbie2> R1.3.3 他说了粗话")
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    with started.container.sessions() as s:
        account = find_account(s, "slack", "U0NEWBIE2")
        [item] = s.scalars(select(ReviewItem)).all()
    assert account is not None and (item.person_id, item.kind, item.clause) == (account.person_id, "report", "R1.3.3")
    mark = side.mark()
    wire = side.slash_command(side.users["bob"], "report <@U0NOBODY2|nobody> 刷屏")
    assert wire.send(started.client).status_code == 200
    deliver_all(started.container, started.clock)
    assert any("U0NOBODY2" in str(c.args) for c in side.fake.calls[mark:])
    with started.container.sessions() as s:
        assert len(s.scalars(select(ReviewItem)).all()) == 1
