"""Core actions -> WeCom message bodies (pure functions, no I/O).

Cards: `message/send` `template_card` of `card_type` `button_interaction`. Each button's
`key` is `"<action>|<value>"`, which WeCom echoes back as `EventKey` in the
`template_card_event`, so a click parses into CardActed(action, value).
"""
from __future__ import annotations

import hashlib

from core.actions import Button, PostCard

TEXT_LIMIT_BYTES = 2048          # text/markdown content limit of message/send and appchat/send
KEY_SEPARATOR = "|"
KEY_LIMIT_BYTES = 1024           # button_list[].key
MAX_BUTTONS = 6                  # button_list length
# button_list[].style is 1..4 [U: colours not stated in the docs mirror; 1 is WeCom's default]
BUTTON_STYLES = {"primary": 1, "default": 2, "danger": 3}


class RenderError(ValueError):
    """The action cannot be expressed on WeCom as given (a permanent refusal, never retried)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def clip(text: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """Cut `text` to `limit` UTF-8 bytes on a character boundary, marking the cut with '…'."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", "ignore") + "…"


def encode_button_key(action: str, value: str) -> str:
    if KEY_SEPARATOR in action:
        raise RenderError(f"card action {action!r} must not contain {KEY_SEPARATOR!r}", "card_action_name")
    key = f"{action}{KEY_SEPARATOR}{value}"
    if len(key.encode("utf-8")) > KEY_LIMIT_BYTES:
        raise RenderError("card button action+value exceed WeCom's 1024-byte key", "card_key_too_long")
    return key


def decode_button_key(key: str) -> tuple[str, str]:
    """(action, value) from an EventKey; a key without the separator is an action with no value."""
    action, _, value = key.partition(KEY_SEPARATOR)
    return action, value


def task_id(idempotency_key: str) -> str:
    """A card's task_id ([0-9a-zA-Z_-@], <= 128 bytes, unique per app) derived from the delivery key.

    A retried delivery reuses the same task_id, which WeCom refuses to show twice.
    """
    return "stw_" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:48]


def text_message(text: str) -> dict:
    return {"msgtype": "text", "text": {"content": clip(text)}, "safe": 0}


def markdown_content(title: str, text: str) -> str:
    return clip(f"**{title}**\n{text}" if title else text)


def _button(button: Button) -> dict:
    return {
        "text": button.label,
        "style": BUTTON_STYLES.get(button.style, 1),
        "key": encode_button_key(button.action, button.value),
    }


def card_message(card: PostCard, idempotency_key: str) -> dict:
    """A private button_interaction card; a card without buttons is sent as markdown."""
    if not card.buttons:
        return {"msgtype": "markdown", "markdown": {"content": markdown_content(card.title, card.text)}}
    if len(card.buttons) > MAX_BUTTONS:
        raise RenderError(f"WeCom cards carry at most {MAX_BUTTONS} buttons", "too_many_buttons")
    return {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": card.title},
            "sub_title_text": card.text,
            "task_id": task_id(idempotency_key),
            "button_list": [_button(b) for b in card.buttons],
        },
    }


def duplicate_check(interval_seconds: int) -> dict:
    """message/send's own de-duplication: the same request JSON within the interval is delivered once."""
    return {"enable_duplicate_check": 1, "duplicate_check_interval": interval_seconds}
