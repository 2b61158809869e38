"""The archive of R3.2.2: search (Chinese without whitespace tokenisation), export, retention.

Search is a substring match of every term over the stored text, on both databases (SQLite: LIKE,
PostgreSQL: ILIKE), so `入职培训` finds `新员工入职培训安排` with no word splitting. Each term also
matches in its Traditional and Simplified spellings.
"""
from __future__ import annotations

import html
import json
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from core.db.models import ArchivedMessage, Group, ReviewItem, ReviewReport
from core.kernel import audit

FORMATS = ("md", "html", "json")


@lru_cache(maxsize=2)
def _converter(config: str):
    import opencc  # loaded on first use
    return opencc.OpenCC(config)


def spellings(term: str) -> set[str]:
    out = {term}
    if any("\u3400" <= ch <= "\u9fff" for ch in term):
        out |= {_converter("t2s").convert(term), _converter("s2t").convert(term)}
    return out


MAX_TERMS, MAX_TERM_CHARS = 8, 100


def terms(query: str) -> list[str]:
    """The words a search matches: distinct, at most MAX_TERMS of them, each at most MAX_TERM_CHARS long.

    Every term adds a condition (and its other spellings) to one statement: unbounded, a message of 1,200
    words built a statement deeper than SQLite allows ("Expression tree is too large") and failed on every
    delivery. Past eight words a search finds nothing more anyway."""
    out: list[str] = []
    for word in query.split():
        word = word[:MAX_TERM_CHARS]
        if word not in out:
            out.append(word)
            if len(out) == MAX_TERMS:
                break
    return out


def like_pattern(term: str) -> str:
    """`term` anywhere, with LIKE's own characters taken literally (use with escape="\\")."""
    return f"%{_escape(term)}%"


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(s: Session, group_ids: list[int], query: str, since: datetime | None = None,
           until: datetime | None = None, limit: int = 20) -> list[ArchivedMessage]:
    """The newest `limit` messages of the groups that match every term. One query per group: each walks its
    group's (group_id, sent_at) index from the newest and stops at `limit`, where one query over several
    groups would have the database sort every match of all of them first."""
    found: list[ArchivedMessage] = []
    for group_id in dict.fromkeys(group_ids):
        stmt = select(ArchivedMessage).where(ArchivedMessage.group_id == group_id, ArchivedMessage.direct.is_(False))
        for term in terms(query):
            stmt = stmt.where(or_(*(ArchivedMessage.text.ilike(like_pattern(v), escape="\\")
                                    for v in spellings(term))))
        found += s.scalars(_period(stmt, since, until).order_by(ArchivedMessage.sent_at.desc(),
                                                                ArchivedMessage.id.desc()).limit(limit))
    found.sort(key=lambda m: (m.sent_at, m.id), reverse=True)
    return found[:limit]


def _period(stmt, since: datetime | None, until: datetime | None):
    if since is not None:
        stmt = stmt.where(ArchivedMessage.sent_at >= since)
    if until is not None:
        stmt = stmt.where(ArchivedMessage.sent_at < until)
    return stmt


def messages(s: Session, group: Group, since: datetime | None, until: datetime | None) -> list[ArchivedMessage]:
    stmt = select(ArchivedMessage).where(ArchivedMessage.group_id == group.id)
    return list(s.scalars(_period(stmt, since, until).order_by(ArchivedMessage.sent_at, ArchivedMessage.id)))


def local(moment: datetime, tz: str) -> str:
    """A stored (UTC) moment on the deployment's clock: `2026-11-02 17:00`."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _row(m: ArchivedMessage, tz: str) -> dict:
    return {"sent_at": m.sent_at.astimezone(ZoneInfo(tz)).isoformat(), "user_id": m.user_id, "kind": m.kind,
            "text": m.text, "thread_id": m.thread_id, "message_id": m.message_id}


def render(group: Group, rows: list[ArchivedMessage], fmt: str, since: datetime | None,
           until: datetime | None, tz: str = "UTC") -> str:
    """The export of one group and period (R3.2.2) as Markdown, HTML or JSON; every time on the
    deployment's clock (`tz`), and the zone named."""
    zone = ZoneInfo(tz)
    period = (f"{since.astimezone(zone).isoformat() if since else '…'} – "
              f"{until.astimezone(zone).isoformat() if until else '…'}; times in {tz}")
    if fmt == "json":
        return json.dumps({"group": {"platform": group.platform, "chat_id": group.chat_id, "name": group.name},
                           "since": since.astimezone(zone).isoformat() if since else None,
                           "until": until.astimezone(zone).isoformat() if until else None, "timezone": tz,
                           "clause": "R3.2.2", "messages": [_row(m, tz) for m in rows]},
                          ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        lines = [f"# {group.name} ({group.platform}:{group.chat_id})", "", f"Archive (R3.2.2), {period}", ""]
        lines += [f"- **{local(m.sent_at, tz)}** `{m.user_id}`: {m.text.replace(chr(10), ' ')}" for m in rows]
        return "\n".join(lines) + "\n"
    if fmt == "html":
        items = "\n".join(f"<li><time datetime=\"{m.sent_at.astimezone(zone).isoformat()}\">{local(m.sent_at, tz)}"
                          f"</time> <b>{html.escape(m.user_id)}</b>: {html.escape(m.text)}</li>" for m in rows)
        title = html.escape(group.name)
        return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n"
                f"<h1>{title}</h1>\n<p>Archive (R3.2.2), {html.escape(period)}</p>\n<ul>\n{items}\n</ul>\n"
                "</body></html>\n")
    raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")


def count_expired(s: Session, group: Group, retention_days: int, now: datetime) -> int:
    return s.scalar(select(func.count()).select_from(ArchivedMessage).where(
        ArchivedMessage.group_id == group.id, ArchivedMessage.sent_at < now - timedelta(days=retention_days)))


def _old_decided(group: Group, cutoff: datetime):
    return select(ReviewItem.id).where(ReviewItem.group_id == group.id, ReviewItem.created_at < cutoff,
                                       ReviewItem.status != "open")


def count_expired_reviews(s: Session, group: Group, retention_days: int, now: datetime) -> int:
    """Decided review items older than the retention period that still keep a member's words: in their text,
    or in a reporter's reason (an item blanked before reasons were, say)."""
    old = _old_decided(group, now - timedelta(days=retention_days))
    worded = select(ReviewReport.item_id).where(ReviewReport.item_id.in_(old), ReviewReport.reason != "")
    return s.scalar(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.id.in_(old), or_(ReviewItem.text != "", ReviewItem.id.in_(worded)))) or 0


def prune(s: Session, group: Group, retention_days: int, now: datetime, actor: str) -> tuple[int, int]:
    """R3.2.2: delete the group's messages older than the retention period, and blank the copies of members'
    words the review queue kept of items decided and as old: the item's text and the reporters' reasons (a
    report of an unseen message holds the reporter's account of it in both). The item, its decision and the
    case stay; the case keeps its own short, redacted evidence. An item still open keeps its words until an
    admin decides it. On record when anything went; returns (messages deleted, review items whose words went)."""
    cutoff = now - timedelta(days=retention_days)
    n = count_expired(s, group, retention_days, now)
    items = count_expired_reviews(s, group, retention_days, now)
    if n:
        s.execute(delete(ArchivedMessage).where(ArchivedMessage.group_id == group.id,
                                                ArchivedMessage.sent_at < cutoff))
    old = _old_decided(group, cutoff)
    blanked = s.execute(update(ReviewItem).where(ReviewItem.id.in_(old), ReviewItem.text != "")
                        .values(text="")).rowcount
    reasons = s.execute(update(ReviewReport).where(ReviewReport.item_id.in_(old), ReviewReport.reason != "")
                        .values(reason="")).rowcount
    if n or blanked or reasons:
        audit.record(s, at=now, actor=actor, action="archive.pruned", clause="R3.2.2", group_id=group.id,
                     messages=n, review_texts=blanked, report_reasons=reasons, retention_days=retention_days)
    return n, items
