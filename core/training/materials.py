"""Shared materials with approval (R3.1.3, R7.2.2) and the group's material library (R2.3.1).

A material is a link, or a file the member sent Steward (`share` without a link takes their latest
stored file); an approved file is posted into every group of the training through each platform's
upload API, with the sharer's name.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.actions import Button, PostCard, PostFile, PostMessage, SendPrivate
from core.db.models import Account, Group, Person
from core.i18n import t
from core.kernel import audit, files, review
from core.kernel.context import CoreContext
from core.kernel.files import ReceivedFile
from core.kernel.outbox import enqueue
from core.kernel.refusals import Refusal
from core.kernel.roster import name_of, staff_accounts, training_groups
from core.training import digest as weekly_digest
from core.training.archive_search import like_pattern
from core.training.archive_search import terms as search_terms
from core.training.models import Material


def valid_link(text: str) -> bool:
    try:
        parsed = urlparse(text)
    except ValueError:
        return False
    host = parsed.hostname or ""
    return parsed.scheme in ("http", "https") and ("." in host or host == "localhost") and " " not in text


class Materials:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s = ctx, s
        self.now = ctx.clock.now()

    def share(self, group: Group, sharer: Account, text: str, locale: str) -> Material:
        """`share URL [title]`, or `share [title]` for the member's latest file sent to Steward."""
        link, _, title = text.strip().partition(" ")
        link = link.strip("<>")
        if not valid_link(link):
            f = None if link.lower().startswith(("http:", "https:", "www.")) else \
                files.latest(self.s, sharer.platform, sharer.user_id, self.now)
            if f is not None:
                return self._share_file(group, sharer, f, text.strip(), locale)
            if not link:
                raise Refusal("files.share_nothing")
            raise Refusal("training.share.bad_link", link=link[:100])
        return self._queue(group, sharer, Material(group_id=group.id, sharer_id=sharer.person_id, url=link[:2000],
                                                   title=(title.strip() or link)[:200], status="pending",
                                                   created_at=self.now))

    def _share_file(self, group: Group, sharer: Account, f: ReceivedFile, title: str, locale: str) -> Material:
        why = files.not_usable(f)
        if why is not None:
            raise Refusal(why[0], **why[1])
        return self._queue(group, sharer, Material(group_id=group.id, sharer_id=sharer.person_id, url=f.name,
                                                   title=(title or f.name)[:200], status="pending",
                                                   file_id=f.id, created_at=self.now))

    def _queue(self, group: Group, sharer: Account, m: Material) -> Material:
        """The material waits for the lead, who gets a card with approve / reject (R3.1.3, R7.2.2)."""
        self.s.add(m)
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{sharer.person_id}", action="training.material_shared",
                     clause="R3.1.3", group_id=group.id, person_id=sharer.person_id, material=m.id)
        weekly_digest.ensure_scheduled(self.ctx, self.s, group)
        who = name_of(sharer.person, group.platform)
        for lead in staff_accounts(self.s, group, "lead"):
            caps = self.ctx.caps(lead.platform)
            title_text = t(group.locale, "training.review.title", number=m.id)
            body = t(group.locale, "training.review.body", sharer=who, title=m.title, url=shown(m), group=group.name,
                     number=m.id)
            if caps.cards:
                action = PostCard(lead.platform, title_text, body, (
                    Button(t(group.locale, "training.button.approve"), "training.material_approve", str(m.id),
                           "primary"),
                    Button(t(group.locale, "training.button.reject"), "training.material_reject", str(m.id),
                           "danger")), user_id=lead.user_id)
            else:
                action = SendPrivate(lead.platform, lead.user_id, f"{title_text}\n{body}")
            enqueue(self.s, action, key=f"training.review:{m.id}:{lead.id}", now=self.now, group_id=group.id)
        # R7.2.2: the admins' one review queue holds it too (`queue`, `review RVN release`); the lead's card above
        # stays its one-click card, and whichever decides first, decides
        review.submit(self.ctx, self.s, group=group, kind="held", key=f"held:{m.id}", actor=f"person:{sharer.person_id}",
                      account=sharer, text=f"{m.url} {m.title}".strip(), ref=str(m.id))
        return m

    def decide(self, m: Material, by: Account, approve: bool, reason: str, locale: str) -> None:
        if m.status != "pending":
            raise Refusal("training.review.decided", number=m.id,
                            status=t(locale, f"training.status.{m.status}"))
        if not approve and not reason.strip():
            raise Refusal("training.review.reason_needed", number=m.id)
        group = self.s.get(Group, m.group_id)
        m.status = "approved" if approve else "rejected"
        m.reason, m.decided_by, m.decided_at = reason.strip() or None, by.person_id, self.now
        audit.record(self.s, at=self.now, actor=f"person:{by.person_id}", action=f"training.material_{m.status}",
                     clause="R3.1.3", group_id=group.id, person_id=m.sharer_id, material=m.id, reason=m.reason)
        review.settle_ref(self.ctx, self.s, "held", str(m.id), "release" if approve else "dismiss",
                          f"person:{by.person_id}", m.reason or "")
        sharer = self.s.get(Person, m.sharer_id)
        lead = name_of(by.person, group.platform)
        if approve and m.file_id is not None:
            self._post_file(m, group, sharer, by)
        elif approve:
            enqueue(self.s, PostMessage(group.platform, group.chat_id, t(
                group.locale, "training.material.post", title=m.title, url=m.url,
                sharer=name_of(sharer, group.platform), lead=lead, note=f"\n{m.reason}" if m.reason else "")),
                key=f"training.material:{m.id}", now=self.now, group_id=group.id)
        account = next((a for a in sharer.accounts if a.platform == group.platform), None)
        if account is not None:
            key = "training.material.approved" if approve else "training.material.rejected"
            enqueue(self.s, SendPrivate(account.platform, account.user_id, t(
                group.locale, key, number=m.id, title=m.title, reason=m.reason or "-", lead=lead)),
                key=f"training.material_decided:{m.id}", now=self.now, group_id=group.id)

    def _post_file(self, m: Material, group: Group, sharer: Person, by: Account) -> None:
        """The approved file into every group of the training, each through its platform's upload API."""
        f = self.s.get(ReceivedFile, m.file_id)
        for g in training_groups(self.s, group):
            caption = t(g.locale, "training.material.post", title=m.title, url=shown(m),
                        sharer=name_of(sharer, g.platform), lead=name_of(by.person, g.platform),
                        note=f"\n{m.reason}" if m.reason else "")
            enqueue(self.s, PostFile(g.platform, g.chat_id, f.sha256, f.name, caption),
                    key=f"training.material:{m.id}:{g.id}", now=self.now, group_id=g.id)

    def library(self, group: Group, terms: str = "") -> list[Material]:
        query = select(Material).where(Material.group_id == group.id, Material.status == "approved")
        for term in search_terms(terms):       # bounded: one statement, whatever the member typed
            like = like_pattern(term.lower())
            query = query.where(or_(Material.title.ilike(like, escape="\\"), Material.url.ilike(like, escape="\\")))
        return list(self.s.scalars(query.order_by(Material.id.desc()).limit(30)))


def release_held(ctx: CoreContext, s: Session, item, by: Account, release: bool, note: str, locale: str) -> None:
    """A held link or share decided in the admins' review queue (core/kernel/review.py): released, it is
    approved and posted as the lead's card would; warned or dismissed, it is rejected with the note."""
    m = s.get(Material, int(item.ref)) if item.ref and item.ref.isdigit() else None
    if m is None or m.status != "pending":
        return
    reason = note.strip() or t(locale, "training.review.queue_reason")
    Materials(ctx, s).decide(m, by, release, "" if release else reason, locale)


def shown(m: Material) -> str:
    """A material as listed: its link, or 📎 and the file's name."""
    return f"📎 {m.url}" if m.file_id is not None else m.url


def file_uses(s: Session, person_id: int, now: datetime, locale: str) -> list[str]:
    """`share` proposes a file for the group's material library (R3.1.3)."""
    return [t(locale, "files.how_share")]
