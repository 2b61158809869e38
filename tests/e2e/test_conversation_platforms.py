"""Conversation quality on the real wire formats (Slack, DingTalk, WeCom's AI bot and app), in each of the
three languages: a typo addressed to Steward in a group gets a private suggestion, `help` posts nothing
in the group, `＠管家` addresses Steward where the platform has no markup for it, and a command carrying
an ad opens a case instead of running."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.config import parse_config
from core.db.models import Case
from tests.conftest import build_container
from tests.e2e.platform_support import DingTalkSide, SlackSide, WeComSide, deliver_all, group_yaml
from tests.e2e.test_wecom_aibot_e2e import BOT_CHAT, AibotSide
from tests.fakes.dingtalk_api import FakeDingTalk
from tests.fakes.slack_api import BOT_USER_ID, FakeSlack
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app

HELP = {"zh-Hans": "帮助", "zh-Hant": "幫助", "en": "help"}
TYPO = {"zh-Hans": "帮组", "zh-Hant": "幫组", "en": "hlep"}
ASK = {"zh-Hans": "提问", "zh-Hant": "提問", "en": "ask"}
LOCALES = tuple(HELP)
AD = "加我微信 abc12345 兼职刷单日结"


def config(side, locale: str, extra: str = ""):
    return parse_config(f"locale: {locale}\n"
                        "templates:\n"
                        "  new-hire:\n"
                        "    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}\n"
                        "groups:\n" + group_yaml(side, "onboarding-2026q4") + extra + "\n")


class Slack:
    """Slack: the bot's mention markup; private answers are ephemeral in the channel."""
    def __init__(self, clock):
        self.fake = FakeSlack().__enter__()
        self.side = SlackSide(clock, self.fake)

    def addressed(self, member, text):
        return self.side.channel_message(self.side.users[member], f"<@{BOT_USER_ID}> {text}")

    def plain(self, member, text):
        return self.side.channel_message(self.side.users[member], text)

    def privately(self, mark, member):
        calls = [c for c in self.fake.calls[mark:] if c.method == "chat.postEphemeral"]
        return [c.args["text"] for c in calls if c.args.get("user") == self.side.users[member]]

    def in_group(self, mark):
        return [c.args.get("text", "") for c in self.fake.calls[mark:]
                if c.method == "chat.postMessage" and c.args.get("channel") == self.side.chat]

    def close(self):
        self.fake.__exit__(None, None, None)


class DingTalk:
    """DingTalk: the robot hears only @-mentions in groups (isInAtList) and answers privately 1:1."""
    def __init__(self, clock):
        self.fake = FakeDingTalk().__enter__()
        self.side = DingTalkSide(clock, self.fake)

    def addressed(self, member, text):
        return self.side.robot_message(self.side.users[member], text)

    def privately(self, mark, member):
        return [s.text for s in self.side.privates(mark) if s.user == self.side.users[member]]

    def in_group(self, mark):
        return [s.text for s in self.side.posts(mark)]

    def close(self):
        self.fake.__exit__(None, None, None)


class WeComAibot:
    """WeCom's AI bot in a group: only @-mentions arrive; private answers through the app's message/send."""
    extra = f"\n    aibot_chat_id: {BOT_CHAT}"

    def __init__(self, clock):
        self.fake = FakeWeCom().__enter__()
        self.side = AibotSide(clock, self.fake)

    def env(self):
        return self.fake.aibot_env(WECOM_AIBOT_NAME="Steward")

    def addressed(self, member, text):
        return self.side.mention(member, f"@Steward {text}")

    def privately(self, mark, member):
        return [s.text for s in self.side.privates(mark) if s.user == self.side.users[member]]

    def in_group(self, mark):
        return [s.text for s in self.side.posts(mark)] + [str(r) for r in self.fake.aibot_replies]

    def close(self):
        self.fake.__exit__(None, None, None)


PLATFORMS = {"slack": Slack, "dingtalk": DingTalk, "wecom-aibot": WeComAibot}


@pytest.fixture(params=list(PLATFORMS))
def platform(request, clock):
    p = PLATFORMS[request.param](clock)
    yield p
    p.close()


@pytest.fixture(params=LOCALES)
def deployment(request, sqlite_url, clock, platform):
    locale = request.param
    env = platform.env() if hasattr(platform, "env") else platform.side.env()
    container = build_container(sqlite_url, clock, config(platform.side, locale, getattr(platform, "extra", "")), env)
    yield container, create_app(container).test_client(), locale
    container.engine.dispose()


def send(deployment, clock, wire):
    container, client, _ = deployment
    assert wire.send(client).status_code == 200
    deliver_all(container, clock)


def test_a_typo_in_a_group_gets_a_private_suggestion(deployment, platform, clock):
    locale = deployment[2]
    mark = len(platform.fake.calls)
    send(deployment, clock, platform.addressed("bob", TYPO[locale]))
    [answer] = platform.privately(mark, "bob")
    assert HELP[locale] in answer and TYPO[locale] in answer
    assert platform.in_group(mark) == []


def test_help_in_a_group_posts_nothing_public(deployment, platform, clock):
    locale = deployment[2]
    mark = len(platform.fake.calls)
    send(deployment, clock, platform.addressed("bob", HELP[locale]))
    [answer] = platform.privately(mark, "bob")
    assert ASK[locale] in answer and platform.in_group(mark) == []


def test_a_command_carrying_an_ad_opens_a_case(deployment, platform, clock):
    locale = deployment[2]
    send(deployment, clock, platform.addressed("carol", f"{ASK[locale]} {AD}"))
    with deployment[0].sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert (case.category, case.clause, case.outcome_clause) == ("ads", "R8.1.2", "R8.2.1")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", ["＠管家", "@管家", "＠steward"])
def test_on_slack_a_typed_name_addresses_steward(sqlite_url, clock, locale, name):
    """Slack delivers every channel message; a name typed without Slack's mention markup still counts."""
    slack = Slack(clock)
    try:
        container = build_container(sqlite_url, clock, config(slack.side, locale), slack.side.env())
        deployment = (container, create_app(container).test_client(), locale)
        mark = len(slack.fake.calls)
        send(deployment, clock, slack.plain("bob", f"{name} {HELP[locale]}"))
        assert len(slack.privately(mark, "bob")) == 1 and slack.in_group(mark) == []
        container.engine.dispose()
    finally:
        slack.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_wecom_app_chat_typo_gets_a_suggestion(sqlite_url, clock, locale):
    with FakeWeCom() as fake:
        side = WeComSide(clock, fake)
        container = build_container(sqlite_url, clock, config(side, locale), side.env())
        client = create_app(container).test_client()
        assert side.app_text(side.users["bob"], TYPO[locale]).send(client).status_code == 200
        deliver_all(container, clock)
        [answer] = [s.text for s in side.privates() if s.user == side.users["bob"]]
        assert HELP[locale] in answer and side.posts() == []
        container.engine.dispose()
