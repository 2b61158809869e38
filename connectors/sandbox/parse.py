"""The sandbox's tiny JSON format (README.md) -> what a person said, or the button they pressed.

`POST /sandbox/messages` {"user_id", "text", "chat_id"?, "id"?, "kind"?, "content"?};
`POST /sandbox/cards` {"user_id", "action", "value", "id"?}.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from connectors.base import Payload
from core.errors import BadRequest
from core.events import CardActed


@dataclass(frozen=True)
class Said:
    user_id: str
    text: str
    chat_id: str | None = None        # None: a 1:1 chat with Steward
    event_id: str | None = None
    kind: str = "text"
    content: bytes | None = None      # a file message's bytes


def body(payload: Payload) -> dict[str, Any]:
    try:
        data = json.loads(payload.data or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def said(data: dict[str, Any]) -> Said:
    return Said(user_id=_text_field(data, "user_id", 64), text=_text_field(data, "text", 4000, allow_empty=True),
                chat_id=_optional(data, "chat_id"), event_id=_optional(data, "id"),
                kind=_optional(data, "kind") or "text", content=_content(data))


def card_acted(data: dict[str, Any]) -> CardActed:
    return CardActed(platform="sandbox", event_id=f"card:{_optional(data, 'id') or uuid.uuid4().hex}",
                     user_id=_text_field(data, "user_id", 64), action=_text_field(data, "action", 64),
                     value=_text_field(data, "value", 64))


def _text_field(data: dict[str, Any], key: str, limit: int, allow_empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not value.strip() and not allow_empty):
        raise BadRequest(f"{key} is required and must be text")
    if len(value) > limit:
        raise BadRequest(f"{key} is longer than {limit} characters")
    return value


def _content(data: dict[str, Any]) -> bytes | None:
    """A sandbox file's content, as text (the request itself is at most 1 MiB)."""
    value = data.get("content")
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest("content must be text")
    return value.encode("utf-8")


def _optional(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 128:
        raise BadRequest(f"{key} must be short text")
    return value or None
