"""The Moderator facade: verdict fields, severity policy, nudges, and a platform-neutral core that
does no work at import."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from core.moderation import CLAUSES, MemoryRecentMessages, ModerationSettings, Moderator, NoRecentMessages, Verdict

from .conftest import T0, check


def test_verdict_carries_everything_the_ladder_needs(moderator) -> None:
    text = "大家好，加我 V 信 zhang_888 了解课程优惠"
    verdicts = check(moderator, text)
    assert {v.category for v in verdicts} == {"ads"}
    contact = next(v for v in verdicts if v.detector == "contact")
    assert contact.clause == "R8.1.2"
    assert contact.rule == "ads: contact offer (WeChat id)"
    assert text[contact.span[0]:contact.span[1]] == "zhang_888"
    assert "zhang_888" in contact.evidence
    assert contact.severity == "normal" and not contact.nudge and not contact.delete
    assert isinstance(contact, Verdict)
    assert json.loads(json.dumps(contact.to_dict()))["span"] == list(contact.span)


def test_spans_point_into_the_original_text(moderator) -> None:
    text = "請加 Ｖ 信：abc_123，謝謝"
    lexicon = next(v for v in check(moderator, text) if v.detector == "lexicon")
    assert text[lexicon.span[0]:lexicon.span[1]] == "加 Ｖ 信"


def test_severe_first_then_by_position(moderator) -> None:
    verdicts = check(moderator, "傻逼，我的身份证 110101199003071233")
    assert [v.category for v in verdicts] == ["dlp", "insult"]
    assert verdicts[0].severity == "severe" and verdicts[0].delete


def test_every_clause_is_in_the_regulation() -> None:
    assert CLAUSES == {"insult": "R1.3.3", "discrimination": "R1.3.3", "ads": "R8.1.2",
                       "illegal": "R8.1.1", "dlp": "R8.1.4", "flood": "R8.1.3",
                       "offtopic": "R4.2.1", "long": "R4.2.2"}


def test_severity_overrides() -> None:
    m = Moderator(ModerationSettings(severity_overrides={"ads": "severe", "dlp.id_card": "normal",
                                                         "insult.lexicon": "severe"},
                                     severe_categories=()), NoRecentMessages())
    sev = {v.detector + ":" + v.category: v.severity
           for v in m.check("傻逼 加我微信 abc_123 身份证 110101199003071233 代开发票",
                            sender="U", chat="C", at=T0)}
    assert sev["lexicon:ads"] == "severe" and sev["contact:ads"] == "severe"
    assert sev["dlp.id_card:dlp"] == "normal"
    assert sev["lexicon:insult"] == "severe"
    assert sev["lexicon:illegal"] == "normal"        # severe_categories emptied


@pytest.mark.parametrize("kw, message", [
    ({"severity_overrides": {"ads": "loud"}}, "not one of"),
    ({"severity_overrides": {"spam": "severe"}}, "names no category"),
    ({"severe_categories": ("spam",)}, "unknown category"),
    ({"flood_max_messages": 0}, "positive"),
    ({"long_message_chars": 0}, "positive"),
])
def test_settings_fail_loudly(kw, message) -> None:
    with pytest.raises(ValueError, match=message):
        ModerationSettings(**kw)


def test_nudges_are_off_by_default(moderator) -> None:
    assert check(moderator, "今晚王者荣耀开黑吗") == []
    assert check(moderator, "很长" * 500) == []


def test_nudges_are_rate_limited_and_never_on_the_ladder() -> None:
    m = Moderator(ModerationSettings(offtopic_nudges=True, long_message_chars=200,
                                     nudge_interval_seconds=3600), MemoryRecentMessages())
    (v,) = m.check("今晚王者荣耀开黑吗", sender="U", chat="C", at=T0)
    assert (v.category, v.clause, v.detector, v.nudge) == ("offtopic", "R4.2.1", "nudge.offtopic",
                                                          True)
    assert m.check("周末开黑吗", sender="U", chat="C", at=T0 + timedelta(minutes=5)) == []
    assert m.check("周末开黑吗", sender="U2", chat="C", at=T0 + timedelta(minutes=5))
    assert m.check("开黑", sender="U", chat="C", at=T0 + timedelta(hours=2))
    (v,) = m.check("作业说明：" + "要点" * 150, sender="U", chat="C", at=T0)
    assert (v.category, v.clause, v.nudge, v.severity) == ("long", "R4.2.2", True, "normal")
    assert m.check("作业说明：" + "要点" * 150, sender="U", chat="C",
                   at=T0 + timedelta(minutes=1)) == []


def test_ordinary_messages_give_no_verdicts(moderator) -> None:
    for text in ("", "   ", "👍", "收到", "Thanks!", "明天 9:00 301 会议室见"):
        assert check(moderator, text) == [], text


def test_core_is_platform_neutral_and_does_no_work_at_import() -> None:
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import core.moderation\n"
        "elapsed = time.perf_counter() - t\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'slack_sdk', 'slack_bolt', 'wechatpy', 'dingtalk', 'dingtalk_stream', "
        "'connectors', 'webhooks', 'sqlalchemy', 'ahocorasick', 'ahocorasick_rs', 'opencc')]\n"
        "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_moderators_with_the_same_lexicon_share_the_automaton() -> None:
    a = Moderator(ModerationSettings(company_domains=("a.com",)), NoRecentMessages())
    b = Moderator(ModerationSettings(company_domains=("b.com",)), NoRecentMessages())
    c = Moderator(ModerationSettings(extra_terms={"ads": ["团建套餐"]}), NoRecentMessages())
    assert a._matcher is b._matcher and a._matcher is not c._matcher


def test_the_most_severe_hit_of_a_kind_is_kept(moderator) -> None:
    (v,) = [v for v in check(moderator, "傻逼，再说我弄死你") if v.category == "insult"]
    assert v.severity == "severe" and "弄死你" in v.rule
