"""group_members on Slack: conversations.members through slack_sdk against the fake, every cursor page,
the bot itself left out; errors map like deliveries."""
from __future__ import annotations

import pytest

from connectors.slack import members
from core.errors import PermanentDeliveryError, RetryableDeliveryError
from tests.fakes.slack_api import BOT_USER_ID

CHANNEL = "C0TRAIN01"


def test_every_page_is_read_and_the_bot_left_out(live, fake_slack, monkeypatch):
    monkeypatch.setattr(members, "PAGE", 2)          # five people and the bot: three pages
    people = [f"U0MEMBER{i}" for i in range(5)]
    fake_slack.add_channel(CHANNEL, BOT_USER_ID, *people)
    assert sorted(live.group_members(CHANNEL)) == people
    pages = fake_slack.calls_to("conversations.members")
    assert [str(c.args.get("limit")) for c in pages] == ["2"] * 3
    assert "cursor" not in pages[0].args and all(c.args.get("cursor") for c in pages[1:])
    assert len(fake_slack.calls_to("auth.test")) == 1
    live.group_members(CHANNEL)
    assert len(fake_slack.calls_to("auth.test")) == 1              # the bot's id is asked once


def test_capability_is_declared(live):
    assert live.capabilities.list_members


def test_unknown_channel_and_rate_limit(live, fake_slack):
    with pytest.raises(PermanentDeliveryError) as refused:
        live.group_members("C0NOSUCH")
    assert refused.value.code == "channel_not_found"
    fake_slack.add_channel(CHANNEL, BOT_USER_ID, "U0MEMBER1")
    fake_slack.fail_next("conversations.members", status=429, retry_after=30)
    with pytest.raises(RetryableDeliveryError) as throttled:
        live.group_members(CHANNEL)
    assert throttled.value.retry_after == 30
