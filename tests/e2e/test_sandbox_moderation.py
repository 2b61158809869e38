"""Moderation end to end through the sandbox: the detectors' verdicts climb the ladder with their clause."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, Case, OutboxItem
from tests.conftest import build_container
from tests.e2e.test_sandbox_ladder import say, steward_said
from webhooks import create_app


def cases(container):
    with container.sessions() as s:
        return s.scalars(select(Case).order_by(Case.id)).all()


def test_an_ad_warns_then_removes(client, container):
    say(client, container, "bob", "加 我 微 信 zhang_888，课程资料免费送")
    [case] = cases(container)
    assert (case.category, case.clause, case.outcome, case.outcome_clause) == ("ads", "R8.1.2", "warning", "R8.2.1")
    assert case.decided_by.startswith("detector:")
    out = steward_said(container)
    assert "R8.2.1" in out[0]["text"] and "R8.1.2" in out[1]["text"] and out[1]["to_user"] == "bob"

    say(client, container, "bob", "兼职刷单，日结工资，有意私聊")
    assert [c.outcome for c in cases(container)] == ["warning", "removal"]
    assert "removed" in [e["kind"] for e in steward_said(container)]


def test_traditional_insult_is_caught(client, container):
    say(client, container, "alice", "你是白癡嗎，講幾次了還不懂")
    [case] = cases(container)
    assert (case.category, case.clause) == ("insult", "R1.3.3")


def test_personal_data_is_redacted_and_the_message_deleted(client, container):
    say(client, container, "alice", "我的身份证号是 110105198503136671，麻烦 HR 帮我登记一下", id="idcard")
    [case] = cases(container)
    assert case.category == "dlp" and case.clause in ("R8.1.4", "R3.3.1")
    assert "110105198503136671" not in case.evidence
    assert "deleted" in [e["kind"] for e in steward_said(container)]
    with container.sessions() as s:
        details = [e.detail for e in s.scalars(select(AuditEntry).where(AuditEntry.case_number == case.number))]
    assert all("110105198503136671" not in str(d) for d in details)


def test_ordinary_training_talk_is_left_alone(client, container):
    for text in ("今天加班吗？作业几点交", "请把身份证复印件交给 HR", "推荐一本书：《高效能人士的七个习惯》",
                 "我的手机号换了，请 HR 更新", "The session moves to room 3B at 2pm"):
        say(client, container, "alice", text)
    assert cases(container) == []
    assert steward_said(container) == []


def test_staff_are_exempt_from_automated_discipline(client, container):
    say(client, container, "ian", "加我微信 zhang_888，课程资料免费送")
    [case] = cases(container)
    assert case.outcome == "exempt"
    assert steward_said(container) == []


def test_on_wecom_the_admins_are_told_instead_of_deleting(sqlite_url, clock, sandbox_config):
    container = build_container(sqlite_url, clock, sandbox_config, {"STEWARD_SANDBOX_EMULATE": "wecom"})
    app = create_app(container)
    client = app.test_client()
    say(client, container, "alice", "@steward 工资卡号 6222023518190937860，开户行工商银行")
    out = steward_said(container)
    assert not [e for e in out if e["kind"] == "deleted"]
    told = [e for e in out if e["kind"] == "private" and e["to_user"] == "adam"]
    assert told and "6222023518190937860" not in told[0]["text"]
    # and on WeCom a plain group message never reaches Steward at all
    say(client, container, "bob", "加我微信 zhang_888")
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_nudges_are_off_by_default(client, container):
    say(client, container, "alice", "x" * 3000)
    assert cases(container) == []
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxItem)) == 0


def test_lexicon_from_steward_yaml_extends_the_builtin_one(sqlite_url, clock):
    from core.config import parse_config
    from tests.conftest import SANDBOX_CONFIG

    config = parse_config(SANDBOX_CONFIG + "lexicon:\n  ads: [\"星辰会员卡\"]\n")
    container = build_container(sqlite_url, clock, config)
    client = create_app(container).test_client()
    say(client, container, "bob", "办一张星辰会员卡吧")
    assert [c.category for c in cases(container)] == ["ads"]


def test_admins_edit_the_lexicon_in_the_chat(client, container):
    say(client, container, "adam", "lexicon add ads 星辰会员卡", chat=None)
    assert "星辰会员卡" in steward_said(container)[-1]["text"]
    container.ctx.detectors.invalidate()
    say(client, container, "bob", "办一张星辰会员卡吧")
    assert [c.category for c in cases(container)] == ["ads"]

    say(client, container, "adam", "词库 删除 ads 星辰会员卡", chat=None)
    say(client, container, "alice", "星辰会员卡还能用吗")
    assert len(cases(container)) == 1

    say(client, container, "adam", "lexicon list ads", chat=None)
    assert "ads" in steward_said(container)[-1]["text"]
    say(client, container, "bob", "lexicon add ads anything", chat=None)
    assert "may not" in steward_said(container)[-1]["text"]
    say(client, container, "adam", "lexicon add nonsense x", chat=None)
    assert "Usage" in steward_said(container)[-1]["text"]
    with container.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.action.like("lexicon.%")))]
    assert actions == ["lexicon.add", "lexicon.remove"]


def test_flood_is_counted_across_web_processes_with_redis(sqlite_url, clock, sandbox_config):
    """Two web processes (two containers on one database) share flood counting through Redis (R8.1.3)."""
    import os
    import uuid

    redis_url = os.environ.get("STEWARD_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("Redis not available: set STEWARD_TEST_REDIS_URL (CI does)")
    import redis as redis_client
    redis_client.Redis.from_url(redis_url).flushdb()
    env = {"STEWARD_REDIS_URL": redis_url}
    web = [build_container(sqlite_url, clock, sandbox_config, env) for _ in range(2)]
    clients = [create_app(c).test_client() for c in web]
    for n in range(10):
        clock.advance(seconds=1)
        say(clients[n % 2], web[n % 2], "bob", f"第{n}条：大家看这里 {uuid.uuid4().hex[:6]}")
    assert [c.category for c in cases(web[0])] == ["flood"]
    assert cases(web[0])[0].clause == "R8.1.3"
