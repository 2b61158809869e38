"""Slack markup in and out: mentions to `<@U…>`, the bot's mention removed, outbound escaping."""
from __future__ import annotations

import pytest

from connectors.slack.mrkdwn import escape, to_neutral


@pytest.mark.parametrize("raw,text,mentions,bot", [
    ("<@U0STEWARD> help", "help", (), True),
    ("help <@U0STEWARD>", "help", (), True),
    ("please <@U0STEWARD>  check", "please check", (), True),
    ("<@U1|li.lei> and <@W2> and <@U1>", "<@U1> and <@W2> and <@U1>", ("U1", "W2"), False),
    ("<!channel> <!everyone> <!here|here>", "@channel @everyone @here", (), False),
    ("<!subteam^S0TRAIN|@trainers> ping", "@trainers ping", (), False),
    ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014", (), False),
    ("<#C0TRAIN02|skills> <#C0TRAIN03>", "#skills #C0TRAIN03", (), False),
    ("<mailto:hr@example.com|hr@example.com>", "hr@example.com", (), False),
    ("&lt;@U9&gt; typed by hand", "<@U9> typed by hand", (), False),
    ("&amp;lt; stays literal", "&lt; stays literal", (), False),
    ("", "", (), False),
])
def test_to_neutral(raw, text, mentions, bot):
    neutral = to_neutral(raw, "U0STEWARD")
    assert (neutral.text, neutral.mentions, neutral.mentions_bot) == (text, mentions, bot)


def test_links_are_kept_as_text_and_flagged():
    neutral = to_neutral("see <https://a.example/x?y=1&amp;z=2|the doc> and <https://b.example>")
    assert neutral.text == "see the doc (https://a.example/x?y=1&z=2) and https://b.example"
    assert neutral.has_link is True


def test_without_a_known_bot_id_no_mention_is_removed():
    assert to_neutral("<@U0STEWARD> hi").text == "<@U0STEWARD> hi"


@pytest.mark.parametrize("core,slack", [
    ("warned <@U0MEMBER1> under R8.2.1", "warned <@U0MEMBER1> under R8.2.1"),
    ("<!channel> & <https://x|y>", "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"),
    ("a<@U1>b<@not-an-id>", "a<@U1>b&lt;@not-an-id&gt;"),
])
def test_escape(core, slack):
    assert escape(core) == slack
