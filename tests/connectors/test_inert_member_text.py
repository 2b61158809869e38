"""Member text is inert wherever Steward shows it (issue 12, finding 4): quoted on a card or in a message, a
member's words never become a link, a button, a mention or markup, on any messenger. The core quotes them as
plain text (`t()` turns a member's `<@id>` into `@id`); each connector escapes for its own markup."""
from __future__ import annotations

import json
import re

import pytest

from connectors.dingtalk import translate as dingtalk
from connectors.dingtalk.cards import read_click
from connectors.markup import inert_markdown
from connectors.slack import translate as slack
from connectors.wecom import translate as wecom
from core.actions import Button, PostCard, PostMessage, SendPrivate
from core.i18n import Mention, t

APPROVE = "dtmd://dingtalkclient/sendMessage?content=%23steward%20case.approve%20C000001"
HOSTILE = [
    f"[Approve]({APPROVE})",
    f"please [Approve](https://evil.example/x) or ![x]({APPROVE}) or <{APPROVE}>",
    f"raw {APPROVE}",
    "<a href=\"https://evil.example\">Approve</a> <font color=\"warning\">urgent</font>",
    "<@U0LEAD> <!channel> <!here> <https://evil.example|Approve> &lt;b&gt;",
    "# Steward\n> quoted\n[Approve](javascript:alert(1))",
    "<@lily> <@wecom_admin> [确认](dtmd://dingtalkclient/sendMessage?content=%23steward%20warn)",
]
BUTTONS = (Button("Approve", "case.approve", "C000001", "primary"), Button("Reject", "case.reject", "C000001"))


def card(text: str, **target) -> PostCard:
    return PostCard("x", title=f"Case C000001: {text[:20]}", text=f"Reported message: {text}", buttons=BUTTONS,
                    **(target or {"user_id": "lead"}))


# --- DingTalk: markdown cards (sampleMarkdown) with dtmd button links ---------------------------------------

def dingtalk_markdown(action) -> str:
    request = dingtalk.translate(action, "robot", lambda _: None, lambda _: None)
    return json.loads(request.body["msgParam"])["text"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_dingtalk_cards_carry_only_steward_links(hostile):
    text = dingtalk_markdown(card(hostile))
    links = re.findall(r"\[([^\]]*)\]\(([^)]*)\)", text)
    assert [label for label, _ in links] == ["Approve", "Reject"]          # the buttons, nothing else
    assert all(url.startswith("dtmd://dingtalkclient/sendMessage?content=%23steward%20case.") for _, url in links)
    body = text.split("\n- [", 1)[0]                                       # everything but the buttons
    assert "dtmd://" not in body and "javascript:" not in body
    assert not re.search(r"[\[\]<>]", body), body
    assert not re.search(r"(?m)^\s*[#>]", body.split("\n", 2)[2])          # no heading or quote of its own
    assert "Reported message: " in body                                   # still readable


def test_a_clicked_steward_button_still_reads_back():
    text = dingtalk_markdown(card("hi"))
    url = re.findall(r"\]\(([^)]*)\)", text)[0]
    from urllib.parse import unquote
    assert read_click(unquote(url.split("content=", 1)[1])) == ("case.approve", "C000001")


# --- WeCom: text (renders <a href>), markdown, template cards --------------------------------------------

@pytest.mark.parametrize("hostile", HOSTILE)
def test_wecom_text_markdown_and_cards_are_inert(hostile):
    texts = []
    sent = wecom.translate(SendPrivate("wecom", "zhangsan", hostile))
    texts.append(sent.msg["text"]["content"])
    group = wecom.translate(PostMessage("wecom", "wr1", hostile, reply_to="ev1"))
    texts.append(group.content["content"])
    markdown = wecom.translate(PostCard("wecom", "Note", hostile, chat_id="wr1"))
    texts.append(markdown.content["content"].split("\n", 1)[1])
    texts.append(group.reply_markdown)
    for text in texts:
        assert "<" not in text and ">" not in text, text                 # no <a>, <font>, <@id>
    for text in texts[2:]:                                               # markdown: no link either
        assert not re.search(r"\[[^\]]*\]\(", text) and "dtmd://" not in text
    template = wecom.translate(card(hostile), "key").msg["template_card"]
    shown = template["main_title"]["title"] + template["sub_title_text"]
    assert "<" not in shown and ">" not in shown
    assert [b["text"] for b in template["button_list"]] == ["Approve", "Reject"]


def test_wecom_keeps_a_steward_mention_readable():
    sent = wecom.translate(SendPrivate("wecom", "zhangsan", "Answer for <@zhangsan>: see M1"))
    assert sent.msg["text"]["content"] == "Answer for @zhangsan: see M1"


# --- Slack: mrkdwn and Block Kit ---------------------------------------------------------------------------

def slack_texts(action) -> list[str]:
    call = slack.translate(action, admin=False)
    texts = [call.args["text"]]
    for block in call.args.get("blocks", []):
        data = block.to_dict()
        if data["type"] == "section":
            texts.append(data["text"]["text"])
    return texts


@pytest.mark.parametrize("hostile", HOSTILE)
def test_slack_quotes_member_text_without_mentions_or_links(hostile):
    # the core's message: the member's words go through t() as plain text
    quoted = t("en", "membership.leave.lead", member="Bob", group="New hires", clause="R7.1.1", reason=hostile)
    for action in (PostMessage("slack", "C1", quoted), SendPrivate("slack", "U1", quoted), card(quoted)):
        for text in slack_texts(action):
            assert not re.search(r"<[@!#]", text), text                  # no mention, no @channel, no channel link
            assert not re.search(r"<(https?|dtmd|javascript):", text), text
            assert "<https://evil.example|" not in text


def test_slack_keeps_the_mentions_steward_means():
    text = t("en", "training.answer.post", number=1, askers=Mention("<@U0ASKER>"), answer="see <@U0LEAD>", by="Ian")
    assert "<@U0ASKER>" in text and "<@U0LEAD>" not in text and "@U0LEAD" in text
    assert "<@U0ASKER>" in slack_texts(PostMessage("slack", "C1", text))[0]


def test_the_markdown_escape_keeps_the_words():
    plain = "见 https://wiki.acme.cn/x 和 mailto:a@b.cn; data: 5 rows, note: ok"
    assert inert_markdown(plain) == plain
    assert inert_markdown("javascript:alert(1) data:text/html,x") == "javascript\u200b:alert(1) data\u200b:text/html,x"
    assert "Approve" in inert_markdown(f"[Approve]({APPROVE})")
