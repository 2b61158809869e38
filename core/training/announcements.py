"""Announcements (R3.1.1, R3.1.2, R7.1.1, R7.2.1) and change notices (R3.2.1).

A post goes to every group of its training on every messenger. It is pinned where the platform can
pin: PinMessage needs the platform's id of the post, which exists only once the worker delivered it,
so a `training.pin` job follows each post, finds the delivered outbox row's remote id and queues the
pin (trying again a little later while the post is still on its way). Elsewhere `notices` and
`schedule` bring posts back on request. Members acknowledge with the card's button or `seen N`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import Button, PinMessage, PostCard, PostMessage, SendPrivate
from core.db.models import Account, Group, OutboxItem, Person
from core.db.upsert import insert_ignore
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import roles_of
from core.kernel.outbox import enqueue, stored_key
from core.kernel.refusals import Refusal
from core.kernel.roster import members, name_of, training_groups
from core.kernel.scheduler import schedule
from core.training import digest as weekly_digest
from core.training.announcement_format import BadTime, local_text, missing, parse_fields, parse_time
from core.training.models import Acknowledgement, Announcement

PIN_TRIES = 20


class Announcements:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s = ctx, s
        self.now = ctx.clock.now()

    def settings(self, group: Group):
        return self.ctx.config.all_templates()[group.template].training

    # --- announcing ------------------------------------------------------------------------------
    def announce(self, group: Group, author: Account, text: str, session: bool, locale: str) -> Announcement:
        """Raises Refusal with the template to fill when a field of R3.1.2 is missing or wrong."""
        draft = parse_fields(text)
        lacking = missing(draft, session)
        if lacking:
            names = ", ".join(t(locale, f"training.field.{k}") for k in lacking)
            raise Refusal("training.announce.missing", fields=names,
                            template=t(locale, "training.template.session" if session else "training.template.notice"))
        starts_at = self._time(draft.get("time"), group, locale)
        publish_at = self.now
        if draft.get("publish"):
            publish_at = max(self.now, self._time(draft.get("publish"), group, locale))
        a = Announcement(group_id=group.id, training_id=group.training_id, kind="session" if session else "notice",
                         topic=draft.get("topic")[:200], starts_at=starts_at, place=draft.get("place")[:500] or None,
                         points=draft.get("points"), author_id=author.person_id, publish_at=publish_at,
                         status="scheduled", created_at=self.now)
        self.s.add(a)
        self.s.flush()
        # R3.1.1: the lead publishes; R7.2.1: an admin publishes on the lead's behalf.
        clause = "R3.1.1" if "lead" in roles_of(self.s, author.person_id, group.id) else "R7.2.1"
        audit.record(self.s, at=self.now, actor=f"person:{author.person_id}", action="training.announced",
                     clause=clause, group_id=group.id, person_id=author.person_id, announcement=a.id,
                     kind=a.kind, publish_at=publish_at.isoformat())
        if publish_at > self.now:
            schedule(self.s, key=f"training.publish:{a.id}", kind="training.publish", due_at=publish_at,
                     now=self.now, payload={"announcement": a.id})
        else:
            self.publish(a)
        return a

    def _time(self, value: str, group: Group, locale: str) -> datetime:
        try:
            moment = parse_time(value, group.timezone, self.now)
        except BadTime:
            raise Refusal("training.time.bad", value=value, timezone=group.timezone) from None
        if moment < self.now:
            raise Refusal("training.time.past", value=value, timezone=group.timezone)
        return moment

    def publish(self, a: Announcement) -> int:
        if a.status == "published":
            return 0
        a.status, a.published_at = "published", self.now
        origin = self.s.get(Group, a.group_id)
        groups = training_groups(self.s, origin)
        for group in groups:
            self._post(a, group)
        if a.kind == "change":
            self._schedule_reminder(a, origin)
        return len(groups)

    def _post(self, a: Announcement, group: Group) -> None:
        caps = self.ctx.caps(group.platform)
        title, body = self.render(a, group)
        key = f"training.post:{a.id}:{group.id}"
        if self._buttons(group):
            button = Button(t(group.locale, "training.button.seen"), "training.seen", str(a.id), "primary")
            action = PostCard(group.platform, title, body, (button,), chat_id=group.chat_id)
        else:
            action = PostMessage(group.platform, group.chat_id, f"{title}\n{body}")
        enqueue(self.s, action, key=key, now=self.now, group_id=group.id)
        weekly_digest.ensure_scheduled(self.ctx, self.s, group)
        if caps.pin:
            schedule(self.s, key=f"training.pin:{a.id}:{group.id}:0", kind="training.pin", due_at=self.now,
                     now=self.now, payload={"outbox_key": key, "group": group.id, "try": 0})

    def _buttons(self, group: Group) -> bool:
        # Without buttons in groups (WeCom's appchat/send) the post is text and `seen N` acknowledges.
        caps = self.ctx.caps(group.platform)
        return caps.cards and caps.group_buttons

    def render(self, a: Announcement, group: Group) -> tuple[str, str]:
        loc, tz = group.locale, group.timezone
        author = name_of(self.s.get(Person, a.author_id), group.platform)
        seen = t(loc, "training.post.seen" if self._buttons(group) else "training.post.seen_text", number=a.id)
        if a.kind == "change":
            original = self.s.get(Announcement, a.original_id)
            field = t(loc, f"training.change.{a.change_field}")
            old, new = a.old_value or "", a.new_value or ""
            if a.change_field == "time":
                old = local_text(datetime.fromisoformat(old), tz)
                new = local_text(datetime.fromisoformat(new), tz)
            title = t(loc, "training.change.title", number=a.id, original=original.id, topic=a.topic)
            body = t(loc, "training.change.body", field=field, old=old, new=new, original=original.id,
                     published=local_text(original.published_at or original.created_at, tz), seen=seen)
            return title, body
        place = t(loc, "training.post.place", place=a.place) + "\n" if a.place else ""
        title = t(loc, f"training.post.title.{a.kind}", number=a.id, topic=a.topic)
        body = t(loc, "training.post.body", topic=a.topic, time=local_text(a.starts_at, tz), place=place,
                 points=a.points, published=local_text(a.published_at or self.now, tz), author=author, seen=seen)
        return title, body

    # --- change notices (R3.2.1) ---------------------------------------------------------------------
    def change(self, original: Announcement, group: Group, author: Account, what: str, value: str,
               locale: str) -> Announcement:
        while original.original_id is not None:
            original = self.s.get(Announcement, original.original_id)
        if what == "time":
            new_time = self._time(value, group, locale)
            old, new = original.starts_at.isoformat(), new_time.isoformat()
            original.starts_at = new_time
        else:
            old, new = original.points, value
            original.points = value
        a = Announcement(group_id=group.id, training_id=original.training_id, kind="change", topic=original.topic,
                         starts_at=original.starts_at, place=original.place, points=original.points,
                         author_id=author.person_id, publish_at=self.now, status="scheduled",
                         original_id=original.id, change_field=what, old_value=old, new_value=new,
                         created_at=self.now)
        self.s.add(a)
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{author.person_id}", action="training.changed",
                     clause="R3.2.1", group_id=group.id, person_id=author.person_id, announcement=a.id,
                     original=original.id, field=what, old=old, new=new)
        self.publish(a)
        return a

    def _schedule_reminder(self, a: Announcement, group: Group) -> None:
        due = a.starts_at - timedelta(hours=self.settings(group).change_reminder_hours)
        due = max(due, self.now + timedelta(hours=1))
        if due < a.starts_at:
            schedule(self.s, key=f"training.change_reminder:{a.id}", kind="training.change_reminder",
                     due_at=due, now=self.now, payload={"announcement": a.id})

    # --- acknowledgements ----------------------------------------------------------------------------
    def acknowledge(self, a: Announcement, account: Account) -> bool:
        """True the first time; a second `seen` changes nothing."""
        first = insert_ignore(self.s, Acknowledgement, dict(announcement_id=a.id, person_id=account.person_id,
                                                           at=self.now))
        if first:
            audit.record(self.s, at=self.now, actor=f"person:{account.person_id}", action="training.seen",
                         clause="R3.2.1", group_id=a.group_id, person_id=account.person_id, announcement=a.id)
        return bool(first)

    def unseen(self, a: Announcement):
        """Members of the training's groups who have not acknowledged `a`."""
        acked = set(self.s.scalars(select(Acknowledgement.person_id).where(Acknowledgement.announcement_id == a.id)))
        groups = training_groups(self.s, self.s.get(Group, a.group_id))
        return [(p, acc, g) for p, acc, g in members(self.s, groups) if p.id not in acked]

    def remind_unseen(self, a: Announcement) -> int:
        sent = 0
        for person, account, group in self.unseen(a):
            text = t(group.locale, "training.change.reminder", number=a.id, topic=a.topic,
                     time=local_text(a.starts_at, group.timezone))
            enqueue(self.s, SendPrivate(account.platform, account.user_id, text),
                    key=f"training.remind:{a.id}:{person.id}", now=self.now, group_id=group.id)
            sent += 1
        audit.record(self.s, at=self.now, actor="system", action="training.change_reminded", clause="R3.2.1",
                     group_id=a.group_id, announcement=a.id, reminded=sent)
        return sent

    # --- re-surfacing: `schedule` and `notices` -------------------------------------------------------
    def _of_training(self, group: Group):
        query = select(Announcement).where(Announcement.status == "published")
        if group.training_id is not None:
            return query.where(Announcement.training_id == group.training_id)
        return query.where(Announcement.group_id == group.id)

    def upcoming(self, group: Group) -> list[Announcement]:
        return list(self.s.scalars(self._of_training(group).where(
            Announcement.kind.in_(("session", "notice")), Announcement.starts_at >= self.now)
            .order_by(Announcement.starts_at).limit(20)))

    def recent(self, group: Group, limit: int = 5) -> list[Announcement]:
        return list(self.s.scalars(self._of_training(group).order_by(Announcement.published_at.desc(),
                                                                     Announcement.id.desc()).limit(limit)))


# --- scheduled jobs ---------------------------------------------------------------------------------

def publish_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    a = s.get(Announcement, payload["announcement"])
    if a is not None:
        Announcements(ctx, s).publish(a)


def pin_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    """Pin a delivered post; while it is still on its way, look again in 30 seconds."""
    now = ctx.clock.now()
    item = s.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == stored_key(payload["outbox_key"])))
    group = s.get(Group, payload["group"])
    if item is None or group is None:
        return
    if item.status == "done" and item.remote_id:
        enqueue(s, PinMessage(group.platform, group.chat_id, item.remote_id),
                key=f"pin:{payload['outbox_key']}", now=now, group_id=group.id)
        return
    tries = int(payload.get("try", 0)) + 1
    if item.status == "pending" and tries < PIN_TRIES:
        schedule(s, key=f"{payload['outbox_key'].replace('training.post', 'training.pin')}:{tries}",
                 kind="training.pin", due_at=now + timedelta(seconds=30), now=now, payload={**payload, "try": tries})


def change_reminder_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    a = s.get(Announcement, payload["announcement"])
    if a is not None:
        Announcements(ctx, s).remind_unseen(a)
