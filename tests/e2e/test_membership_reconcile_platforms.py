"""`steward reconcile` on Slack, WeCom and DingTalk, through each platform's fake Web API (real SDK clients).

Each group holds someone added by hand, misses someone Steward recorded who left by themselves and still
holds someone who
left the organisation and was put back by hand. The dry run (the default) reports exactly that and changes
nothing; `--fix` records and flags the stranger to the admins (R7.1.1), closes the missing member's stay
(R7.1.1) and removes the departed person through the outbox (R2.4.1); a second run finds nothing. Bad input:
an unknown group, a platform that cannot list members, an API error (reported, nothing changed), and a
rate limit that is waited out.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.config import parse_config
from core.db.models import AuditEntry, Membership, OutboxItem
from core.kernel.directory import account_for, find_account, group_for, join
from steward.cli import main
from tests.conftest import build_container
from tests.e2e.platform_support import DingTalkSide, SlackSide, WeComSide, deliver_all, group_yaml
from tests.fakes.dingtalk_api import FakeDingTalk
from tests.fakes.slack_api import FakeSlack
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app

STRANGER = {"slack": "U0STRANGE1", "wecom": "strangerwu", "dingtalk": "u_stranger"}
LEAVER = {"slack": "U0ERIN0001", "wecom": "erinwu", "dingtalk": "u_erin"}
SANDBOX_GROUP = """  - platform: sandbox
    chat_id: sandbox-hires
    name: Sandbox new hires
    kind: new-hire
    lead: sandbox:lily
    admins: [sandbox:adam]"""


def config_text(sides, membership: str = "") -> str:
    return ("locale: en\n"
            "groups:\n" + "\n".join(group_yaml(side, "onboarding") for side in sides) + "\n" + SANDBOX_GROUP + "\n"
            + membership)


class Deployment:
    def __init__(self, container, client, sides, env, clock):
        self.container, self.client, self.sides, self.env, self.clock = container, client, sides, env, clock

    def cli(self, *args: str):
        """The command in its own process's shape (its own container, the real clock); the test's clock
        then catches up, so what the command queued is due for the test's worker."""
        result = CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)
        self.clock.set(max(self.clock.now(), datetime.now(timezone.utc) + timedelta(seconds=1)))
        return result

    def counts(self) -> tuple[int, int, int]:
        with self.container.sessions() as s:
            return tuple(s.scalar(select(func.count()).select_from(m)) for m in (AuditEntry, OutboxItem, Membership))

    def clauses(self, action: str) -> list[str]:
        with self.container.sessions() as s:
            return list(s.scalars(select(AuditEntry.clause).where(AuditEntry.action == action)))


def deployment(tmp_path, db_url, clock, membership: str = ""):
    slack, wecom, dingtalk = FakeSlack().start(), FakeWeCom().start(), FakeDingTalk().start()
    sides = {"slack": SlackSide(clock, slack), "wecom": WeComSide(clock, wecom),
             "dingtalk": DingTalkSide(clock, dingtalk)}
    text = config_text(sides.values(), membership)
    path = tmp_path / "steward.yaml"
    path.write_text(text, encoding="utf-8")
    env = {key: value for side in sides.values() for key, value in side.env().items()}
    env.update({"STEWARD_CONFIG": str(path), "STEWARD_LOG_LEVEL": "ERROR",
                "STEWARD_FILES_DIR": str(tmp_path / "files")})
    container = build_container(db_url, clock, parse_config(text), env)
    app = create_app(container)
    app.testing = True
    return (Deployment(container, app.test_client(), sides, {**env, "DATABASE_URL": db_url}, clock),
            (slack, wecom, dingtalk))


@pytest.fixture
def d(tmp_path, db_url, clock):
    made, fakes = deployment(tmp_path, db_url, clock)
    yield made
    made.container.engine.dispose()
    for fake in fakes:
        fake.stop()


def put(side, user_id: str) -> None:
    """Someone adds a person to the group by hand, in the messenger itself."""
    if side.platform == "slack":
        side.fake.state.members[side.chat].add(user_id)
    elif side.platform == "wecom":
        side.fake.add_user(user_id)
        side.fake.chats[side.chat].userlist.append(user_id)
    else:
        side.fake.groups[side.chat].members.append(user_id)


def recorded_but_gone(d, side, user_id: str) -> None:
    """Steward admitted someone who has since left the group by themselves (no event reached Steward)."""
    with d.container.sessions.begin() as s:
        group = group_for(s, side.platform, side.chat)
        join(s, account_for(s, side.platform, user_id, d.clock.now()), group, d.clock.now(), reason="test")


def arrange(d, clock, platform: str):
    side = d.sides[platform]
    response = side.departure("dave").send(d.client)               # dave leaves the organisation (R2.4.1)
    assert response.status_code == 200
    deliver_all(d.container, clock)
    assert side.users["dave"] not in side.members_now()
    put(side, side.users["dave"])                                    # ... and is put back by hand
    put(side, STRANGER[platform])                                    # a stranger is added by hand
    recorded_but_gone(d, side, LEAVER[platform])                     # erin left by herself
    return side


@pytest.mark.parametrize("platform", ["slack", "wecom", "dingtalk"])
def test_dry_run_reports_and_fix_acts(d, clock, platform):
    side = arrange(d, clock, platform)
    before = d.counts()
    dry = d.cli("reconcile", "--platform", platform)
    assert dry.exit_code == 0, dry.output
    stranger, erin, dave = STRANGER[platform], LEAVER[platform], side.users["dave"]
    assert f"{platform}:{side.chat}:" in dry.output
    assert f"{stranger}: not admitted: would hold for the admins and the lead (R2.1.1)" in dry.output
    assert f"{erin}: would close the stay (gone from the group, R7.1.1)" in dry.output
    assert f"{dave}: would remove (left the organisation, R2.4.1)" in dry.output
    assert "1 group(s) reconciled, 0 skipped, 0 failed — nothing was changed" in dry.output
    assert d.counts() == before

    mark = side.mark()
    fixed = d.cli("reconcile", "--platform", platform, "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert f"{dave}: removed (left the organisation, R2.4.1)" in fixed.output
    deliver_all(d.container, clock)
    assert [r.user for r in side.removals(mark)] == [dave]
    assert dave not in side.members_now()
    told = [p for p in side.privates(mark) if p.user == side.users["admin"]]
    assert told and stranger in told[0].text and "R2.1.1" in told[0].text and "R2.4.1" in told[0].text
    assert d.clauses("member.held") == ["R2.1.1"]
    assert d.clauses("member.departed_removed") == ["R2.4.1"]
    with d.container.sessions() as s:
        erin_id = find_account(s, platform, erin).person_id
        assert s.scalar(select(Membership.leave_clause).where(Membership.person_id == erin_id)) == "R7.1.1"
        assert find_account(s, platform, stranger) is not None

    again = d.cli("reconcile", "--platform", platform, "--fix")
    assert again.exit_code == 0 and f"{platform}:{side.chat}: matches the records" in again.output


def test_the_remove_policy_takes_strangers_out(tmp_path, db_url, clock):
    made, fakes = deployment(tmp_path, db_url, clock, "membership:\n  unadmitted: remove\n")
    try:
        side = made.sides["wecom"]
        put(side, STRANGER["wecom"])
        mark = side.mark()
        result = made.cli("reconcile", "--group", f"wecom:{side.chat}", "--fix")
        assert result.exit_code == 0, result.output
        assert f"{STRANGER['wecom']}: not admitted: removed (R2.1.1)" in result.output
        deliver_all(made.container, clock)
        assert STRANGER["wecom"] not in side.members_now()
        assert [r.user for r in side.removals(mark)] == [STRANGER["wecom"]]
        assert made.clauses("member.unadmitted_removed") == ["R2.1.1"]
    finally:
        made.container.engine.dispose()
        for fake in fakes:
            fake.stop()


def test_a_whole_run_skips_what_cannot_be_listed(d):
    result = d.cli("reconcile")
    assert result.exit_code == 0, result.output
    assert "sandbox:sandbox-hires: skipped — the sandbox connector cannot list a group's members" in result.output
    assert "3 group(s) reconciled, 1 skipped, 0 failed" in result.output


def test_bad_input(d):
    before = d.counts()
    unknown = d.cli("reconcile", "--group", "wecom:wrNOSUCH")
    assert unknown.exit_code == 1 and "no governed group wecom:wrNOSUCH" in unknown.output
    cannot = d.cli("reconcile", "--platform", "sandbox")
    assert cannot.exit_code == 1 and "cannot list a group's members" in cannot.output
    both = d.cli("reconcile", "--fix", "--dry-run")
    assert both.exit_code == 1 and "exclude each other" in both.output
    assert d.counts() == before


@pytest.mark.parametrize("platform", ["slack", "wecom", "dingtalk"])
def test_an_api_error_is_reported_and_nothing_changes(d, platform):
    side = d.sides[platform]
    put(side, STRANGER[platform])
    if platform == "slack":
        side.fake.fail_next("conversations.members", "missing_scope")
    elif platform == "wecom":
        side.fake.fail("appchat/get", errcode=48002)                # no API permission
    else:
        side.fake.error("/v1.0/im/sceneGroups/members/batchQuery", 400, "groupTemplatePermissionDenied")
    before = d.counts()
    result = d.cli("reconcile", "--platform", platform, "--fix")
    assert result.exit_code == 1
    assert f"{platform}:{side.chat}: ERROR" in result.output and "nothing was changed" in result.output
    assert "0 group(s) reconciled, 0 skipped, 1 failed" in result.output
    assert d.counts() == before


def test_a_rate_limit_is_waited_out(d):
    side = d.sides["slack"]
    side.fake.fail_next("conversations.members", status=429, retry_after=2)
    result = d.cli("reconcile", "--platform", "slack")
    assert result.exit_code == 0, result.output
    assert "waited 2 s for the platform's rate limit" in result.output
    assert len(side.fake.calls_to("conversations.members")) == 2 + 1    # + the start-up's discovery


def test_the_worker_reconciles_every_period_without_anyone_asking(d, clock):
    """Issue 5's scheduled job: the worker reconciles each group whose platform lists members once per
    `membership.reconcile_every_hours` (24): a stranger added by hand on Slack is held and flagged to
    the admins (R2.1.1), and the next period's run is scheduled."""
    from core.db.models import ScheduledJob
    from steward import reconcile_run
    from steward.worker import drain

    side = d.sides["slack"]
    put(side, STRANGER["slack"])
    reconcile_run.ensure_scheduled(d.container)
    reconcile_run.ensure_scheduled(d.container)            # a second worker starting: still one job
    with d.container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ScheduledJob).where(
            ScheduledJob.kind == reconcile_run.JOB)) == 1
    mark = side.mark()
    drain(d.container)
    assert d.clauses("member.held") == []                    # not due yet
    clock.advance(hours=24, seconds=1)
    drain(d.container)                                        # runs the job; the reconciliation follows its commit
    ran_at = clock.now()
    deliver_all(d.container, clock)
    assert d.clauses("member.held") == ["R2.1.1"]
    told = [p for p in side.privates(mark) if p.user == side.users["admin"]]
    assert told and STRANGER["slack"] in told[0].text
    with d.container.sessions() as s:
        pending = s.scalars(select(ScheduledJob.due_at).where(ScheduledJob.kind == reconcile_run.JOB,
                                                              ScheduledJob.status == "pending")).all()
    assert pending == [ran_at + timedelta(hours=24)]
