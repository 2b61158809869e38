"""Conversation quality on the sandbox, in each of the three languages: every addressed message gets
an answer, privately; nothing long is posted into the group; commands are moderated first.

Three groups, one per locale; the same people in each (alice a member, adam the admin).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.clauses import is_clause
from core.config import parse_config
from core.db.models import AuditEntry, Case
from steward.worker import drain
from tests.conftest import (
    LOCAL,  # noqa: E402  (loopback with the playground token)
    build_container,
)
from webhooks import create_app

HEAD = """
locale: en
bot_names: [steward, 管家]
templates:
  new-hire:
    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}
groups:
"""
GROUPS = {locale: f"""  - platform: sandbox
    chat_id: {chat}
    name: {name}
    kind: new-hire
    locale: {locale}
    training: onboarding-{chat}
    lead: sandbox:lily
    admins: [sandbox:adam]
    instructors: [sandbox:ian]
    members: [sandbox:alice, sandbox:bob]
""" for chat, name, locale in (("hans", "2026 Q4 新员工培训群", "zh-Hans"), ("hant", "新人培訓群", "zh-Hant"),
                               ("en", "New hires", "en"))}
CONFIG = HEAD + "".join(GROUPS.values())

CHAT = {"zh-Hans": "hans", "zh-Hant": "hant", "en": "en"}
HELP = {"zh-Hans": "帮助", "zh-Hant": "幫助", "en": "help"}
RULES = {"zh-Hans": "群规", "zh-Hant": "群規", "en": "rules"}
TYPO = {"zh-Hans": "帮组", "zh-Hant": "幫组", "en": "hlep"}
LOCALES = tuple(CHAT)


@pytest.fixture
def env(sqlite_url, clock):
    container = build_container(sqlite_url, clock, parse_config(CONFIG))
    app = create_app(container)
    app.testing = True
    yield container, app.test_client()
    container.engine.dispose()


def say(env, user, text, chat=None):
    container, client = env
    mark = container.connectors["sandbox"].transcript[-1].seq if container.connectors["sandbox"].transcript else 0
    body = {"user_id": user, "text": text, **({"chat_id": chat} if chat else {})}
    r = client.post("/sandbox/messages", json=body, environ_base=LOCAL)
    assert r.status_code == 200, r.data
    drain(container)
    return [e for e in container.connectors["sandbox"].since(mark) if e["sender"] == "steward"]


def public(out):
    return [e for e in out if e["kind"] == "message"]


def private_to(out, user):
    return [e for e in out if e["kind"] in ("ephemeral", "private") and e["to_user"] == user]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_typo_in_a_group_gets_a_private_suggestion(env, locale):
    out = say(env, "alice", f"@steward {TYPO[locale]}", chat=CHAT[locale])
    assert not public(out)
    [answer] = private_to(out, "alice")
    assert HELP[locale] in answer["text"] and TYPO[locale] in answer["text"]
    quoted = {"en": 'Did you mean "help"?', "zh-Hans": "你是想用「帮助」吗", "zh-Hant": "你是想用「幫助」嗎"}[locale]
    assert quoted in answer["text"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("mention", ["@steward", "＠steward", "@管家", "＠管家", "@Steward,"])
def test_every_way_of_addressing_steward_gets_an_answer(env, locale, mention):
    bare = say(env, "alice", mention, chat=CHAT[locale])
    assert not public(bare)
    [hello] = private_to(bare, "alice")
    assert HELP[locale] in hello["text"]
    helped = say(env, "alice", f"{mention} {HELP[locale]}", chat=CHAT[locale])
    assert not public(helped) and len(private_to(helped, "alice")) == 1


@pytest.mark.parametrize("locale", LOCALES)
def test_help_in_a_group_posts_nothing_public_and_lists_what_the_asker_may_use(env, locale):
    member = say(env, "alice", f"@steward {HELP[locale]}", chat=CHAT[locale])
    admin = say(env, "adam", f"@steward {HELP[locale]}", chat=CHAT[locale])
    assert not public(member) and not public(admin)
    [member_help], [admin_help] = private_to(member, "alice"), private_to(admin, "adam")
    first = {line.split()[0] for line in member_help["text"].splitlines()[1:-1]}
    admin_first = {line.split()[0] for line in admin_help["text"].splitlines()[1:-1]}
    warn = {"zh-Hans": "警告", "zh-Hant": "警告", "en": "warn"}[locale]
    assert HELP[locale] in first and warn not in first and warn in admin_first
    # the group's own script: no Simplified alias in a Traditional group, no Chinese in an English one
    others = {"zh-Hans": ("幫助", "記錄"), "zh-Hant": ("帮助", "记录", "布置作业"), "en": ("帮助", "幫助")}[locale]
    assert not any(word in admin_help["text"] for word in others)


@pytest.mark.parametrize("locale", LOCALES)
def test_rules_are_answered_privately_in_a_group_and_in_a_private_chat(env, locale):
    out = say(env, "alice", f"@steward {RULES[locale]}", chat=CHAT[locale])
    assert not public(out) and "R8.2.1" in private_to(out, "alice")[0]["text"]
    out = say(env, "alice", f"{RULES[locale]} in:{CHAT[locale]}")
    assert not public(out) and [e["kind"] for e in out] == ["private"]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_command_carrying_an_ad_is_moderated_first_and_opens_a_case(env, locale):
    ask = {"zh-Hans": "提问", "zh-Hant": "提問", "en": "ask"}[locale]
    out = say(env, "bob", f"@steward {ask} 加我微信 abc12345 兼职刷单日结", chat=CHAT[locale])
    container = env[0]
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
        asked = s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("training.question%"))).all()
    assert (case.category, case.clause, case.outcome_clause) == ("ads", "R8.1.2", "R8.2.1")
    assert not asked                                   # the ad did not become a question for the trainers
    assert any("R8.2.1" in e["text"] for e in public(out))   # the warning line is the one public outcome


def test_staff_quoting_evidence_in_a_command_still_runs_it(env):
    out = say(env, "adam", "@steward warn @bob R8.1.2 posted 加我微信 abc12345 兼职刷单日结", chat="en")
    assert any(e["kind"] == "message" and "bob" in e["text"] for e in out)
    with env[0].sessions() as s:
        outcomes = sorted(c.outcome for c in s.scalars(select(Case)))
    assert "warning" in outcomes


# --- every clause cited is the clause broken --------------------------------------------------------

@pytest.mark.parametrize("locale", LOCALES)
def test_a_warning_without_a_clause_cites_the_ladder_and_the_admins_reason(env, locale):
    warn = {"zh-Hans": "警告", "zh-Hant": "警告", "en": "warn"}[locale]
    out = say(env, "adam", f"@steward {warn} @bob 上课时间一直在聊游戏", chat=CHAT[locale])
    texts = [e["text"] for e in out]
    assert texts and not any("R7.1.2" in text for text in texts)
    [group_line] = public(out)
    [private] = private_to(out, "bob")
    assert "R8.2.1" in group_line["text"] and "上课时间一直在聊游戏" in private["text"]
    assert "R8.2.1" in private["text"]
    with env[0].sessions() as s:
        case = s.scalars(select(Case)).one()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "case.warning")).one()
    assert (case.clause, case.outcome_clause) == ("", "R8.2.1")
    assert "R7.1.2" not in str(entry.detail)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("cited,near", [("R9.9.9", None), ("R8.1.9", "R8.1.2"), ("r8.2", "R8.2.1")])
def test_an_unknown_clause_is_refused_with_the_nearest_valid_ids(env, locale, cited, near):
    warn = {"zh-Hans": "警告", "zh-Hant": "警告", "en": "warn"}[locale]
    out = say(env, "adam", f"@steward {warn} @bob {cited} spam", chat=CHAT[locale])
    assert not public(out)
    [refusal] = private_to(out, "adam")
    assert cited in refusal["text"] and (near is None or near in refusal["text"])
    offered = set(re.findall(r"R\d+(?:\.\d+)+", refusal["text"])) - {cited.upper()}
    assert offered and all(is_clause(c) for c in offered)
    with env[0].sessions() as s:
        assert not s.scalars(select(Case)).all()
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "command.refused")).one()


@pytest.mark.parametrize("locale,name", [("zh-Hans", "广告或推销"), ("zh-Hant", "廣告或推銷"), ("en", "ads or sales")])
def test_a_detectors_category_is_named_in_the_groups_language(env, locale, name):
    out = say(env, "bob", "加我微信 abc12345，兼职刷单日结", chat=CHAT[locale])
    [group_line] = public(out)
    [private] = private_to(out, "bob")
    assert name in group_line["text"] and name in private["text"] and "R8.1.2" in private["text"]
    if locale != "en":
        assert "ads:" not in group_line["text"] + private["text"]


MY = {"zh-Hans": "我的", "zh-Hant": "我的", "en": "my"}
BELOW = {"zh-Hans": "低于及格线", "zh-Hant": "低於及格線", "en": "below the pass mark"}
NOT_YET = {"zh-Hans": "尚未评分", "zh-Hant": "尚未評分", "en": "nothing graded yet"}


@pytest.mark.parametrize("locale", LOCALES)
def test_my_says_nothing_is_graded_before_anything_is(sqlite_url, clock, locale):
    # a 1:1 chat speaks the language of the asker's group
    container = build_container(sqlite_url, clock, parse_config(HEAD + GROUPS[locale]))
    app = create_app(container)
    out = say((container, app.test_client()), "alice", MY[locale])
    container.engine.dispose()
    text = "\n".join(e["text"] for e in out)
    assert NOT_YET[locale] in text and BELOW[locale] not in text


@pytest.mark.parametrize("locale,word", [("zh-Hans", "，或"), ("zh-Hant", "，或"), ("en", " or ")])
def test_the_honours_rule_reads_top_n_or_the_threshold(env, locale, word):
    from core.assessment.models import AssessmentScheme
    from core.assessment.schemes import describe
    from core.db.models import Training
    scheme = AssessmentScheme(version=1, components=[], pass_mark=60, honours_top=3, honours_threshold=90,
                              status="published")
    text = describe(scheme, Training(name="onboarding"), locale)
    top, threshold = text.index("3"), text.rindex("90")
    assert word in text[top:threshold]


# --- appeals decided both ways ----------------------------------------------------------------------

APPEAL = {"zh-Hans": "申诉", "zh-Hant": "申訴", "en": "appeal"}
REJECT_APPEAL = {"zh-Hans": "驳回申诉", "zh-Hant": "駁回申訴", "en": "reject-appeal"}
ACCEPT_APPEAL = {"zh-Hans": "接受申诉", "zh-Hant": "接受申訴", "en": "accept-appeal"}


def _warned_and_appealed(env, locale):
    say(env, "adam", "@steward warn @bob R8.1.2 课程群里发广告", chat=CHAT[locale])
    out = say(env, "bob", f"{APPEAL[locale]} C000001 我只是转发了公司的活动，说明：内部培训")
    assert any(e["to_user"] == "adam" and REJECT_APPEAL[locale] in e["text"] for e in out)


@pytest.mark.parametrize("locale", LOCALES)
def test_an_appeal_can_be_rejected_with_a_reason_and_the_member_is_told(env, locale):
    _warned_and_appealed(env, locale)
    out = say(env, "bob", f"{REJECT_APPEAL[locale]} C000001 我说不算")          # members cannot decide
    assert [e["to_user"] for e in out] == ["bob"]
    out = say(env, "adam", f"{REJECT_APPEAL[locale]} C000001 截图显示是外部微商广告")
    assert not public(out)
    told = private_to(out, "bob")
    assert len(told) == 1 and "截图显示是外部微商广告" in told[0]["text"] and "R8.2.1" in told[0]["text"]
    assert private_to(out, "adam")
    with env[0].sessions() as s:
        case = s.scalars(select(Case)).one()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "case.appeal_rejected")).one()
    assert case.status == "appeal_rejected" and entry.clause == "R2.3.3"
    again = say(env, "adam", f"{REJECT_APPEAL[locale]} C000001 again")
    assert [e["to_user"] for e in again] == ["adam"]      # decided once; nothing new for bob


@pytest.mark.parametrize("locale", LOCALES)
def test_an_appeal_can_be_accepted_and_the_member_is_told(env, locale):
    _warned_and_appealed(env, locale)
    out = say(env, "adam", f"{ACCEPT_APPEAL[locale]} C000001 确是公司活动")
    assert not public(out) and "确是公司活动" in private_to(out, "bob")[0]["text"]
    with env[0].sessions() as s:
        assert s.scalars(select(Case)).one().status == "revoked"


# --- members' text stored exactly as typed ----------------------------------------------------------

ASSIGN = {"zh-Hans": "布置作业", "zh-Hant": "佈置作業", "en": "assign"}
SUBMIT = {"zh-Hans": "提交作业", "zh-Hant": "提交作業", "en": "submit"}


@pytest.mark.parametrize("locale", LOCALES)
def test_full_width_punctuation_survives_in_titles_submissions_and_appeals(env, clock, locale):
    import hashlib
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from core.assessment.models import Assignment, Submission
    due = (clock.now() + timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    title = "第一周：入职总结，含案例"
    say(env, "lily", f"@steward {ASSIGN[locale]} 标题：{title} 截止：{due} 方式：文本", chat=CHAT[locale])
    typed = "总结：入职第一周，学习了制度；分析：案例一（见附件）。"
    say(env, "alice", f"{SUBMIT[locale]} 1 {typed}")
    _warned_and_appealed(env, locale)
    with env[0].sessions() as s:
        assert s.scalars(select(Assignment)).one().title == title
        sub = s.scalars(select(Submission)).one()
        appeal = s.scalars(select(Case)).one().appeal_text
    assert sub.content == typed and sub.checksum == hashlib.sha256(typed.encode("utf-8")).hexdigest()
    assert appeal == "我只是转发了公司的活动，说明：内部培训"
