"""Steward's own posts in a group enter its archive (R3.2.2: everything Steward sees and does is kept).

Announcements, change notices, approved materials, answers and digests are what members look up most,
and on WeCom and DingTalk Steward hears little else of a group (only what is said to it), so `search`
and `steward archive export` would otherwise miss them. A post is archived once delivered, under the
platform's message id when the connector returns one (Slack's echo of the post then adds nothing).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import Action, PostCard, PostFile, PostMessage
from core.db.models import ArchivedMessage, Group
from core.db.upsert import insert_ignore

AUTHOR = "steward"


def _text(action: Action) -> tuple[str, str] | None:
    """(kind, text) of a post into a group; None for anything else (private messages stay out)."""
    if isinstance(action, PostMessage):
        return "text", action.text
    if isinstance(action, PostCard) and action.chat_id:
        return "text", f"{action.title}\n{action.text}".strip()
    if isinstance(action, PostFile):
        return "file", f"{action.name}\n{action.caption}".strip()
    return None


def archive(s: Session, action: Action, outbox_id: int, remote_id: str | None, now: datetime) -> None:
    posted = _text(action)
    if posted is None:
        return
    chat_id = getattr(action, "chat_id")
    group_id = s.scalar(select(Group.id).where(Group.platform == action.platform, Group.chat_id == chat_id))
    if group_id is None:
        return
    kind, text = posted
    insert_ignore(s, ArchivedMessage, dict(
        platform=action.platform, chat_id=chat_id, message_id=(remote_id or f"outbox:{outbox_id}")[:128],
        group_id=group_id, person_id=None, user_id=AUTHOR, kind=kind, text=text,
        thread_id=getattr(action, "thread_id", None), direct=False, from_bot=True, sent_at=now))
