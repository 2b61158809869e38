"""The review queue's discipline side (R7.2.2, R2.3.3, R7.1.2): members report a message, a detector's hit below
the confidence that acts alone waits for an admin, and an admin decides each item once — warn (through the
ladder, `Discipline.report`), dismiss, or release a held item. The queue itself is the kernel's
(core/kernel/review.py), so held links from training share it.

The reporter stays private: the reported member is never told who reported, the admins' card counts the
reporters without naming them, and a warning's reason is the admin's, never the reporter's words.
"""
from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db.models import Account, ArchivedMessage, Case, Group, Person, ReviewItem, ReviewReport
from core.discipline.cases import Violation, detector_case, report_once
from core.events import MessagePosted
from core.i18n import t
from core.kernel import audit, review
from core.kernel.context import CoreContext
from core.kernel.directory import find_account, roles_of
from core.kernel.refusals import Refusal
from core.kernel.roster import name_of
from core.moderation.verdict import Verdict

REPORT_CLAUSE = "R2.3.3"    # members may supervise the group and give feedback: a report


# An admin's note on a decision: it becomes the case's rule for a report (cut to 200) and goes into the
# audit log; a longer one is refused, not cut, so what the admin meant is never stored half.
NOTE_MAX = 500

class Review:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s = ctx, s
        self.now = ctx.clock.now()

    # --- members report -----------------------------------------------------------------------------
    def report(self, group: Group, reporter: Account, message: ArchivedMessage | None, target: Account | None,
               reason: str, clause: str = "") -> tuple[str, dict[str, object]]:
        """A member reports `message` (or, where Steward could not see it, what `target` wrote, in the
        reporter's words). Returns the private acknowledgement (message key and values)."""
        actor = f"person:{reporter.person_id}"
        if message is not None:
            target = self.s.scalar(select(Account).where(Account.platform == message.platform,
                                                         Account.user_id == message.user_id))
        if target is None:
            raise Refusal("review.report.nothing")
        if target.person_id == reporter.person_id:
            raise Refusal("review.report.self")
        if message is not None and self.s.scalar(select(Case.id).where(
                Case.group_id == group.id, Case.message_id == message.message_id).limit(1)) is not None:
            audit.record(self.s, at=self.now, actor=actor, action="review.report_handled", clause=REPORT_CLAUSE,
                         group_id=group.id, message_id=message.message_id)
            return "review.report.handled", {}
        key = review.message_key(message.platform, message.chat_id, message.message_id) if message else None
        item = review.find(self.s, key) if key else self.s.scalar(select(ReviewItem).where(
            ReviewItem.group_id == group.id, ReviewItem.kind == "report", ReviewItem.message_id.is_(None),
            ReviewItem.person_id == target.person_id, ReviewItem.status == review.OPEN).limit(1))
        new = item is None
        if item is None:
            item = review.submit(self.ctx, self.s, group=group, kind="report", key=key, actor=actor, account=target,
                                 text=message.text if message else reason, clause=clause,
                                 message_id=message.message_id if message else None)
        elif item.status != review.OPEN:
            audit.record(self.s, at=self.now, actor=actor, action="review.report_decided", clause=REPORT_CLAUSE,
                         group_id=group.id, item=item.id, status=item.status)
            return "review.report.decided", {"number": review.number(item)}
        if self.s.scalar(select(ReviewReport.id).where(ReviewReport.item_id == item.id,
                                                       ReviewReport.person_id == reporter.person_id)):
            audit.record(self.s, at=self.now, actor=actor, action="review.report_repeated", clause=REPORT_CLAUSE,
                         group_id=group.id, item=item.id)
            return "review.report.already", {"number": review.number(item)}
        self.s.add(ReviewReport(item_id=item.id, person_id=reporter.person_id, reason=reason[:2000], at=self.now))
        item.reporters += 1
        if clause and not item.clause:
            item.clause = clause
        audit.record(self.s, at=self.now, actor=actor, action="review.reported", clause=REPORT_CLAUSE,
                     group_id=group.id, person_id=target.person_id, item=item.id, reporters=item.reporters,
                     message_id=item.message_id)
        if new:
            review.notify(self.ctx, self.s, item)
            return "review.report.ack", {"number": review.number(item)}
        return "review.report.queued", {"number": review.number(item), "count": item.reporters}

    # --- detectors below the confidence that acts alone -----------------------------------------------
    def flag(self, group: Group, account: Account, e: MessagePosted, verdict: Verdict) -> ReviewItem | None:
        """The hit waits for an admin instead of acting (templates.<kind>.moderation.act_at). Staff exempt
        from automated discipline are not queued either; an edit of a queued message stays one item."""
        exempt = self.ctx.config.all_templates()[group.template].discipline.exempt_roles
        if roles_of(self.s, account.person_id, group.id) & set(exempt):
            return None
        key = review.message_key(e.platform, e.chat_id, e.message_id)
        item = review.find(self.s, key)
        if item is not None:
            return item
        item = review.submit(self.ctx, self.s, group=group, kind="detector", key=key,
                             actor=f"detector:{verdict.detector}", account=account, text=e.text,
                             message_id=e.message_id, category=verdict.category, clause=verdict.clause,
                             rule=verdict.rule, detector=verdict.detector, score=verdict.score, severe=verdict.severe)
        review.notify(self.ctx, self.s, item)
        return item

    # --- an admin decides -----------------------------------------------------------------------------
    def decide(self, item: ReviewItem, decision: str, by: Account, note: str, locale: str,
               actor: str | None = None) -> str:
        """warn | dismiss | release, once; a second decision is answered with the first and who took it.
        `actor`: how the audit log names the decider when not the chat (the console's `console:person:N`)."""
        group = self.s.get(Group, item.group_id)
        actor = actor or f"person:{by.person_id}"
        if item.status != review.OPEN:
            return self._decided(item, group, actor, decision, locale)
        if len(note.strip()) > NOTE_MAX:
            raise Refusal("review.note.too_long", limit=NOTE_MAX, length=len(note.strip()))
        if decision == "release" and item.kind != "held":
            raise Refusal("review.release.not_held", number=review.number(item))
        if decision == "warn" and (not item.account_id or self.s.get(Account, item.account_id) is None):
            raise Refusal("review.warn.nobody", number=review.number(item))
        # Claimed in one statement: two admins (or a double click, or the console beside the chat) deciding
        # at once get one decision; the other waits for it (PostgreSQL's row lock, SQLite's one writer) and
        # is told who took it.
        claimed = self.s.execute(update(ReviewItem).where(ReviewItem.id == item.id, ReviewItem.status == review.OPEN)
                                 .values(status=review.DECISIONS[decision])).rowcount
        if claimed != 1:
            self.s.refresh(item)
            return self._decided(item, group, actor, decision, locale)
        release = self.ctx.features.review_release.get(item.kind) if item.kind == "held" else None
        case = None
        if decision == "warn":
            account = self.s.get(Account, item.account_id)
            category = item.category if item.category else "manual"
            rule = item.rule if item.kind == "detector" else (note.strip() or t(group.locale, "review.rule.reported"))
            # the message opened a case meanwhile (an edit that broke a rule outright): one case per message
            case = detector_case(self.s, group.id, item.message_id) or report_once(self.ctx, self.s, item.message_id, Violation(
                group=group, account=account, clause=item.clause, rule=rule, category=category,
                reported_by=actor, automated=False, severe=item.severe,
                # an unseen report's text is the reporter's words: the reported member may read a case's evidence
                evidence=item.text if item.message_id else note.strip(),
                message_id=item.message_id, detector=item.detector))
            review.settle(self.ctx, self.s, item, decision, actor, note, case_number=case.number)
        else:
            review.settle(self.ctx, self.s, item, decision, actor, note)
        if release is not None:
            release(self.ctx, self.s, item, by, decision == "release", note, locale)
        if case is not None:
            return t(locale, "review.done.warn", number=review.number(item), case=case.number,
                     clause=case.clause or case.outcome_clause)
        return t(locale, f"review.done.{decision}", number=review.number(item))

    def _decided(self, item: ReviewItem, group: Group, actor: str, decision: str, locale: str) -> str:
        audit.record(self.s, at=self.now, actor=actor, action="review.already_decided", clause=review.CLAUSE,
                     group_id=group.id, item=item.id, status=item.status, attempted=decision)
        return t(locale, "review.decided", number=review.number(item),
                 status=t(locale, f"review.status.{item.status}"), by=self._who(item.decided_by, group))

    def _who(self, actor: str | None, group: Group) -> str:
        digits = (actor or "").rsplit("person:", 1)[-1]
        if actor and "person:" in actor and digits.isdigit():
            person = self.s.get(Person, int(digits))
            if person is not None:
                return name_of(person, group.platform)
        return actor or "-"


PERMALINK = re.compile(r"/archives/([A-Za-z0-9]+)/p(\d{10})(\d{6})")     # a Slack message link


def named_message(s: Session, group: Group, token: str) -> ArchivedMessage | None:
    """A message named by its id or its permalink, in this group."""
    found = PERMALINK.search(token)
    chat, message_id = (found.group(1), f"{found.group(2)}.{found.group(3)}") if found else (group.chat_id, token)
    if chat != group.chat_id or not message_id or len(message_id) > 128:
        return None
    return s.scalar(select(ArchivedMessage).where(
        ArchivedMessage.platform == group.platform, ArchivedMessage.chat_id == group.chat_id,
        ArchivedMessage.message_id == message_id, ArchivedMessage.from_bot.is_(False)))


def takes_report(s: Session, group: Group, e: MessagePosted, members: list[str], rest: str) -> bool:
    """Whether a `report` said in the group names what it reports, so that it will be taken: a member
    Steward knows, a message of this group by id or link, or (a reply) the thread's first message. Only
    such a report's words are spared the detectors (core/discipline/moderation.py); any other is moderated
    as the message it is."""
    if members:
        return members[0] != e.user_id and find_account(s, e.platform, members[0]) is not None
    head = rest.split(maxsplit=1)[0].strip("<>") if rest.split() else ""
    if head and named_message(s, group, head) is not None:
        return True
    return bool(e.thread_id and e.thread_id != e.message_id and named_message(s, group, e.thread_id) is not None)
