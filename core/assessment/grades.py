"""The gradebook (R6.2.1, R6.3.1, R6.3.2): component scores, the weighted total, the pass mark, the
ranking, honours with the member's consent, make-up exams and tutoring (Moodle's "reopen until pass").

Each component's score is in percent. An assignment counts once it is graded, or as 0 once the
member's cut-off (or due date, without a cut-off) has passed with nothing submitted; a quiz counts once
it has closed (unanswered questions score 0). A score entered by a reviewer for a component
(practical work) is that component's score.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import PostMessage
from core.assessment.assignments import deadlines, max_score
from core.assessment.cohort import show_when, zone
from core.assessment.models import AssessmentScheme, Assignment, ComponentScore, HonoursConsent, Quiz, Remediation
from core.assessment.quizzes import answered, candidates, close_job, is_makeup, score_of
from core.assessment.submissions import latest
from core.db.models import Person, Training
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.refusals import Refusal
from core.kernel.roster import Contact, groups_of, roster, tell
from core.kernel.scheduler import schedule


@dataclass
class Item:
    """One graded (or gradable) piece of work of one member, for transcripts."""
    component: str
    kind: str              # assignment | quiz | entered
    ref: str               # "#3 Week 1 report"
    percent: float | None  # None: not counted yet
    detail: str = ""


@dataclass
class Line:
    person_id: int
    name: str
    contact: Contact
    components: dict[str, float | None] = field(default_factory=dict)
    total: float = 0.0
    complete: bool = False
    passed: bool = False
    rank: int = 0
    remediation: Remediation | None = None
    items: list[Item] = field(default_factory=list)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


class Gradebook:
    def __init__(self, ctx: CoreContext, s: Session, training: Training) -> None:
        self.ctx, self.s, self.training = ctx, s, training
        self.now = ctx.clock.now()
        self.scheme = s.scalar(select(AssessmentScheme).where(AssessmentScheme.training_id == training.id))
        self.pass_mark = self.scheme.pass_mark if self.scheme else ctx.config.assessment.pass_mark

    def _owner(self, component: str | None, kind: str) -> str | None:
        """The component an item counts towards: its own, else the scheme's first of its kind."""
        if component is not None or self.scheme is None:
            return component
        return next((c["key"] for c in self.scheme.components if c["kind"] == kind), None)

    def lines(self, only: int | None = None) -> list[Line]:
        """Every member's line, ranked; with `only`, that member's line alone (unranked: `my` stays cheap)."""
        people = roster(self.s, self.training.id)
        if only is not None:
            people = {only: people[only]} if only in people else {}
        assignments = list(self.s.scalars(select(Assignment).where(Assignment.training_id == self.training.id)
                                          .order_by(Assignment.id)))
        quizzes = list(self.s.scalars(select(Quiz).where(Quiz.training_id == self.training.id).order_by(Quiz.id)))
        entered = {(e.person_id, e.component): e for e in self.s.scalars(select(ComponentScore).where(
            ComponentScore.training_id == self.training.id))}
        remediations = {r.person_id: r for r in self.s.scalars(select(Remediation).where(
            Remediation.training_id == self.training.id))}
        out = []
        for person_id, c in people.items():
            line = Line(person_id, self.s.get(Person, person_id).name, c, remediation=remediations.get(person_id))
            for a in assignments:
                line.items.append(self._assignment_item(a, person_id))
            for q in quizzes:
                closed = q.closes_at <= self.now
                if is_makeup(q):
                    if closed and answered(self.s, q.id, person_id):
                        line.items.append(Item("", "makeup", f"Q{q.id} {q.title}", score_of(self.s, q, person_id)))
                    continue
                line.items.append(Item(self._owner(q.component, "exam") or "", "quiz", f"Q{q.id} {q.title}",
                                       score_of(self.s, q, person_id) if closed else None))
            for (pid, comp), e in entered.items():
                if pid == person_id:
                    line.items.append(Item(comp, "entered", comp, e.score, e.note))
            self._total(line, entered)
            out.append(line)
        ranked = sorted(out, key=lambda ln: (-ln.total, ln.name))
        for i, ln in enumerate(ranked):
            ln.rank = i + 1 if i == 0 or ln.total < ranked[i - 1].total - 1e-9 else ranked[i - 1].rank
        return ranked

    def _assignment_item(self, a: Assignment, person_id: int) -> Item:
        comp = self._owner(a.component, "assignment") or ""
        sub = latest(self.s, a.id, person_id)
        ref = f"#{a.id} {a.title}"
        if sub is not None and sub.status == "graded" and sub.score is not None:
            late = " late" if sub.late else ""
            return Item(comp, "assignment", ref, 100.0 * sub.score / max_score(a),
                        f"{sub.score:g}/{max_score(a):g}{late}; {sub.feedback or ''}".strip())
        due, cutoff = deadlines(self.s, a, person_id)
        closed = self.now > (cutoff or due)
        if (sub is None or sub.status == "reopened") and closed:
            return Item(comp, "assignment", ref, 0.0, "missing")
        return Item(comp, "assignment", ref, None, "pending")

    def _total(self, line: Line, entered: dict) -> None:
        if self.scheme is None:
            pcts = [i.percent for i in line.items if i.percent is not None and i.kind != "makeup"]
            line.total = _mean(pcts) or 0.0
            line.complete = bool(pcts)
        else:
            total, complete = 0.0, True
            for c in self.scheme.components:
                key = c["key"]
                if (line.person_id, key) in entered:
                    pct = entered[(line.person_id, key)].score
                else:
                    pct = _mean([i.percent for i in line.items
                                 if i.component == key and i.kind != "entered" and i.percent is not None])
                line.components[key] = pct
                complete &= pct is not None
                total += c["weight"] * (pct or 0.0) / 100
            line.total, line.complete = round(total, 2), complete
        r = line.remediation
        line.passed = line.total >= self.pass_mark - 1e-9 or (r is not None and r.status == "passed")

    # --- honours and remediation --------------------------------------------------------------
    def honoured(self, lines: list[Line]) -> list[Line]:
        if self.scheme is None:
            return []
        top, threshold = self.scheme.honours_top, self.scheme.honours_threshold
        return [ln for ln in lines if ln.passed and ln.total >= self.pass_mark
                and ((top and ln.rank <= top) or (threshold is not None and ln.total >= threshold))]

    def announce_honours(self, by: int) -> tuple[int, int]:
        """Named in the groups only with consent; everyone honoured hears it privately (R6.3.2)."""
        lines = self.lines()
        best = self.honoured(lines)
        if not best:
            raise Refusal("honours.none")
        consent = {h.person_id: h.consent for h in self.s.scalars(select(HonoursConsent).where(
            HonoursConsent.person_id.in_([ln.person_id for ln in best])))}
        public = [ln for ln in best if consent.get(ln.person_id)]
        for ln in best:
            tell(self.s, ln.contact, t(ln.contact.group.locale, "honours.private", training=self.training.name,
                                       total=_pct(ln.total), rank=ln.rank),
                 f"assessment:honours:{self.training.id}:{ln.person_id}", self.now)
        if public:
            for g in groups_of(self.s, self.training.id):
                who = ", ".join(f"{ln.name} ({_pct(ln.total)})" for ln in public)
                enqueue(self.s, PostMessage(g.platform, g.chat_id, t(g.locale, "honours.group",
                                                                     training=self.training.name, names=who)),
                        key=f"assessment:honours:{self.training.id}:group:{g.id}", now=self.now, group_id=g.id)
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="honours.announced", clause="R6.3.2",
                     training_id=self.training.id, honoured=[ln.person_id for ln in best],
                     named=[ln.person_id for ln in public])
        return len(best), len(public)

    def remediate(self, kind: str, due_at: datetime | None, attempts: int | None, by: int) -> int:
        """Everyone below the pass mark gets a make-up exam or a tutoring plan (R6.3.2)."""
        settings = self.ctx.config.assessment
        due_at = due_at or self.now + timedelta(days=settings.makeup_days)
        if due_at <= self.now:
            raise Refusal("assign.due_past", value=show_when(due_at, zone(self.s, self.training.id)))
        attempts = attempts or settings.makeup_attempts
        tz = zone(self.s, self.training.id)
        count = 0
        for ln in self.lines():
            if ln.passed or ln.remediation is not None:
                continue
            r = Remediation(training_id=self.training.id, person_id=ln.person_id, kind=kind, due_at=due_at,
                            max_attempts=attempts, attempts=0, status="open", created_at=self.now)
            self.s.add(r)
            self.s.flush()
            audit.record(self.s, at=self.now, actor=f"person:{by}", action="remediation.created", clause="R6.3.2",
                         person_id=ln.person_id, training_id=self.training.id, kind=kind, total=ln.total,
                         pass_mark=self.pass_mark, due=due_at.isoformat(), attempts=attempts)
            tell(self.s, ln.contact, t(ln.contact.group.locale, f"remediation.{kind}", training=self.training.name,
                                       total=_pct(ln.total), pass_mark=f"{self.pass_mark:g}",
                                       due=show_when(due_at, tz), attempts=attempts),
                 f"assessment:remediation:{r.id}", self.now)
            schedule(self.s, key=f"assessment:remediation-due:{r.id}", kind="assessment.remediation_due",
                     due_at=due_at, now=self.now, payload={"remediation_id": r.id})
            count += 1
        return count

    def record_makeup(self, person_id: int, score: float, by: int) -> Remediation:
        r = self.s.scalar(select(Remediation).where(Remediation.training_id == self.training.id,
                                                    Remediation.person_id == person_id))
        if r is None or r.status != "open":
            raise Refusal("remediation.none", member=self.s.get(Person, person_id).name)
        if self.now > r.due_at:
            raise Refusal("remediation.expired", member=self.s.get(Person, person_id).name)
        r.attempts += 1
        r.best_score = max(r.best_score or 0.0, score)
        if score >= self.pass_mark:
            r.status = "passed"
        elif r.attempts >= r.max_attempts:
            r.status = "failed"
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="remediation.attempt", clause="R6.3.2",
                     person_id=person_id, training_id=self.training.id, score=score, attempt=r.attempts,
                     status=r.status)
        c = roster(self.s, self.training.id).get(person_id)
        if c is not None:
            tell(self.s, c, t(c.group.locale, f"remediation.result.{r.status}", score=f"{score:g}",
                              pass_mark=f"{self.pass_mark:g}", left=r.max_attempts - r.attempts,
                              due=show_when(r.due_at, zone(self.s, self.training.id))),
                 f"assessment:remediation:{r.id}:attempt:{r.attempts}", self.now)
        return r

    def enter(self, person_id: int, component: str, score: float, note: str, by: int) -> ComponentScore:
        """A reviewer enters a component score (practical work, R6.1.1), 0..100."""
        if self.scheme is None:
            raise Refusal("scheme.none", training=self.training.code)
        keys = {c["key"].casefold(): c["key"] for c in self.scheme.components}
        if component.casefold() not in keys:
            raise Refusal("score.unknown_component", component=component, known=", ".join(keys.values()))
        if not 0 <= score <= 100:
            raise Refusal("grade.out_of_range", score=f"{score:g}", max=100, what=component)
        if person_id not in roster(self.s, self.training.id):
            raise Refusal("assess.not_in_training", member=self.s.get(Person, person_id).name)
        key = keys[component.casefold()]
        row = self.s.scalar(select(ComponentScore).where(ComponentScore.training_id == self.training.id,
                                                         ComponentScore.person_id == person_id,
                                                         ComponentScore.component == key))
        if row is None:
            row = ComponentScore(training_id=self.training.id, person_id=person_id, component=key)
            self.s.add(row)
        row.score, row.note, row.entered_by, row.entered_at = score, note[:1000], by, self.now
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="score.entered", clause="R6.1.1",
                     person_id=person_id, training_id=self.training.id, component=key, score=score)
        c = roster(self.s, self.training.id)[person_id]
        tell(self.s, c, t(c.group.locale, "score.private", component=key, score=f"{score:g}", note=note or "-"),
             f"assessment:score:{self.training.id}:{person_id}:{key}:{self.now.isoformat()}", self.now)
        return row

    def ranking_text(self, locale: str) -> str:
        lines = self.lines()
        out = [t(locale, "grades.header", training=self.training.name, pass_mark=f"{self.pass_mark:g}",
                 count=len(lines))]
        for ln in lines[:50]:
            comps = " ".join(f"{k}={_pct(v)}" for k, v in ln.components.items())
            out.append(t(locale, "grades.line", rank=ln.rank, member=ln.name, total=_pct(ln.total), components=comps,
                         result=t(locale, "grades.pass" if ln.passed else "grades.fail"),
                         incomplete="" if ln.complete else t(locale, "grades.incomplete")))
        return "\n".join(out)


def remediation_due_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    """`assessment.remediation_due`: an open make-up or tutoring plan past its deadline fails."""
    r = s.get(Remediation, payload["remediation_id"])
    if r is None or r.status != "open":
        return
    r.status = "failed"
    now = ctx.clock.now()
    audit.record(s, at=now, actor="system", action="remediation.failed", clause="R6.3.2", person_id=r.person_id,
                 training_id=r.training_id, attempts=r.attempts)
    c = roster(s, r.training_id).get(r.person_id)
    if c is not None:
        tell(s, c, t(c.group.locale, "remediation.result.expired", attempts=r.attempts),
             f"assessment:remediation:{r.id}:expired", now)


def set_consent(s: Session, person_id: int, consent: bool, now: datetime) -> None:
    row = s.get(HonoursConsent, person_id)
    if row is None:
        s.add(HonoursConsent(person_id=person_id, consent=consent, updated_at=now))
    else:
        row.consent, row.updated_at = consent, now
    audit.record(s, at=now, actor=f"person:{person_id}", action="honours.consent", clause="R6.3.2",
                 person_id=person_id, consent=consent)



def quiz_closed_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    """`assessment.quiz_close`: the scores go out; a make-up exam's score is that member's make-up attempt."""
    close_job(ctx, s, payload)
    quiz = s.get(Quiz, payload["quiz_id"])
    if quiz is None or not is_makeup(quiz):
        return
    book = Gradebook(ctx, s, s.get(Training, quiz.training_id))
    for person_id in candidates(s, quiz):
        if answered(s, quiz.id, person_id):
            try:
                book.record_makeup(person_id, score_of(s, quiz, person_id), by=quiz.created_by)
            except Refusal:
                continue   # its deadline passed first
