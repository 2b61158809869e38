"""Exams in the chat (R6.1.1): multiple-choice and true/false questions sent to each member privately
as cards (one button per option) or, where cards cannot be shown, as text answered with
`answer QUIZ.QUESTION OPTION`; an open window, a time limit counted from the member's first answer,
one answer per member per question, graded automatically."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actions import Button, PostCard, PostMessage, SendPrivate
from core.assessment.cohort import parse_when, show_when, zone
from core.assessment.models import AssessmentScheme, Quiz, QuizAnswer, Remediation
from core.db.models import Account
from core.db.upsert import insert_ignore
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.refusals import Refusal
from core.kernel.roster import Contact, groups_of, is_staff, roster, tell, trainee
from core.kernel.scheduler import schedule
from core.roles import STAFF

LETTERS = "ABCDEF"
TRUE_WORDS = {"t": 0, "true": 0, "对": 0, "對": 0, "是": 0, "f": 1, "false": 1, "错": 1, "錯": 1, "否": 1}
_QUESTION = re.compile(r"(?:^|(?<=\s))(?:Q\d*|题|題)\s*[:：]", re.IGNORECASE)
_FIELD = re.compile(r"(?:^|(?<=\s))(title|opens|closes|limit|component|makeup|标题|標題|开始|開始|结束|結束|限时|限時|补考|補考)"
                    r"\s*[:：]", re.IGNORECASE)
_FIELD_NAMES = {"补考": "makeup", "補考": "makeup", "标题": "title", "標題": "title", "开始": "opens", "開始": "opens", "结束": "closes",
                "結束": "closes", "限时": "limit", "限時": "limit"}
_ANSWER = re.compile(r"^#?(\d{1,9})[.\s/]+(\d{1,3})\s+(\S+)$")


def parse_questions(text: str) -> list[dict]:
    out = []
    for chunk in (c.strip() for c in _QUESTION.split(text)[1:]):
        parts = [p.strip() for p in chunk.split("|")]
        question, options = parts[0], [p for p in parts[1:] if p]
        if not question:
            raise Refusal("quiz.bad_question", question=chunk[:60] or "?")
        if len(options) == 1 and options[0].rstrip("*").casefold() in TRUE_WORDS:
            out.append({"text": question, "kind": "tf", "options": [], "answer": TRUE_WORDS[options[0].rstrip("*").casefold()],
                        "points": 1})
            continue
        marked = [i for i, o in enumerate(options) if o.endswith("*")]
        if not 2 <= len(options) <= len(LETTERS) or len(marked) != 1:
            raise Refusal("quiz.bad_question", question=question[:60])
        out.append({"text": question, "kind": "mc", "options": [o.rstrip("*").strip() for o in options],
                    "answer": marked[0], "points": 1})
    if not out:
        raise Refusal("quiz.no_questions")
    return out


def questions_from_file(data: object) -> list[dict]:
    """`questions:` of a quiz file: `{text, answer: true|false}` or `{text, options: [...], answer: A | the
    option's text}`, optional `points`."""
    if not isinstance(data, list) or not data or len(data) > 100:
        raise Refusal("quiz.no_questions")
    out = []
    for q in data:
        if not isinstance(q, dict) or set(q) - {"text", "options", "answer", "points"} or not str(q.get("text", "")).strip():
            raise Refusal("quiz.bad_question", question=str(q)[:60])
        text, answer, points = str(q["text"]).strip(), q.get("answer"), q.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 100:
            raise Refusal("quiz.bad_question", question=text[:60])
        if "options" not in q:
            if not isinstance(answer, bool):
                raise Refusal("quiz.bad_question", question=text[:60])
            out.append({"text": text, "kind": "tf", "options": [], "answer": 0 if answer else 1, "points": points})
            continue
        options = q["options"]
        if not isinstance(options, list) or not 2 <= len(options) <= len(LETTERS) \
                or any(not str(o).strip() for o in options):
            raise Refusal("quiz.bad_question", question=text[:60])
        options = [str(o).strip() for o in options]
        if isinstance(answer, str) and len(answer) == 1 and answer.upper() in LETTERS[:len(options)]:
            index = LETTERS.index(answer.upper())
        elif str(answer) in options:
            index = options.index(str(answer))
        else:
            raise Refusal("quiz.bad_question", question=text[:60])
        out.append({"text": text, "kind": "mc", "options": options, "answer": index, "points": points})
    return out


def labels(q: dict, locale: str) -> list[str]:
    return [t(locale, "quiz.true"), t(locale, "quiz.false")] if q["kind"] == "tf" else list(q["options"])


def parse_option(q: dict, token: str) -> int | None:
    token = token.strip().casefold()
    if q["kind"] == "tf" and token in TRUE_WORDS:
        return TRUE_WORDS[token]
    n = len(labels(q, "en"))
    if len(token) == 1 and token.upper() in LETTERS[:n]:
        return LETTERS.index(token.upper())
    if token.isdigit() and 1 <= int(token) <= n:
        return int(token) - 1
    return None


def parse_answer(text: str) -> tuple[int, int, str] | None:
    """`5.2 B`, `5 2 B` -> (quiz, question, option token)."""
    m = _ANSWER.match(text.strip())
    return (int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def score_of(s: Session, quiz: Quiz, person_id: int) -> float:
    qs = quiz.questions["items"]
    total = sum(q["points"] for q in qs) or 1
    right = sum(qs[a.question - 1]["points"] for a in s.scalars(select(QuizAnswer).where(
        QuizAnswer.quiz_id == quiz.id, QuizAnswer.person_id == person_id, QuizAnswer.correct.is_(True))))
    return 100.0 * right / total


def answered(s: Session, quiz_id: int, person_id: int) -> int:
    return s.scalar(select(func.count()).select_from(QuizAnswer).where(
        QuizAnswer.quiz_id == quiz_id, QuizAnswer.person_id == person_id)) or 0


def is_makeup(quiz: Quiz) -> bool:
    return bool(quiz.questions.get("makeup"))


def candidates(s: Session, quiz: Quiz) -> dict[int, Contact]:
    """Who takes the quiz: every trainee, or for a make-up exam those with an open make-up (R6.3.2)."""
    people = roster(s, quiz.training_id)
    if not is_makeup(quiz):
        return people
    open_ids = set(s.scalars(select(Remediation.person_id).where(
        Remediation.training_id == quiz.training_id, Remediation.kind == "makeup", Remediation.status == "open")))
    return {pid: c for pid, c in people.items() if pid in open_ids}


class Quizzes:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s, self.now = ctx, s, ctx.clock.now()

    def create(self, training_id: int, text: str, by: int) -> Quiz:
        head = _QUESTION.split(text)[0]
        fields, found = {}, list(_FIELD.finditer(head))
        for i, m in enumerate(found):
            end = found[i + 1].start() if i + 1 < len(found) else len(head)
            key = m.group(1).casefold()
            fields[_FIELD_NAMES.get(key, key)] = head[m.end():end].strip()
        if not found and head.strip():
            fields["title"] = head.strip()
        return self.create_from(training_id, fields, parse_questions(text), by)

    def create_from(self, training_id: int, fields: dict[str, str], items: list[dict], by: int) -> Quiz:
        """A quiz from its fields (title, opens, closes, limit, component, makeup) and checked questions."""
        tz = zone(self.s, training_id)
        title = fields.get("title", "")
        if not title or len(title) > 200:
            raise Refusal("assign.bad_title")
        opens = parse_when(fields["opens"], tz) if fields.get("opens") else self.now
        if opens is None:
            raise Refusal("assign.bad_due", value=fields["opens"])
        closes = parse_when(fields["closes"], tz) if fields.get("closes") else opens + timedelta(days=1)
        if closes is None:
            raise Refusal("assign.bad_due", value=fields["closes"])
        if closes <= max(opens, self.now):
            raise Refusal("assign.due_past", value=fields.get("closes", "?"))
        limit = None
        if fields.get("limit"):
            if not fields["limit"].isdigit() or not 1 <= int(fields["limit"]) <= 24 * 60:
                raise Refusal("quiz.bad_limit", value=fields["limit"])
            limit = int(fields["limit"])
        component = fields.get("component") or None
        makeup = fields.get("makeup", "").casefold() in ("yes", "true", "y", "是")
        scheme = self.s.scalar(select(AssessmentScheme).where(AssessmentScheme.training_id == training_id))
        if makeup:
            component = None    # a make-up exam counts as a make-up attempt, not towards a component
        elif scheme is not None:
            kinds = {c["key"]: c["kind"] for c in scheme.components}
            if component is None:
                component = next((k for k, kind in kinds.items() if kind == "exam"), None)
            elif kinds.get(component) != "exam":
                raise Refusal("assign.bad_component", component=component,
                              known=", ".join(k for k, kind in kinds.items() if kind == "exam") or "-")
        quiz = Quiz(training_id=training_id, title=title, component=component,
                    questions={"items": items, "makeup": makeup}, opens_at=opens, closes_at=closes,
                    time_limit_minutes=limit, created_by=by, created_at=self.now)
        self.s.add(quiz)
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="quiz.created", clause="R6.1.1",
                     quiz=quiz.id, training_id=training_id, questions=len(quiz.questions["items"]),
                     opens=opens.isoformat(), closes=closes.isoformat(), limit=limit)
        if opens <= self.now:
            self.open(quiz)
        else:
            schedule(self.s, key=f"assessment:quiz-open:{quiz.id}", kind="assessment.quiz_open", due_at=opens,
                     now=self.now, payload={"quiz_id": quiz.id})
        schedule(self.s, key=f"assessment:quiz-close:{quiz.id}", kind="assessment.quiz_close", due_at=closes,
                 now=self.now, payload={"quiz_id": quiz.id})
        return quiz

    def open(self, quiz: Quiz) -> None:
        tz = zone(self.s, quiz.training_id)
        limit = quiz.time_limit_minutes or 0
        for g in groups_of(self.s, quiz.training_id):
            enqueue(self.s, PostMessage(g.platform, g.chat_id, t(
                g.locale, "quiz.opened", n=quiz.id, title=quiz.title, questions=len(quiz.questions["items"]),
                closes=show_when(quiz.closes_at, tz), limit=limit or "-")),
                key=f"assessment:quiz:{quiz.id}:group:{g.id}", now=self.now, group_id=g.id)
        for person_id, c in candidates(self.s, quiz).items():
            self._send(quiz, c)

    def _send(self, quiz: Quiz, c: Contact) -> None:
        locale, items = c.group.locale, quiz.questions["items"]
        for i, q in enumerate(items, start=1):
            title = t(locale, "quiz.card_title", n=quiz.id, title=quiz.title, q=i, of=len(items))
            opts = labels(q, locale)
            key = f"assessment:quiz:{quiz.id}:{c.person_id}:{i}"
            if self.ctx.caps(c.account.platform).cards:
                buttons = tuple(Button(f"{LETTERS[o]}. {label}"[:60], "assessment.answer", f"{quiz.id}.{i}.{o + 1}")
                                for o, label in enumerate(opts))
                action = PostCard(c.account.platform, title, q["text"], buttons, user_id=c.account.user_id)
            else:
                lines = [title, q["text"], *(f"{LETTERS[o]}. {label}" for o, label in enumerate(opts)),
                         t(locale, "quiz.how_to_answer", n=quiz.id, q=i)]
                action = SendPrivate(c.account.platform, c.account.user_id, "\n".join(lines))
            enqueue(self.s, action, key=key, now=self.now, group_id=c.group.id)

    def answer(self, account: Account, quiz_id: int, question: int, token: str) -> tuple[str, Contact]:
        quiz = self.s.get(Quiz, quiz_id)
        c = trainee(self.s, quiz.training_id, account.person_id) if quiz is not None else None
        if c is None:   # permission before existence: another training's quiz is as unknown as no quiz at all
            audit.record(self.s, at=self.now, actor=f"person:{account.person_id}", action="command.refused",
                         clause="R6.1.2", person_id=account.person_id, command="choose", reason="item",
                         quiz=quiz_id)
            if quiz is not None and is_staff(self.s, account.person_id, quiz.training_id, STAFF):
                raise Refusal("assess.not_in_training", audited=True,   # staff know it exists
                              member=account.person.name)
            raise Refusal("quiz.unknown", audited=True, n=quiz_id)
        if is_makeup(quiz) and self.s.scalar(select(Remediation.id).where(
                Remediation.training_id == quiz.training_id, Remediation.person_id == account.person_id,
                Remediation.kind == "makeup", Remediation.status == "open")) is None:
            raise Refusal("quiz.makeup_only", n=quiz_id)
        tz = zone(self.s, quiz.training_id)
        if self.now < quiz.opens_at:
            raise Refusal("quiz.not_open", n=quiz.id, opens=show_when(quiz.opens_at, tz))
        if self.now > quiz.closes_at:
            raise Refusal("quiz.closed", n=quiz.id)
        items = quiz.questions["items"]
        if not 1 <= question <= len(items):
            raise Refusal("quiz.bad_option", n=quiz.id, q=question)
        option = parse_option(items[question - 1], token)
        if option is None:
            raise Refusal("quiz.bad_option", n=quiz.id, q=question)
        first = self.s.scalar(select(func.min(QuizAnswer.answered_at)).where(
            QuizAnswer.quiz_id == quiz.id, QuizAnswer.person_id == account.person_id))
        if first is not None and quiz.time_limit_minutes and \
                self.now > first + timedelta(minutes=quiz.time_limit_minutes):
            raise Refusal("quiz.time_up", n=quiz.id, limit=quiz.time_limit_minutes)
        # One answer per member per question: the unique constraint decides, even for a double click.
        first_answer = insert_ignore(self.s, QuizAnswer, dict(
            quiz_id=quiz.id, question=question, person_id=account.person_id, option=option,
            correct=option == items[question - 1]["answer"], answered_at=self.now))
        if not first_answer:
            raise Refusal("quiz.already_answered", n=quiz.id, q=question)
        audit.record(self.s, at=self.now, actor=f"person:{account.person_id}", action="quiz.answered",
                     clause="R6.1.1", person_id=account.person_id, quiz=quiz.id, question=question, option=option)
        done = answered(self.s, quiz.id, account.person_id)
        return t(c.group.locale, "quiz.recorded", n=quiz.id, q=question, done=done, of=len(items)), c


def open_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    quiz = s.get(Quiz, payload["quiz_id"])
    if quiz is not None:
        Quizzes(ctx, s).open(quiz)


def close_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    """`assessment.quiz_close`: each member who answered hears their automatic score."""
    quiz = s.get(Quiz, payload["quiz_id"])
    if quiz is None:
        return
    now = ctx.clock.now()
    for person_id, c in candidates(s, quiz).items():
        if answered(s, quiz.id, person_id):
            tell(s, c, t(c.group.locale, "quiz.result", n=quiz.id, title=quiz.title,
                         score=f"{score_of(s, quiz, person_id):.1f}"),
                 f"assessment:quiz-result:{quiz.id}:{person_id}", now)
