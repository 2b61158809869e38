"""How a card button click travels back to Steward on DingTalk.

Robot messages have no button callback: a click on an interactive card only comes back through
a card template with a registered callback (Stream topic `/v1.0/card/instances/callback` or an
HTTP route registered with `/v1.0/card/callbacks/register`). Steward therefore renders buttons as
`dtmd://dingtalkclient/sendMessage?content=...` links in a markdown message: a click makes the
member's client send `content` to the robot, and the robot callback brings it back as a message
from that member. This module is the one place that writes and reads that text.

A typed command in the same form is indistinguishable from a click, exactly as a Slack button
payload only says "this member pressed action X with value Y": the core authorises `user_id`.
"""
from __future__ import annotations

from urllib.parse import quote

PREFIX = "#steward "


def click_text(action: str, value: str) -> str:
    if not action or any(ch.isspace() for ch in action):
        raise ValueError(f"card action must be one word: {action!r}")
    return f"{PREFIX}{action} {value}".rstrip()


def click_link(action: str, value: str) -> str:
    return "dtmd://dingtalkclient/sendMessage?content=" + quote(click_text(action, value), safe="")


def read_click(text: str) -> tuple[str, str] | None:
    """(action, value) when `text` is a click (or the same command typed), else None."""
    text = text.strip()
    if not text.startswith(PREFIX.strip()):
        return None
    rest = text[len(PREFIX.strip()):]
    if not rest[:1].isspace():
        return None
    action, _, value = rest.strip().partition(" ")
    return (action, value.strip()) if action else None
