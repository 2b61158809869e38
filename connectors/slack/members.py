"""A channel's members: `conversations.members`, every page (cursor pagination), the bot left out.

Tier 4 (100+ calls a minute per workspace, rate-limits doc); Steward takes one slot of its shared
limiter per page, so several processes together stay under it. Needs `channels:read` (public
channels) or `groups:read` (private channels).
"""
from __future__ import annotations

from connectors.slack.client import SlackApi

MEMBERS_RATE = "100/minute"
PAGE = 200          # Slack's default is 100, its maximum 1000; fewer is recommended


def list_members(api: SlackApi, channel: str, bot_user_id: str | None) -> list[str]:
    members: list[str] = []
    cursor: str | None = None
    while True:
        api.pace("conversations.members", MEMBERS_RATE)
        data = api.call("conversations.members", channel=channel, limit=PAGE,
                        **({"cursor": cursor} if cursor else {}))
        members.extend(m for m in data.get("members") or [] if isinstance(m, str))
        cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return [m for m in dict.fromkeys(members) if m != bot_user_id]
