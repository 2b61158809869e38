"""`my`: where a member stands — their assignments and deadlines, what they submitted and when, the
feedback and scores, quizzes, the weighted total, any make-up, then what the other features declare
for a member's record (`Feature.record`: the discipline record)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.assessment.assignments import deadlines, max_score
from core.assessment.cohort import show_when, zone
from core.assessment.grades import Gradebook
from core.assessment.models import Assignment, Quiz
from core.assessment.quizzes import answered, score_of
from core.assessment.submissions import latest
from core.db.models import Account
from core.i18n import t
from core.kernel.context import CoreContext
from core.kernel.roster import trainings_of


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def standing_text(ctx: CoreContext, s: Session, account: Account, locale: str) -> str:
    now = ctx.clock.now()
    person_id = account.person_id
    out: list[str] = []
    for training in trainings_of(s, person_id):
        tz = zone(s, training.id)
        out.append(t(locale, "my.training", training=training.name))
        for a in s.scalars(select(Assignment).where(Assignment.training_id == training.id).order_by(Assignment.id)):
            due, cutoff = deadlines(s, a, person_id)
            sub = latest(s, a.id, person_id)
            if sub is None:
                state = t(locale, "my.not_submitted")
            else:
                state = t(locale, "my.submitted", attempt=sub.attempt, at=show_when(sub.submitted_at, tz),
                          late=t(locale, "submit.late_mark") if sub.late else "",
                          status=t(locale, f"my.status.{sub.status}"), checksum=sub.checksum[:12],
                          content=_clip(sub.content.replace("\n", " "), 60))
                if sub.score is not None:
                    state += "\n   " + t(locale, "my.graded", score=f"{sub.score:g}", max=f"{max_score(a):g}",
                                         feedback=sub.feedback or "-")
            out.append(t(locale, "my.assignment", n=a.id, title=a.title, due=show_when(due, tz),
                         cutoff=show_when(cutoff, tz) if cutoff else "-", state=state))
        for q in s.scalars(select(Quiz).where(Quiz.training_id == training.id).order_by(Quiz.id)):
            score = f"{score_of(s, q, person_id):.1f}" if q.closes_at <= now else "-"
            out.append(t(locale, "my.quiz", n=q.id, title=q.title, closes=show_when(q.closes_at, tz),
                         done=answered(s, q.id, person_id), of=len(q.questions["items"]), score=score))
        book = Gradebook(ctx, s, training)
        mine = next(iter(book.lines(only=person_id)), None)
        if mine is not None:
            comps = ", ".join(f"{k} {'-' if v is None else f'{v:.1f}'}" for k, v in mine.components.items()) or "-"
            out.append(t(locale, "my.total", total=f"{mine.total:.1f}", pass_mark=f"{book.pass_mark:g}",
                         components=comps,
                         result=t(locale, _standing(mine))))
            r = mine.remediation
            if r is not None:
                out.append(t(locale, "my.remediation", kind=t(locale, f"remediation.kind.{r.kind}"),
                             due=show_when(r.due_at, tz), attempts=r.attempts, max=r.max_attempts,
                             status=t(locale, f"remediation.status.{r.status}")))
    if not out:
        out.append(t(locale, "my.nothing"))
    for section in ctx.features.record:          # the other features' part: the discipline record
        out.extend(section(ctx, s, account, locale))
    return "\n".join(out)


def _standing(line) -> str:
    """Pass or below the pass mark only once something is graded (a new hire is not "below" yet)."""
    graded = any(v is not None for v in line.components.values()) or any(
        i.percent is not None for i in line.items)
    if line.passed:
        return "grades.pass"
    if not graded:
        return "grades.not_yet"
    return "grades.fail" if line.complete else "grades.in_progress"
