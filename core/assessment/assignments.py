"""Assignments (R5.1.1): set with requirements, deadline, cut-off, submission method, reviewers and a
rubric; announced to every group of the training; reminders to those who have not submitted
(R5.2.1); per-member extensions by the lead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import PostMessage
from core.assessment.cohort import hours, parse_when, show_when, zone
from core.assessment.models import AssessmentScheme, Assignment, Extension, Submission
from core.db.models import Account, Person
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.refusals import Refusal
from core.kernel.roster import Contact, contact, groups_of, roster, tell
from core.kernel.scheduler import schedule

METHODS = {"text": "text", "文本": "text", "文字": "text", "link": "link", "url": "link", "链接": "link",
           "鏈接": "link", "連結": "link", "file": "file", "文件": "file", "檔案": "file", "附件": "file"}
FIELDS = {
    "title": "title", "标题": "title", "標題": "title", "题目": "title", "題目": "title",
    "due": "due", "截止": "due",
    "cutoff": "cutoff", "cut-off": "cutoff", "最晚": "cutoff",
    "method": "method", "提交方式": "method", "方式": "method",
    "rubric": "rubric", "评分标准": "rubric", "評分標準": "rubric",
    "requirements": "requirements", "要求": "requirements",
    "component": "component", "考核项": "component", "考核項": "component",
    "reviewers": "reviewers", "评审": "reviewers", "評審": "reviewers",
    "review": "review", "批改期限": "review",
}
# English keys start a word; Chinese ones may follow the previous value without a space ("标题：周报截止：…").
_KEYS = re.compile(r"(?:(?:^|(?<=\s))(?:" + "|".join(sorted((re.escape(k) for k in FIELDS if k.isascii()),
                                                             key=len, reverse=True))
                   + r")|" + "|".join(sorted((re.escape(k) for k in FIELDS if not k.isascii()), key=len, reverse=True))
                   + r")(?=\s*[:：])", re.IGNORECASE)
_COLON = re.compile(r"\s*[:：]")
_SIZE = re.compile(r"^(\d{1,4})\s*mb?$", re.IGNORECASE)
_CRITERION = re.compile(r"^(.{1,60}?)(\*?)\s*[:=：]?\s*(\d{1,4})$")
_NUMBER = re.compile(r"^#?[Aa]?(\d{1,9})$")


@dataclass(frozen=True)
class Criterion:
    name: str
    points: int
    required: bool = False


@dataclass(frozen=True)
class Brief:
    """What a lead typed, parsed and checked; nothing written yet."""
    title: str
    requirements: str
    due_at: datetime
    cutoff_at: datetime | None
    method: str
    file_types: tuple[str, ...] = ()
    max_size_mb: int | None = None
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)
    component: str | None = None
    review_due_at: datetime | None = None     # default: `assessment.review_days` after the due date


def split_fields(text: str) -> dict[str, str]:
    """`title: … due: … method: …` on one line or many; the keys in English or Chinese."""
    found = list(_KEYS.finditer(text))
    out: dict[str, str] = {}
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        value = _COLON.sub("", text[m.end():end], count=1)
        out[FIELDS[m.group(0).casefold()]] = value.strip()
    if found and text[:found[0].start()].strip() and "title" not in out:
        out["title"] = text[:found[0].start()].strip()
    return out


def parse_method(text: str, default_mb: int) -> tuple[str, tuple[str, ...], int | None]:
    tokens = [x for x in re.split(r"[\s,;:/|，；、]+", text.strip()) if x]
    if not tokens or tokens[0].casefold() not in METHODS:
        raise Refusal("assign.bad_method", method=text or "?")
    method, types, size = METHODS[tokens[0].casefold()], [], None
    for token in tokens[1:]:
        m = _SIZE.match(token)
        if m:
            size = int(m.group(1))
        elif re.fullmatch(r"\.?[A-Za-z0-9]{1,10}", token):
            types.append(token.lstrip(".").lower())
        else:
            raise Refusal("assign.bad_method", method=text)
    if method != "file" and (types or size):
        raise Refusal("assign.bad_method", method=text)
    if method == "file" and size is None:
        size = default_mb
    return method, tuple(types), size


def parse_rubric(text: str) -> tuple[Criterion, ...]:
    if not text.strip():
        return ()
    out: list[Criterion] = []
    for item in (x.strip() for x in re.split(r"[,;，；、\n]+", text)):
        if not item:
            continue
        m = _CRITERION.match(item)
        if not m or int(m.group(3)) <= 0:
            raise Refusal("assign.bad_rubric", item=item)
        name = m.group(1).strip().rstrip(":=：").strip()
        if not name or name[-1] in "-+" or any(c.name.casefold() == name.casefold() for c in out):
            raise Refusal("assign.bad_rubric", item=item)
        out.append(Criterion(name, int(m.group(3)), bool(m.group(2))))
    if len(out) > 20:
        raise Refusal("assign.bad_rubric", item=text[:60])
    return tuple(out)


def parse_brief(ctx: CoreContext, s: Session, training_id: int, text: str, now: datetime) -> Brief:
    tz = zone(s, training_id)
    f = split_fields(text)
    title = f.get("title", "").strip()
    if not title or len(title) > 200:
        raise Refusal("assign.bad_title")
    if "due" not in f:
        raise Refusal("assign.bad_due", value="?")
    due = parse_when(f["due"], tz)
    if due is None:
        raise Refusal("assign.bad_due", value=f["due"])
    if due <= now:
        raise Refusal("assign.due_past", value=f["due"])
    cutoff = None
    if f.get("cutoff"):
        cutoff = parse_when(f["cutoff"], tz)
        if cutoff is None:
            raise Refusal("assign.bad_due", value=f["cutoff"])
        if cutoff < due:
            raise Refusal("assign.cutoff_before_due", cutoff=f["cutoff"], due=f["due"])
    review = None
    if f.get("review"):
        review = parse_when(f["review"], tz)
        if review is None:
            raise Refusal("assign.bad_due", value=f["review"])
        if review < due:
            raise Refusal("assign.review_before_due", review=f["review"], due=f["due"])
    method, types, size = parse_method(f.get("method", "text"), ctx.config.assessment.max_file_mb)
    criteria = parse_rubric(f.get("rubric", ""))
    component = f.get("component") or None
    scheme = s.scalar(select(AssessmentScheme).where(AssessmentScheme.training_id == training_id))
    if scheme is not None:
        kinds = {c["key"]: c["kind"] for c in scheme.components}
        if component is None:
            component = next((k for k, kind in kinds.items() if kind == "assignment"), None)
        elif kinds.get(component) != "assignment":
            raise Refusal("assign.bad_component", component=component,
                          known=", ".join(k for k, kind in kinds.items() if kind == "assignment") or "-")
    return Brief(title=title, requirements=f.get("requirements", "").strip()[:4000], due_at=due,
                 cutoff_at=cutoff, method=method, file_types=types, max_size_mb=size, criteria=criteria,
                 component=component, review_due_at=review)


def number(token: str) -> int | None:
    m = _NUMBER.match(token.strip())
    return int(m.group(1)) if m else None


def rubric_of(a: Assignment) -> tuple[Criterion, ...]:
    return tuple(Criterion(c["name"], c["points"], c.get("required", False))
                 for c in a.rubric.get("criteria", ()))


def max_score(a: Assignment) -> float:
    return float(sum(c.points for c in rubric_of(a)) or 100)


def deadlines(s: Session, a: Assignment, person_id: int) -> tuple[datetime, datetime | None]:
    """The member's own due date (an extension moves it) and cut-off (never before their due date)."""
    ext = s.scalar(select(Extension).where(Extension.assignment_id == a.id, Extension.person_id == person_id))
    due = ext.due_at if ext is not None else a.due_at
    cutoff = None if a.cutoff_at is None else max(a.cutoff_at, due)
    return due, cutoff


def reviewer_ids(a: Assignment) -> list[int]:
    return list(a.reviewers.get("person_ids", ()))


def describe_method(a: Assignment, locale: str) -> str:
    text = t(locale, f"assign.method.{a.method}")
    if a.method == "file":
        text += f" ({', '.join(a.file_types) or '*'}; ≤ {a.max_size_mb} MB)"
    return text


def describe_rubric(a: Assignment) -> str:
    return ", ".join(f"{c.name}{'*' if c.required else ''} {c.points}" for c in rubric_of(a)) or "-"


def names(s: Session, person_ids: list[int]) -> str:
    return ", ".join(s.get(Person, p).name for p in person_ids) or "-"


class Assignments:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s, self.now = ctx, s, ctx.clock.now()

    def create(self, training_id: int, brief: Brief, reviewers: list[Account], by: int) -> Assignment:
        a = Assignment(training_id=training_id, title=brief.title, requirements=brief.requirements,
                       due_at=brief.due_at, cutoff_at=brief.cutoff_at,
                       review_due_at=brief.review_due_at
                       or brief.due_at + hours(24 * self.ctx.config.assessment.review_days),
                       method=brief.method, file_types=",".join(brief.file_types), max_size_mb=brief.max_size_mb,
                       reviewers={"person_ids": sorted({r.person_id for r in reviewers})},
                       rubric={"criteria": [c.__dict__ for c in brief.criteria]}, component=brief.component,
                       created_by=by, created_at=self.now)
        self.s.add(a)
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="assignment.created", clause="R5.1.1",
                     assignment=a.id, training_id=training_id, title=a.title, due=a.due_at.isoformat(),
                     cutoff=a.cutoff_at.isoformat() if a.cutoff_at else None, method=a.method,
                     reviewers=reviewer_ids(a), rubric=a.rubric)
        self.announce(a)
        for h in self.ctx.config.assessment.reminder_hours:
            at = a.due_at - hours(h)
            if at > self.now:
                schedule(self.s, key=f"assessment:remind:{a.id}:{h}", kind="assessment.remind", due_at=at,
                         now=self.now, payload={"assignment_id": a.id, "hours": h})
        at = a.review_due_at - hours(self.ctx.config.assessment.review_reminder_hours)
        schedule(self.s, key=f"assessment:review-remind:{a.id}", kind="assessment.review_remind",
                 due_at=max(at, a.due_at), now=self.now, payload={"assignment_id": a.id})
        return a

    def announce(self, a: Assignment) -> None:
        tz = zone(self.s, a.training_id)
        for g in groups_of(self.s, a.training_id):
            cutoff = t(g.locale, "assign.cutoff_line", cutoff=show_when(a.cutoff_at, tz)) if a.cutoff_at else ""
            text = t(g.locale, "assign.announce", n=a.id, title=a.title, requirements=a.requirements or "-",
                     due=show_when(a.due_at, tz), tz=tz.key, cutoff=cutoff, method=describe_method(a, g.locale),
                     reviewers=names(self.s, reviewer_ids(a)) if reviewer_ids(a) else t(g.locale, "assign.the_lead"),
                     rubric=describe_rubric(a))
            enqueue(self.s, PostMessage(g.platform, g.chat_id, text), key=f"assessment:assign:{a.id}:{g.id}",
                    now=self.now, group_id=g.id)

    def extend(self, a: Assignment, person_id: int, due_at: datetime, by: int) -> Contact | None:
        if due_at <= self.now:
            raise Refusal("assign.due_past", value=show_when(due_at, zone(self.s, a.training_id)))
        c = contact(self.s, a.training_id, person_id)
        if c is None:
            raise Refusal("assess.not_in_training", member=self.s.get(Person, person_id).name)
        ext = self.s.scalar(select(Extension).where(Extension.assignment_id == a.id,
                                                    Extension.person_id == person_id))
        if ext is None:
            ext = Extension(assignment_id=a.id, person_id=person_id, due_at=due_at, granted_by=f"person:{by}",
                            granted_at=self.now)
            self.s.add(ext)
        else:
            ext.due_at, ext.granted_by, ext.granted_at = due_at, f"person:{by}", self.now
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="assignment.extended", clause="R5.2.1",
                     person_id=person_id, assignment=a.id, due=due_at.isoformat())
        tz = zone(self.s, a.training_id)
        tell(self.s, c, t(c.group.locale, "extend.private", n=a.id, title=a.title, due=show_when(due_at, tz)),
             f"assessment:extend:{a.id}:{person_id}:{due_at.isoformat()}", self.now)
        for h in self.ctx.config.assessment.reminder_hours:
            at = due_at - hours(h)
            if at > self.now:
                schedule(self.s, key=f"assessment:remind:{a.id}:{h}:{person_id}:{due_at.isoformat()}",
                         kind="assessment.remind", due_at=at, now=self.now,
                         payload={"assignment_id": a.id, "hours": h, "person_id": person_id})
        return c


def has_submitted(s: Session, assignment_id: int, person_id: int) -> bool:
    return s.scalar(select(Submission.id).where(Submission.assignment_id == assignment_id,
                                                Submission.person_id == person_id,
                                                Submission.status != "reopened").limit(1)) is not None


def remind_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    """`assessment.remind`: privately, to each trainee who has not submitted and whose own due date is
    the one this reminder was set for (R5.2.1)."""
    a = s.get(Assignment, payload["assignment_id"])
    if a is None:
        return
    now, tz = ctx.clock.now(), zone(s, a.training_id)
    only = payload.get("person_id")
    for person_id, c in roster(s, a.training_id).items():
        if only is not None and person_id != only:
            continue
        due, _ = deadlines(s, a, person_id)
        if due <= now or has_submitted(s, a.id, person_id):
            continue
        if only is None and due != a.due_at:
            continue   # an extended member gets the reminders of their own date
        tell(s, c, t(c.group.locale, "assign.remind", n=a.id, title=a.title, due=show_when(due, tz),
                     hours=payload["hours"]),
             f"assessment:remind:{a.id}:{payload['hours']}:{person_id}:{due.isoformat()}", now)
