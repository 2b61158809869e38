"""Slack's message markup in both directions.

Inbound, Slack writes `<@U123>` (or the legacy `<@U123|name>`), `<#C123|name>`, `<!here>`,
`<https://x|label>` and escapes `&`, `<`, `>` as entities
(https://docs.slack.dev/messaging/formatting-message-text). The core reads one form: user mentions
`<@U123>`, everything else as plain text. Outbound, text from the core is escaped so a member's words
quoted back by Steward cannot ping `@channel` or forge a link; the core's own `<@U123>` mentions stay.

mrkdwn has no escape for `*bold*`, `_italic_`, `~strike~` or backticks, and a `verbatim` mrkdwn text object
still formats them; so what Steward shows goes out as a `rich_text` block (`literal`), whose text elements
Slack shows as typed, with the core's mentions as user elements. The escaped mrkdwn `text` stays as the
notification's fallback.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"^@([UW][A-Z0-9]+)(?:\|[^>]*)?$")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}
_BOT_GAP = "\x00"


@dataclass(frozen=True)
class Neutral:
    text: str
    mentions: tuple[str, ...]     # users mentioned, the bot excluded, in order of appearance
    mentions_bot: bool
    has_link: bool


def unescape(text: str) -> str:
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text) if "&" in text else text


def to_neutral(text: str, bot_user_id: str | None = None) -> Neutral:
    """Slack markup -> the core's form: `<@U123>` mentions, the bot's own mention removed."""
    mentions: list[str] = []
    state = {"bot": False, "link": False}

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        user = _USER.match(inner)
        if user:
            uid = user.group(1)
            if bot_user_id and uid == bot_user_id:
                state["bot"] = True
                return _BOT_GAP
            if uid not in mentions:
                mentions.append(uid)
            return f"<@{uid}>"
        target, _, label = inner.partition("|")
        label = unescape(label)
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            name = target[1:]
            if name in _SPECIAL:
                return _SPECIAL[name]
            if name.startswith("subteam^"):
                return label or f"@{name.split('^', 1)[1]}"
            return label or f"@{name}"
        url = unescape(target)
        if url.startswith("mailto:"):
            return label or url[len("mailto:"):]
        state["link"] = True
        return url if not label or label == url else f"{label} ({url})"

    pieces: list[str] = []
    last = 0
    raw = text.replace(_BOT_GAP, "")
    for match in _TOKEN.finditer(raw) if "<" in raw else ():
        pieces.append(unescape(raw[last:match.start()]))
        pieces.append(token(match))
        last = match.end()
    pieces.append(unescape(raw[last:]))
    out = "".join(pieces)
    if state["bot"]:
        out = re.sub(rf"[ \t]*{_BOT_GAP}[ \t]*", " ", out).strip()
    return Neutral(text=out, mentions=tuple(mentions), mentions_bot=state["bot"], has_link=state["link"])


_CORE_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")


def escape(text: str) -> str:
    """Core text -> Slack mrkdwn: escape &, <, > except the core's own `<@U123>` mentions."""
    out: list[str] = []
    last = 0
    for match in _CORE_MENTION.finditer(text):
        out.append(_escape_plain(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def pieces(text: str) -> list[tuple[str, str]]:
    """Core text split into ("text", words) and ("user", user_id) for the core's own `<@U123>` mentions."""
    out: list[tuple[str, str]] = []
    last = 0
    for match in _CORE_MENTION.finditer(text):
        if match.start() > last:
            out.append(("text", text[last:match.start()]))
        out.append(("user", match.group(1)))
        last = match.end()
    if last < len(text):
        out.append(("text", text[last:]))
    return out


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
