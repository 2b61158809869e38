"""Conversation quality on the sandbox, in each of the three languages: every addressed message gets
an answer, privately; nothing long is posted into the group; commands are moderated first.

Three groups, one per locale; the same people in each (alice a member, adam the admin).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.config import parse_config
from core.db.models import AuditEntry, Case
from steward.worker import drain
from tests.conftest import build_container
from webhooks import create_app

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}

CONFIG = """
locale: en
bot_names: [steward, 管家]
templates:
  new-hire:
    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}
groups:
""" + "".join(f"""  - platform: sandbox
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
                               ("en", "New hires", "en")))

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
