"""Member text made inert in the markups the messengers render.

The core's actions carry plain text; a connector that sends it as markdown (DingTalk's sampleMarkdown cards,
WeCom's markdown) or as text the client still parses (WeCom's text messages render `<a href>`) passes it
through `inert_markdown` first, then adds its own structure (titles, button links). So a member's words quoted
on a lead's card cannot become a link, a button, a mention or a heading: the only links on a card are the
connector's own. Slack has its own escaping (connectors/slack/mrkdwn.py).

Characters that build links and tags are replaced by their full-width forms (［ ］ ＜ ＞), which every client
shows and none parses; a URL scheme other than http(s) (`dtmd://`, `javascript:`) is broken with a
zero-width space, so it is neither a link nor clickable; a line that would start a heading or a quote starts
with the full-width form instead.
"""
from __future__ import annotations

import re

_CORE_MENTION = re.compile(r"<@([^<>\s|]+)(?:\|[^<>]*)?>")
_SWAP = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞"})
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{1,30})(?=:/)|\b(javascript|vbscript|data(?=:[\w.+-]+/))(?=\s*:)")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_LINE_START = re.compile(r"(?m)^([ \t]*)([#>])")
ZWSP = "\u200b"


def plain_mentions(text: str) -> str:
    """The core's `<@user_id>` -> `@user_id` (for a markup that has no inline mention)."""
    return _CORE_MENTION.sub(lambda m: "@" + m.group(1), text)


def _scheme(match: re.Match[str]) -> str:
    name = match.group(1) or match.group(2)
    return name if name.lower() in _SAFE_SCHEMES else name + ZWSP


def inert_markdown(text: str) -> str:
    """`text` as markdown that renders as the same words and nothing else (no link, tag, mention, heading)."""
    text = _SCHEME.sub(_scheme, text.translate(_SWAP))
    return _LINE_START.sub(lambda m: m.group(1) + ("＃" if m.group(2) == "#" else "＞"), text)


def inert_text(text: str) -> str:
    """Plain text for a client that still parses tags in it (WeCom's `<a href>` in text messages)."""
    return text.translate(str.maketrans({"<": "＜", ">": "＞"}))
