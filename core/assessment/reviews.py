"""Review (R5.3.1, R5.3.2): a queue per reviewer, scoring against the rubric, feedback and suggestions
delivered privately, the lead's progress per group, review-deadline reminders."""
from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.assessment.assignments import max_score, reviewer_ids, rubric_of
from core.assessment.cohort import show_when, zone
from core.assessment.models import Assignment, Submission
from core.assessment.submissions import latest
from core.db.models import Person, Role
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.refusals import Refusal
from core.kernel.roster import contact, groups_of, is_staff, roster, tell
from core.roles import REVIEWERS
from core.roles import TEACHING as LEADS

_NUM = re.compile(r"^\d{1,4}(?:\.\d{1,2})?$")
_CRIT = re.compile(r"^([^=\s]{1,60})=(\d{1,4}(?:\.\d{1,2})?)$")




def may_review(s: Session, a: Assignment, person_id: int) -> bool:
    """The named reviewers and the leads; without named reviewers, the training's reviewers too (R5.2.1)."""
    if person_id in reviewer_ids(a) or is_staff(s, person_id, a.training_id, LEADS):
        return True
    return not reviewer_ids(a) and is_staff(s, person_id, a.training_id, REVIEWERS)


def parse_marks(text: str) -> tuple[float | None, dict[str, float], str]:
    """`85 Structure=35 Content=50 Good structure; cite sources` -> score, criteria, feedback."""
    tokens = text.split(" ")
    score, criteria, i = None, {}, 0
    if tokens and _NUM.match(tokens[0]):
        score, i = float(tokens[0]), 1
    while i < len(tokens) and _CRIT.match(tokens[i]):
        m = _CRIT.match(tokens[i])
        criteria[m.group(1)] = float(m.group(2))
        i += 1
    return score, criteria, " ".join(tokens[i:]).strip()


def _fmt(x: float) -> str:
    return f"{x:g}"


class Reviews:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s, self.now = ctx, s, ctx.clock.now()

    def queue(self, person_id: int, locale: str) -> str:
        lines = []
        for a in self.s.scalars(select(Assignment).order_by(Assignment.id)):
            if not (person_id in reviewer_ids(a) or (not reviewer_ids(a)
                                                      and is_staff(self.s, person_id, a.training_id, REVIEWERS))):
                continue
            tz = zone(self.s, a.training_id)
            for sub in self.s.scalars(select(Submission).where(Submission.assignment_id == a.id,
                                                               Submission.status == "submitted")
                                      .order_by(Submission.submitted_at)):
                lines.append(t(locale, "reviews.line", n=a.id, title=a.title, member=self.s.get(Person, sub.person_id).name,
                               attempt=sub.attempt, at=show_when(sub.submitted_at, tz),
                               late=t(locale, "submit.late_mark") if sub.late else "",
                               by=show_when(a.review_due_at, tz), content=sub.content[:80].replace("\n", " ")))
        if not lines:
            return t(locale, "reviews.empty")
        return "\n".join([t(locale, "reviews.header", count=len(lines)), *lines])

    def grade(self, a: Assignment, person_id: int, text: str, by: int) -> Submission:
        if not may_review(self.s, a, by):
            raise Refusal("grade.not_reviewer", n=a.id)
        sub = latest(self.s, a.id, person_id)
        if sub is None or sub.status == "reopened":
            raise Refusal("grade.no_submission", n=a.id, member=self.s.get(Person, person_id).name)
        score, given, feedback = parse_marks(text)
        rubric = {c.name.casefold(): c for c in rubric_of(a)}
        criteria: dict[str, float] = {}
        for name, value in given.items():
            c = rubric.get(name.casefold()) or next((c for k, c in rubric.items()
                                                     if k.replace(" ", "") == name.casefold()), None)
            if c is None:
                raise Refusal("grade.unknown_criterion", criterion=name,
                              known=", ".join(c.name for c in rubric.values()) or "-")
            if not 0 <= value <= c.points:
                raise Refusal("grade.out_of_range", score=_fmt(value), max=c.points, what=c.name)
            criteria[c.name] = value
        if rubric and len(criteria) == len(rubric):
            total = sum(criteria.values())
            if score is None:
                score = total
            elif abs(score - total) > 1e-9:
                raise Refusal("grade.sum_mismatch", score=_fmt(score), total=_fmt(total))
        top = max_score(a)
        if score is None:
            raise Refusal("grade.no_score", n=a.id)
        if not 0 <= score <= top:
            raise Refusal("grade.out_of_range", score=_fmt(score), max=_fmt(top), what=a.title)
        if not feedback:
            raise Refusal("grade.no_feedback", n=a.id)
        sub.score, sub.criteria, sub.feedback = score, criteria, feedback[:4000]
        sub.graded_by, sub.graded_at, sub.status = by, self.now, "graded"
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="submission.graded", clause="R5.3.1",
                     person_id=person_id, assignment=a.id, attempt=sub.attempt, score=score, max=top,
                     criteria=criteria, on_time=self.now <= a.review_due_at)
        c = contact(self.s, a.training_id, person_id)
        if c is not None:
            detail = ", ".join(f"{k} {_fmt(v)}" for k, v in criteria.items()) or "-"
            tell(self.s, c, t(c.group.locale, "grade.private", n=a.id, title=a.title, score=_fmt(score),
                              max=_fmt(top), criteria=detail, feedback=sub.feedback,
                              reviewer=self.s.get(Person, by).name),
                 f"assessment:graded:{a.id}:{person_id}:{sub.attempt}:{self.now.isoformat()}", self.now)
        return sub

    def progress(self, a: Assignment, locale: str) -> str:
        tz = zone(self.s, a.training_id)
        people = roster(self.s, a.training_id)
        lines = [t(locale, "progress.header", n=a.id, title=a.title, due=show_when(a.due_at, tz),
                   review=show_when(a.review_due_at, tz))]
        for g in groups_of(self.s, a.training_id):
            counts: Counter[str] = Counter()
            missing = []
            for person_id, c in people.items():
                if c.group.id != g.id:
                    continue
                counts["members"] += 1
                sub = latest(self.s, a.id, person_id)
                if sub is None or sub.status == "reopened":
                    missing.append(c.account.display_name or self.s.get(Person, person_id).name)
                    continue
                counts["submitted"] += 1
                counts["late"] += sub.late
                counts["graded"] += sub.status == "graded"
            lines.append(t(locale, "progress.group", group=g.name, platform=g.platform, members=counts["members"],
                           submitted=counts["submitted"], late=counts["late"], graded=counts["graded"],
                           missing=", ".join(missing) or "-"))
        return "\n".join(lines)


def review_remind_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    """`assessment.review_remind`: each reviewer with ungraded work hears how much and by when (R5.3.1)."""
    a = s.get(Assignment, payload["assignment_id"])
    if a is None:
        return
    waiting = s.scalars(select(Submission.id).where(Submission.assignment_id == a.id,
                                                    Submission.status == "submitted")).all()
    if not waiting:
        return
    now, tz = ctx.clock.now(), zone(s, a.training_id)
    reviewers = reviewer_ids(a)
    if not reviewers:
        groups = groups_of(s, a.training_id)
        reviewers = sorted(set(s.scalars(select(Role.person_id).where(
            Role.role.in_(("lead", "reviewer")), Role.group_id.in_([g.id for g in groups])))))
    for person_id in reviewers:
        c = contact(s, a.training_id, person_id)
        if c is not None:
            tell(s, c, t(c.group.locale, "reviews.remind", n=a.id, title=a.title, count=len(waiting),
                         by=show_when(a.review_due_at, tz)),
                 f"assessment:review-remind:{a.id}:{person_id}", now)
