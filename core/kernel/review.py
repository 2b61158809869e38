"""One review queue for the group's admins (R7.2.2): what members reported (R2.3.3), a detector's hits below the
confidence that acts alone, held links and shares. One item per message; each item reaches the group's admins
on a card (warn, dismiss, and release for held items) and is decided once.

The kernel keeps the queue so that every feature may put items in it without importing another: discipline
reports and flags messages and decides warnings, training holds links (its `review_release` hook publishes or
drops a held item). Who may decide is checked where the decision is a command (`CommandRunner.item_allowed`).
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actions import Button, private_card
from core.db.models import Account, Group, Person, ReviewItem, ReviewReport
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.roster import name_of, staff_accounts
from core.moderation.redact import redact

OPEN = "open"
DECISIONS = {"warn": "warned", "dismiss": "dismissed", "release": "released"}
KINDS = ("report", "detector", "held")
CLAUSE = "R7.2.2"          # admins review what members post


def message_key(platform: str, chat_id: str, message_id: str) -> str:
    return f"msg:{platform}:{chat_id}:{message_id}"[:300]


def number(item: ReviewItem) -> str:
    return f"RV{item.id}"


def parse_number(text: str) -> int | None:
    words = unicodedata.normalize("NFKC", text).split(maxsplit=1)
    head = words[0].lstrip("#").upper().removeprefix("RV") if words else ""
    return int(head) if head.isascii() and head.isdecimal() and len(head) <= 9 else None


def find(s: Session, key: str) -> ReviewItem | None:
    return s.scalar(select(ReviewItem).where(ReviewItem.key == key))


def submit(ctx: CoreContext, s: Session, *, group: Group, kind: str, key: str | None, actor: str,
           account: Account | None, text: str, message_id: str | None = None, category: str | None = None,
           clause: str = "", rule: str = "", detector: str | None = None, score: float | None = None,
           severe: bool = False, ref: str | None = None) -> ReviewItem:
    """A new open item, audited, on a card to the group's admins. The caller found no item for `key` first."""
    now = ctx.clock.now()
    item = ReviewItem(key=key, group_id=group.id, kind=kind, status=OPEN, platform=group.platform,
                      chat_id=group.chat_id, message_id=message_id, person_id=account.person_id if account else None,
                      account_id=account.id if account else None, text=text, category=category, clause=clause,
                      rule=rule[:200], detector=detector, score=score, severe=severe, ref=ref, reporters=0,
                      created_at=now)
    s.add(item)
    s.flush()
    audit.record(s, at=now, actor=actor, action="review.queued", clause=CLAUSE, group_id=group.id,
                 person_id=item.person_id, item=item.id, kind=kind, category=category, detector=detector,
                 score=score, suggested=clause or None)
    return item


def notify(ctx: CoreContext, s: Session, item: ReviewItem, again: bool = False) -> None:
    """The item's card to each admin of its group, privately: one click decides it. `again`: a new report
    of a queued item (a fresh card with the new count, once per count)."""
    group = s.get(Group, item.group_id)
    locale, now = group.locale, ctx.clock.now()
    title = t(locale, "review.card.title", number=number(item), kind=t(locale, f"review.kind.{item.kind}"))
    body = card_text(s, item, group)
    buttons = [Button(t(locale, "review.button.warn"), "review.warn", str(item.id), "danger"),
               Button(t(locale, "review.button.dismiss"), "review.dismiss", str(item.id))]
    if item.kind == "held":
        buttons.append(Button(t(locale, "review.button.release"), "review.release", str(item.id), "primary"))
    for admin in staff_accounts(s, group, "admin"):
        action = private_card(group.platform, admin.user_id, title, body, buttons,
                              cards=ctx.caps(group.platform).cards, typed=t(
                                  locale, "review.card.commands", number=number(item),
                                  release=" / " + t(locale, "review.card.release_command", number=number(item))
                                  if item.kind == "held" else ""))
        suffix = f":{item.reporters}" if again else ""
        enqueue(s, action, key=f"review:{item.id}:card:{admin.id}{suffix}", now=now, group_id=group.id)


def card_text(s: Session, item: ReviewItem, group: Group) -> str:
    locale = group.locale
    person = s.get(Person, item.person_id) if item.person_id else None
    lines = [t(locale, "review.card.where", group=group.name,
               member=name_of(person, group.platform) if person else "-")]
    lines.append(t(locale, "review.card.text", text=_clip(redact(item.text), 400) or "-"))
    if item.kind == "report" and not item.message_id:
        lines.append(t(locale, "review.card.unseen"))
    if item.detector:
        lines.append(t(locale, "review.card.detector", rule=item.rule, score=f"{item.score or 0:.2f}"))
    if item.reporters:
        lines.append(t(locale, "review.card.reporters", count=item.reporters))
        reasons = [r for r in s.scalars(select(ReviewReport.reason).where(ReviewReport.item_id == item.id)
                                        .order_by(ReviewReport.id).limit(3)) if r.strip()]
        if reasons:   # what the reporters said, without who said it
            lines.append(t(locale, "review.card.reasons", reasons=" / ".join(_clip(redact(r), 200) for r in reasons)))
    lines.append(t(locale, "review.card.clause", clause=item.clause or "R8.2.1"))
    return "\n".join(lines)


def settle(ctx: CoreContext, s: Session, item: ReviewItem, decision: str, by: str, note: str = "",
           case_number: str | None = None) -> None:
    """Record the decision on an open item and audit it."""
    now = ctx.clock.now()
    item.status, item.decided_by, item.decided_at = DECISIONS[decision], by, now
    item.note, item.case_number = note.strip() or None, case_number
    audit.record(s, at=now, actor=by, action=f"review.{item.status}", clause=CLAUSE if decision != "warn"
                 else "R7.1.2", group_id=item.group_id, person_id=item.person_id, case_number=case_number,
                 item=item.id, kind=item.kind, note=item.note)


def settle_ref(ctx: CoreContext, s: Session, kind: str, ref: str, decision: str, by: str, note: str = "") -> None:
    """A held item decided elsewhere (the lead's own approval card): its queue item closes with it."""
    item = s.scalar(select(ReviewItem).where(ReviewItem.kind == kind, ReviewItem.ref == ref,
                                             ReviewItem.status == OPEN))
    if item is not None:
        settle(ctx, s, item, decision, by, note)


def open_items(s: Session, group_ids: Iterable[int] | None, limit: int = 30) -> tuple[list[ReviewItem], int]:
    """The oldest `limit` open items of the groups (all groups: None), and how many are open in all."""
    where = [ReviewItem.status == OPEN]
    if group_ids is not None:
        where.append(ReviewItem.group_id.in_(list(group_ids)))
    items = list(s.scalars(select(ReviewItem).where(*where).order_by(ReviewItem.id).limit(limit)))
    total = len(items) if len(items) < limit else s.scalar(select(func.count()).select_from(ReviewItem).where(*where))
    return items, total


def dismissed(s: Session, since: datetime | None = None) -> list[tuple[ReviewItem, Group]]:
    """Dismissed reports and detector hits, oldest first: labelled negatives for `steward moderate --eval`."""
    query = (select(ReviewItem, Group).join(Group, Group.id == ReviewItem.group_id)
             .where(ReviewItem.status == "dismissed", ReviewItem.kind.in_(("report", "detector")),
                    ReviewItem.text != "", ReviewItem.message_id.is_not(None)))   # a member's message, not a reporter's words
    if since is not None:
        query = query.where(ReviewItem.decided_at >= since)
    return [(item, group) for item, group in s.execute(query.order_by(ReviewItem.decided_at, ReviewItem.id))]


def negative(item: ReviewItem, group: Group) -> dict[str, object]:
    """One line of the evaluation format (core/moderation/evaluate.py): the text exactly as typed, `benign`."""
    return {"text": item.text, "label": "benign", "lang": group.locale, "item": number(item),
            "flagged_as": item.category or "report", "detector": item.detector, "score": item.score}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
