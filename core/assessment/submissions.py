"""Submissions (R5.2.1, R5.2.2): on time, the prescribed way, well formatted and complete.

A text or a link comes with the `submit` command; a file is the member's latest file sent to Steward
in the 1:1 chat, once the worker has fetched and stored it (core/files/received.py): its type and size are
checked, and its SHA-256 is the checksum. Every attempt is kept with a SHA-256 checksum.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.assessment.assignments import deadlines, rubric_of
from core.assessment.cohort import show_when, zone
from core.assessment.models import Assignment, Extension, Submission
from core.db.models import Account
from core.i18n import t
from core.kernel import audit, files
from core.kernel.context import CoreContext
from core.kernel.refusals import Refusal
from core.kernel.roster import Contact, roster, tell, trainee, trainings_of

MIB = 1024 * 1024
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Received:
    submission: Submission
    contact: Contact


def latest(s: Session, assignment_id: int, person_id: int) -> Submission | None:
    return s.scalars(select(Submission).where(Submission.assignment_id == assignment_id,
                                              Submission.person_id == person_id)
                     .order_by(Submission.attempt.desc()).limit(1)).first()


def check_link(text: str) -> tuple[str, str]:
    head, _, note = text.strip().partition(" ")
    if not _URL.match(head):
        raise Refusal("submit.bad_link", link=head[:80] or "?")
    parts = urlsplit(head)
    host = parts.hostname or ""
    if not host or ("." not in host and host != "localhost") or any(c in host for c in "<>\"'"):
        raise Refusal("submit.bad_link", link=head[:80])
    return head, note.strip()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def has_part(text: str, name: str) -> bool:
    """A required part is present as a heading: `Summary: …`, or a line `## Summary`."""
    pattern = rf"(?:{re.escape(name)}\s*[:：])|(?:^|\n)\s*#*\s*{re.escape(name)}\s*(?:\n|$)"
    return re.search(pattern, text, re.IGNORECASE) is not None


class Submissions:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s, self.now = ctx, s, ctx.clock.now()
        self.settings = ctx.config.assessment

    def submit(self, a: Assignment, account: Account, text: str) -> Received:
        c = trainee(self.s, a.training_id, account.person_id)
        if c is None:
            raise Refusal("assess.not_in_training", member=account.person.name)
        tz = zone(self.s, a.training_id)
        due, cutoff = deadlines(self.s, a, account.person_id)
        if cutoff is not None and self.now > cutoff:
            raise Refusal("submit.after_cutoff", n=a.id, cutoff=show_when(cutoff, tz))
        previous = latest(self.s, a.id, account.person_id)
        if previous is not None and previous.status == "graded":
            raise Refusal("submit.already_graded", n=a.id)
        if previous is not None and previous.status == "submitted" and self.now > due:
            raise Refusal("submit.closed", n=a.id, due=show_when(due, tz))
        kind, content, message_id, checksum = self._content(a, account, text)
        if previous is not None:
            previous.status = "superseded"
        sub = Submission(assignment_id=a.id, person_id=account.person_id,
                         attempt=(previous.attempt + 1) if previous else 1, platform=account.platform,
                         kind=kind, content=content, message_id=message_id, checksum=checksum,
                         submitted_at=self.now, late=self.now > due, status="submitted", criteria={})
        self.s.add(sub)
        self.s.flush()
        audit.record(self.s, at=self.now, actor=f"person:{account.person_id}", action="submission.received",
                     clause="R5.2.1", person_id=account.person_id, assignment=a.id, attempt=sub.attempt,
                     kind=kind, checksum=checksum, late=sub.late, message_id=message_id)
        return Received(sub, c)

    def _content(self, a: Assignment, account: Account, text: str) -> tuple[str, str, str | None, str]:
        """(kind, content, message id of a file, SHA-256 of what was received)."""
        text = text.strip()
        if a.method == "link":
            link, note = check_link(text)
            content = link + (f"\n{note}" if note else "")
            return "link", content, None, _sha256(content)
        if a.method == "file":
            return self._file(a, account)
        if len(text) < self.settings.min_text_chars:
            raise Refusal("submit.too_short", n=a.id, min=self.settings.min_text_chars)
        if len(text) > self.settings.max_text_chars:
            raise Refusal("submit.too_long", n=a.id, max=self.settings.max_text_chars)
        missing = [c.name for c in rubric_of(a) if c.required and not has_part(text, c.name)]
        if missing:
            raise Refusal("submit.missing_parts", n=a.id, parts=", ".join(missing))
        return "text", text, None, _sha256(text)

    def _file(self, a: Assignment, account: Account) -> tuple[str, str, str | None, str]:
        """The member's latest file sent to Steward within the last day, stored (R5.2.2: type and size
        checked); its SHA-256 is the checksum, and (platform, message id) finds it in received_files."""
        f = files.latest(self.s, account.platform, account.user_id, self.now)
        if f is None:
            raise Refusal("submit.no_file", n=a.id)
        why = files.not_usable(f)
        if why is not None:
            raise Refusal(why[0], **why[1])
        types = [x for x in a.file_types.split(",") if x]
        ext = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else ""
        if types and ext not in types:
            raise Refusal("submit.bad_type", n=a.id, name=f.name, types=", ".join(types))
        if a.max_size_mb and (f.size or 0) > a.max_size_mb * MIB:
            raise Refusal("submit.too_big", n=a.id, name=f.name, size=files.human_size(f.size or 0),
                          max=a.max_size_mb)
        kind = "image" if (f.mime or "").startswith("image/") else "file"
        return kind, f.name, f.message_id, f.sha256 or ""

    def receipt(self, r: Received, a: Assignment) -> str:
        sub, locale = r.submission, r.contact.group.locale
        tz = zone(self.s, a.training_id)
        key = "submit.late" if sub.late else "submit.ok"
        return t(locale, key, n=a.id, title=a.title, attempt=sub.attempt, at=show_when(sub.submitted_at, tz),
                 checksum=sub.checksum[:12])

    def reopen(self, a: Assignment, person_id: int, reason: str, by: int) -> Submission:
        """A reviewer asks for a new attempt (Moodle's "reopen"): more time, with the reason (R5.3.2)."""
        sub = latest(self.s, a.id, person_id)
        if sub is None:
            raise Refusal("reopen.nothing", n=a.id)
        sub.status = "reopened"
        due, _ = deadlines(self.s, a, person_id)
        new_due = max(due, self.now + timedelta(days=self.settings.reopen_days))
        ext = self.s.scalar(select(Extension).where(Extension.assignment_id == a.id,
                                                    Extension.person_id == person_id))
        if ext is None:
            self.s.add(Extension(assignment_id=a.id, person_id=person_id, due_at=new_due, granted_by=f"person:{by}",
                                 granted_at=self.now))
        else:
            ext.due_at, ext.granted_by, ext.granted_at = new_due, f"person:{by}", self.now
        audit.record(self.s, at=self.now, actor=f"person:{by}", action="submission.reopened", clause="R5.3.2",
                     person_id=person_id, assignment=a.id, attempt=sub.attempt, reason=reason,
                     due=new_due.isoformat())
        c = roster(self.s, a.training_id).get(person_id)
        if c is not None:
            tell(self.s, c, t(c.group.locale, "reopen.private", n=a.id, title=a.title, reason=reason,
                              due=show_when(new_due, zone(self.s, a.training_id))),
                 f"assessment:reopen:{a.id}:{person_id}:{sub.attempt}", self.now)
        return sub


def file_uses(s: Session, person_id: int, now: datetime, locale: str) -> list[str]:
    """`submit N` for each open file assignment of the member's trainings (R5.2.1)."""
    ids = [tr.id for tr in trainings_of(s, person_id)]
    if not ids:
        return []
    open_ = s.scalars(select(Assignment).where(
        Assignment.training_id.in_(ids), Assignment.method == "file",
        Assignment.cutoff_at.is_(None) | (Assignment.cutoff_at > now)).order_by(Assignment.id))
    return [t(locale, "files.how_submit", n=a.id, title=a.title) for a in open_]
