"""Question tracking (R4.3.1) and grouping of similar questions (R4.3.2).

A question is tracked from an explicit `ask`, from a member's message that @-mentions an instructor,
or — where Steward sees every group message (Slack) — from a message that reads as a question. It is
answered by an instructor's reply in its thread, an instructor's message naming the asker, or
`answer N`. Past the group's deadline in working hours the instructors are reminded, then the lead.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actions import PostMessage, SendPrivate
from core.db.models import Account, Group, Person
from core.events import MessagePosted
from core.i18n import Mention, t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import roles_of
from core.kernel.message_jobs import on_message
from core.kernel.outbox import enqueue
from core.kernel.refusals import Refusal
from core.kernel.roster import STAFF, name_of, staff_accounts
from core.kernel.scheduler import schedule
from core.kernel.working_hours import add_working_hours
from core.training import digest as weekly_digest
from core.training.announcement_format import local_text
from core.training.models import Question
from core.training.similarity import reads_as_question, similarity

SIMILAR_WINDOW = timedelta(days=14)
SIMILAR_CANDIDATES = 200
SHOWN_IN_CLUSTER = 10


def _worth_telling(size: int) -> bool:
    """2, 3, 5, 10, 20, 30, ...: a cluster's growth, not every new question."""
    return size in (2, 3, 5) or (size >= 10 and size % 10 == 0)


class Questions:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s = ctx, s
        self.now = ctx.clock.now()

    def settings(self, group: Group):
        return self.ctx.config.all_templates()[group.template].training

    def _later(self, group: Group, hours: float):
        cfg = self.settings(group)
        return add_working_hours(self.now, hours, group.timezone, cfg.working_days, *cfg.working_hours,
                                 holidays=frozenset(cfg.holidays), extra_workdays=frozenset(cfg.extra_workdays))

    def track(self, group: Group, account: Account, text: str, source: str,
              message_id: str | None = None) -> Question:
        q = Question(group_id=group.id, asker_id=account.person_id, account_id=account.id, message_id=message_id,
                     text=text[:4000], source=source, status="open",
                     deadline_at=self._later(group, self.settings(group).question_deadline_hours),
                     created_at=self.now)
        self.s.add(q)
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{account.person_id}", action="training.question",
                     clause="R4.3.1", group_id=group.id, person_id=account.person_id, question=q.id, source=source)
        schedule(self.s, key=f"training.question_due:{q.id}:1", kind="training.question_due", due_at=q.deadline_at,
                 now=self.now, payload={"question": q.id, "stage": 1})
        self._group_similar(q, group)
        weekly_digest.ensure_scheduled(self.ctx, self.s, group)
        return q

    def _group_similar(self, q: Question, group: Group) -> None:
        """R4.3.2: join the most similar open question's cluster; offer the lead a collective answer."""
        threshold = self.settings(group).similar_questions
        best_id, score = None, 0.0
        # The most recent open questions only: grouping stays cheap however many pile up.
        for other_id, other_text in self.s.execute(select(Question.id, Question.text).where(
                Question.group_id == group.id, Question.status == "open", Question.id != q.id,
                Question.created_at >= self.now - SIMILAR_WINDOW).order_by(Question.id.desc())
                .limit(SIMILAR_CANDIDATES)):
            value = similarity(q.text, other_text)
            if value >= threshold and value > score:
                best_id, score = other_id, value
        if best_id is None:
            return
        best = self.s.get(Question, best_id)
        best.cluster_id = best.cluster_id or best.id
        q.cluster_id = best.cluster_id
        self.s.flush()
        size = self.s.scalar(select(func.count()).select_from(Question).where(
            Question.cluster_id == q.cluster_id, Question.status == "open"))
        if not _worth_telling(size):
            return   # the lead hears when a cluster forms and as it grows, never once per question
        latest = list(self.s.scalars(select(Question).where(Question.cluster_id == q.cluster_id,
                                                            Question.status == "open")
                                     .order_by(Question.id.desc()).limit(SHOWN_IN_CLUSTER)))[::-1]
        items = "\n".join(f"Q{c.id} · {name_of(self.s.get(Person, c.asker_id), group.platform)}: {c.text[:120]}"
                          for c in latest)
        for lead in staff_accounts(self.s, group, "lead"):
            enqueue(self.s, SendPrivate(lead.platform, lead.user_id, t(
                group.locale, "training.question.similar", count=size, group=group.name, items=items,
                number=q.cluster_id)),
                key=f"training.similar:{q.cluster_id}:{size}:{lead.id}", now=self.now, group_id=group.id)

    def cluster(self, q: Question) -> list[Question]:
        if q.cluster_id is None:
            return [q]
        return list(self.s.scalars(select(Question).where(Question.cluster_id == q.cluster_id,
                                                          Question.status == "open").order_by(Question.id)))

    def answer(self, q: Question, by: Account, text: str, post: bool, locale: str) -> list[Question]:
        """Answer `q` and, when it has similar open questions, all of them at once (R4.3.2)."""
        if q.status != "open":
            raise Refusal("training.answer.closed", number=q.id)
        group = self.s.get(Group, q.group_id)
        answered = self.cluster(q)
        for each in answered:
            each.status, each.answered_by, each.answer, each.answered_at = "answered", by.person_id, text, self.now
            audit.record(self.s, at=self.now, actor=f"person:{by.person_id}", action="training.answered",
                         clause="R4.3.2" if len(answered) > 1 else "R4.3.1", group_id=group.id,
                         person_id=each.asker_id, question=each.id)
        askers = [self.s.get(Account, each.account_id) for each in answered]
        who = name_of(by.person, group.platform)
        if post:
            mentions = Mention(" ".join(f"<@{a.user_id}>" for a in askers if a.platform == group.platform))
            key = "training.answer.collective" if len(answered) > 1 else "training.answer.post"
            enqueue(self.s, PostMessage(group.platform, group.chat_id, t(
                group.locale, key, number=q.id, askers=mentions, question=q.text[:300], answer=text, by=who)),
                key=f"training.answer:{q.id}", now=self.now, group_id=group.id)
        for each, account in zip(answered, askers):
            enqueue(self.s, SendPrivate(account.platform, account.user_id, t(
                group.locale, "training.answer.asker", number=each.id, answer=text[:1000], by=who)),
                key=f"training.answered:{each.id}", now=self.now, group_id=group.id)
        return answered

    def open_in(self, group: Group) -> list[Question]:
        return list(self.s.scalars(select(Question).where(Question.group_id == group.id, Question.status == "open")
                                   .order_by(Question.id).limit(30)))

    def remind(self, q: Question, stage: int) -> None:
        """Stage 1 reminds the instructors (or the lead when there is none); stage 2 the lead."""
        group = self.s.get(Group, q.group_id)
        asker = name_of(self.s.get(Person, q.asker_id), group.platform)
        targets = staff_accounts(self.s, group, "instructor") if stage == 1 else []
        key = "training.question.remind_instructor"
        if not targets:
            targets, key, stage = staff_accounts(self.s, group, "lead"), "training.question.remind_lead", 2
        for account in targets:
            enqueue(self.s, SendPrivate(account.platform, account.user_id, t(
                group.locale, key, number=q.id, asker=asker, group=group.name, text=q.text[:500],
                asked=local_text(q.created_at, group.timezone))),
                key=f"training.q_remind:{q.id}:{stage}:{account.id}", now=self.now, group_id=group.id)
        audit.record(self.s, at=self.now, actor="system", action="training.question_overdue", clause="R4.3.1",
                     group_id=group.id, question=q.id, stage=stage, reminded=len(targets))
        if stage == 1:
            schedule(self.s, key=f"training.question_due:{q.id}:2", kind="training.question_due",
                     due_at=self._later(group, self.settings(group).lead_after_hours), now=self.now,
                     payload={"question": q.id, "stage": 2})


def observe(ctx: CoreContext, s: Session, group_id: int, account_id: int, person_id: int, e: MessagePosted) -> None:
    """A group message that is no command: might it ask or answer a question? (called from inbound)

    Only the cheap test runs here; who is staff, which question a reply answers and whether a question
    is tracked are decided on the worker (`watch_job`), in arrival order, so the platform's ack stays fast
    and an answer given a second after its question still finds it.
    """
    asks = (ctx.caps(e.platform).sees_all_messages or e.addressed) and not e.thread_id and reads_as_question(e.text)
    if not (e.thread_id or e.mentions or asks):
        return   # the hot path: most messages stop here without a query
    on_message(s, e, "training.watch_message", {
        "group": group_id, "account": account_id, "text": e.text[:4000], "mentions": list(e.mentions[:50]),
        "thread": e.thread_id, "asks": bool(asks), "message": e.message_id})


def watch_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    """R4.3.1: an instructor's reply answers the question it replies to or the asker it names; a member's
    question to an instructor (or one that reads as a question where Steward hears it) is tracked."""
    group, account = s.get(Group, payload["group"]), s.get(Account, payload["account"])
    if group is None or account is None or not group.active:
        return
    text, thread, mentions = payload["text"], payload.get("thread"), payload.get("mentions") or []
    questions = Questions(ctx, s)
    if roles_of(s, account.person_id, group.id) & STAFF:
        if thread:
            asked = s.scalar(select(Question).where(Question.group_id == group.id, Question.message_id == thread,
                                                    Question.status == "open"))
            if asked is not None:
                questions.answer(asked, account, text, post=False, locale=group.locale)
                return
        for user_id in mentions:
            asked = s.scalar(select(Question).join(Account, Account.id == Question.account_id).where(
                Question.group_id == group.id, Question.status == "open", Account.platform == account.platform,
                Account.user_id == user_id).order_by(Question.id.desc()).limit(1))
            if asked is not None:
                questions.answer(asked, account, text, post=False, locale=group.locale)
        return
    source = None
    if mentions and {a.user_id for a in staff_accounts(s, group, "instructor")} & set(mentions):
        source = "mention"
    elif payload.get("asks"):
        source = "question"   # Slack hears every message; on WeCom and DingTalk a question put to Steward
    if source is not None and s.scalar(select(Question.id).where(
            Question.group_id == group.id, Question.message_id == payload["message"]).limit(1)) is None:
        questions.track(group, account, text, source, payload["message"])   # an edit is not asked twice


def track_question_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    """Jobs stored before `watch_job` existed: the decision to track was already taken."""
    group, account = s.get(Group, payload["group"]), s.get(Account, payload["account"])
    if group is not None and account is not None and group.active:
        Questions(ctx, s).track(group, account, payload["text"], payload["source"], payload["message"])


def question_due_job(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    q = s.get(Question, payload["question"])
    if q is not None and q.status == "open":
        Questions(ctx, s).remind(q, int(payload.get("stage", 1)))
