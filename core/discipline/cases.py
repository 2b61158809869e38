"""The discipline use cases: report a violation, remove, approve/reject, revoke, appeal, record.

Each runs in the caller's transaction; every step writes the case, the audit entry and the
actions it causes (to the outbox) together, so nothing is half-done (R8.2.1, R8.2.2, R2.4.2).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actions import (
    Action,
    Button,
    DeleteMessage,
    InviteMember,
    PostMessage,
    RemoveMember,
    SendPrivate,
    private_card,
)
from core.db.models import Account, Case, Group, Person
from core.discipline.ladder import ADMIN_REMOVE_CLAUSE, REMOVE_CLAUSE, LadderSettings, PriorCase, decide, live_warnings
from core.i18n import catalog, t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_on, display, leave, people_with_role, roles_of
from core.kernel.outbox import enqueue
from core.moderation.redact import redact


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reason_text(case: Case, locale: str) -> str:
    """A case's reason for members: the admin's words, or the detector's category in `locale`."""
    key = f"category.{case.category}"
    return t(locale, key) if case.category != "manual" and key in catalog(locale) else case.rule


@dataclass(frozen=True)
class Violation:
    group: Group
    account: Account          # the offender's account in this group's platform
    clause: str               # the rule broken, e.g. "R8.1.2"; "" when an admin cited none
    rule: str                 # what exactly, e.g. "ads: contact offer"
    category: str             # manual | ads | insult | ...
    reported_by: str          # "person:12" or "detector:ads"
    automated: bool
    severe: bool = False
    evidence: str = ""
    message_id: str | None = None
    detector: str | None = None
    delete_message: bool = False


# the person's record, read at every step of the ladder (built once, with a bound parameter)
_CASES_OF = select(Case).where(Case.person_id == bindparam("person_id"))


class Discipline:
    def __init__(self, ctx: CoreContext, session: Session) -> None:
        self.ctx = ctx
        self.s = session
        self.now = ctx.clock.now()

    # --- helpers -------------------------------------------------------------------------
    def settings(self, group: Group) -> LadderSettings:
        d = self.ctx.config.all_templates()[group.template].discipline
        return LadderSettings(warnings_before_removal=d.warnings_before_removal, removal=d.removal,
                              warning_expiry_days=d.warning_expiry_days, severe_removes=d.severe_removes)

    def history(self, person_id: int) -> list[PriorCase]:
        """Every earlier case of the person, in every group, on every platform."""
        cases = self.s.scalars(_CASES_OF, {"person_id": person_id})
        return [PriorCase(at=c.created_at, outcome=c.outcome, revoked=c.status == "revoked") for c in cases]

    def _emit(self, action: Action, key: str, case: Case | None, group: Group | None) -> None:
        enqueue(self.s, action, key=key, now=self.now, group_id=group.id if group else None,
                case_number=case.number if case else None)

    def _admins_accounts(self, group: Group) -> list[Account]:
        out = []
        for person in people_with_role(self.s, group.id, "admin"):
            account = account_on(person, group.platform)
            if account is not None:
                out.append(account)
        return out

    def _new_case(self, v: Violation, outcome: str, outcome_clause: str) -> Case:
        case = Case(number=f"tmp-{uuid.uuid4().hex[:24]}", person_id=v.account.person_id, group_id=v.group.id,
                    account_id=v.account.id, clause=v.clause, rule=v.rule[:200], category=v.category,
                    severe=v.severe, evidence=_clip(redact(v.evidence), 300), message_id=v.message_id,
                    detector=v.detector, decided_by=v.reported_by, outcome=outcome,
                    outcome_clause=outcome_clause, status="open", created_at=self.now)
        self.s.add(case)
        self.s.flush()
        case.number = f"C{case.id:06d}"
        return case

    def _texts(self, case: Case, group: Group, account: Account) -> dict[str, object]:
        """What the messages about a case say, in the group's language: a detector's finding by its
        category's name; the clause broken when one was cited, else that the reason is the admin's
        (never a clause the member did not break)."""
        locale = group.locale
        reason = reason_text(case, locale)
        breaks = (t(locale, "case.breaks", violated=case.clause) if case.clause
                  else t(locale, "case.admin_reason", clause=case.outcome_clause))
        return dict(member=display(account), group=group.name, case=case.number, reason=reason,
                    violated=case.clause, clause=case.outcome_clause, breaks=breaks)

    # --- use cases ---------------------------------------------------------------------------
    def report(self, v: Violation) -> Case:
        """A violation from a detector or an admin's `warn` command climbs the ladder."""
        group, settings = v.group, self.settings(v.group)
        tpl = self.ctx.config.all_templates()[group.template].discipline
        exempt = bool(roles_of(self.s, v.account.person_id, group.id) & set(tpl.exempt_roles))
        history = self.history(v.account.person_id)
        decision = decide(severe=v.severe, automated=v.automated, exempt=exempt, history=history,
                          settings=settings, now=self.now)
        case = self._new_case(v, decision.outcome, decision.clause)
        audit.record(self.s, at=self.now, actor=v.reported_by, action=f"case.{decision.outcome}",
                     clause=decision.clause, group_id=group.id, person_id=v.account.person_id,
                     case_number=case.number, violated=v.clause or None, rule=case.rule, category=v.category,
                     detector=v.detector, severe=v.severe, evidence=case.evidence,
                     live_warnings=decision.live_warnings, why=decision.reason)
        if v.delete_message and v.message_id:
            self._delete_or_tell(case, group)
        texts = self._texts(case, group, v.account)
        if decision.outcome == "warning":
            self._emit(PostMessage(group.platform, group.chat_id, t(group.locale, "warn.group", **texts)),
                       f"case:{case.number}:group", case, group)
            self._emit(SendPrivate(group.platform, v.account.user_id, t(
                group.locale, "warn.private", live=decision.live_warnings + 1,
                limit=settings.warnings_before_removal, remove_clause=REMOVE_CLAUSE, **texts)),
                f"case:{case.number}:private", case, group)
        elif decision.outcome == "removal":
            self._remove(case, group, v.account)
        elif decision.outcome == "removal_pending":
            self._ask_admins(case, group, v.account, decision.live_warnings)
        return case

    def remove(self, group: Group, account: Account, reason: str, by: str) -> Case:
        """An admin's explicit removal (R2.4.2, R7.1.2): no ladder, but a case on record."""
        v = Violation(group=group, account=account, clause="", rule=reason,
                      category="manual", reported_by=by, automated=False)
        case = self._new_case(v, "removal_manual", ADMIN_REMOVE_CLAUSE)
        audit.record(self.s, at=self.now, actor=by, action="case.removal_manual", clause=ADMIN_REMOVE_CLAUSE,
                     group_id=group.id, person_id=account.person_id, case_number=case.number, rule=reason)
        self._remove(case, group, account)
        return case

    def _remove(self, case: Case, group: Group, account: Account) -> None:
        texts = self._texts(case, group, account)
        self._emit(PostMessage(group.platform, group.chat_id, t(group.locale, "remove.group", **texts)),
                   f"case:{case.number}:group", case, group)
        self._emit(SendPrivate(group.platform, account.user_id, t(group.locale, "remove.private", **texts)),
                   f"case:{case.number}:private", case, group)
        self._emit(RemoveMember(group.platform, group.chat_id, account.user_id),
                   f"case:{case.number}:remove", case, group)
        leave(self.s, account.person_id, group.id, self.now, reason=f"removed:{case.number}",
              clause=case.outcome_clause)
        self.ctx.lookups.forget_member(account.person_id, group.id)

    def _ask_admins(self, case: Case, group: Group, account: Account, warnings: int) -> None:
        texts = self._texts(case, group, account)
        title = t(group.locale, "remove.pending.card_title", **texts)
        body = t(group.locale, "remove.pending.card_text", warnings=warnings, **texts)
        buttons = (Button(t(group.locale, "button.approve"), "case.approve", case.number, "danger"),
                   Button(t(group.locale, "button.reject"), "case.reject", case.number))
        for admin in self._admins_accounts(group):
            action = private_card(group.platform, admin.user_id, title, body, buttons,
                                  cards=self.ctx.caps(group.platform).cards,
                                  typed=f"approve {case.number} / reject {case.number}")
            self._emit(action, f"case:{case.number}:confirm:{admin.user_id}", case, group)

    def _delete_or_tell(self, case: Case, group: Group) -> None:
        """Delete the offending message where the platform allows it, else tell the admins at once."""
        if self.ctx.caps(group.platform).delete_others_messages:
            self._emit(DeleteMessage(group.platform, group.chat_id, case.message_id or ""),
                       f"case:{case.number}:delete", case, group)
            return
        text = t(group.locale, "fallback.admins", platform=group.platform,
                 action=t(group.locale, "action.delete"), why=t(group.locale, "why.unsupported"),
                 target=f"{group.name} / {case.evidence}", case=case.number)
        for admin in self._admins_accounts(group):
            self._emit(SendPrivate(group.platform, admin.user_id, text),
                       f"case:{case.number}:delete-fallback:{admin.user_id}", case, group)

    def resolve(self, case: Case, approve: bool, by: str) -> str:
        """An admin approves or rejects a pending removal (confirm mode)."""
        group = self.s.get(Group, case.group_id)
        account = self.s.get(Account, case.account_id)
        assert group is not None and account is not None
        texts = self._texts(case, group, account)
        if case.outcome != "removal_pending" or case.status not in ("open", "appeal_rejected"):
            return t(group.locale, "case.not_pending", **texts)
        case.resolved_by = by
        if approve:
            case.outcome = "removal"
            self._remove(case, group, account)
        else:
            case.outcome = "removal_rejected"
        audit.record(self.s, at=self.now, actor=by, action="case.approved" if approve else "case.rejected",
                     clause=REMOVE_CLAUSE, group_id=group.id, person_id=case.person_id,
                     case_number=case.number)
        return t(group.locale, "approve.done" if approve else "reject.done", **texts)

    def revoke(self, case: Case, reason: str, by: str) -> str:
        """Revoke a case (an accepted appeal): it stops counting; a removal is undone where possible."""
        group = self.s.get(Group, case.group_id)
        account = self.s.get(Account, case.account_id)
        assert group is not None and account is not None
        texts = self._texts(case, group, account)
        if case.status == "revoked":
            return t(group.locale, "revoke.already", **texts)
        case.status, case.revoked_at, case.revoked_by, case.revoke_reason = "revoked", self.now, by, reason
        audit.record(self.s, at=self.now, actor=by, action="case.revoked", clause="R2.3.3",
                     group_id=group.id, person_id=case.person_id, case_number=case.number, reason=reason,
                     outcome=case.outcome)
        self._emit(SendPrivate(group.platform, account.user_id,
                               t(group.locale, "revoke.private", case=case.number, reason=reason)),
                   f"case:{case.number}:revoked:private", case, group)
        reply = t(group.locale, "revoke.done", reason=reason, case=case.number)
        if case.outcome in ("removal", "removal_manual") and group.active:
            self._emit(InviteMember(group.platform, group.chat_id, account.user_id),
                       f"case:{case.number}:revoked:invite", case, group)
            reply += "\n" + t(group.locale, "revoke.readded", **texts)
        return reply

    def reject_appeal(self, case: Case, reason: str, by: str) -> str:
        """An admin rejects a member's appeal, with a reason (R2.3.3): the case stands, the member is
        told why, and the decision is on the record (case status and audit). Accepting is `revoke`."""
        group = self.s.get(Group, case.group_id)
        account = self.s.get(Account, case.account_id)
        assert group is not None and account is not None
        texts = self._texts(case, group, account)
        if case.appeal_text is None:
            return t(group.locale, "appeal.none", **texts)
        if case.status != "open":
            return t(group.locale, "appeal.decided", **texts)
        case.status, case.resolved_by = "appeal_rejected", by
        audit.record(self.s, at=self.now, actor=by, action="case.appeal_rejected", clause="R2.3.3",
                     group_id=group.id, person_id=case.person_id, case_number=case.number, reason=reason)
        self._emit(SendPrivate(group.platform, account.user_id, t(
            group.locale, "appeal.rejected.private", case=case.number, reason=reason, clause=case.outcome_clause)),
            f"case:{case.number}:appeal_rejected:private", case, group)
        return t(group.locale, "appeal.rejected.done", **{**texts, "reason": reason})

    def appeal(self, case: Case, person: Person, text: str) -> str:
        """A member appeals against their own case (R2.3.3); the admins get it privately."""
        group = self.s.get(Group, case.group_id)
        account = self.s.get(Account, case.account_id)
        assert group is not None and account is not None
        texts = self._texts(case, group, account)
        if case.person_id != person.id:
            return t(group.locale, "appeal.not_yours")
        case.appeal_text, case.appealed_at = text[:2000], self.now
        audit.record(self.s, at=self.now, actor=f"person:{person.id}", action="case.appealed",
                     clause="R2.3.3", group_id=group.id, person_id=person.id, case_number=case.number)
        title = t(group.locale, "appeal.card_title", **texts)
        body = t(group.locale, "appeal.card_text", text=_clip(redact(text), 1000), **texts)
        for admin in self._admins_accounts(group):
            self._emit(SendPrivate(group.platform, admin.user_id, f"{title}\n{body}"),
                       f"case:{case.number}:appeal:{self.now.isoformat()}:{admin.user_id}", case, group)
        return t(group.locale, "appeal.ack", **texts)

    def record_text(self, person: Person, label: str, locale: str) -> str:
        """A person's record, for themselves or for staff (R2.3.3)."""
        cases = list(self.s.scalars(select(Case).where(Case.person_id == person.id).order_by(Case.id)))
        if not cases:
            return t(locale, "record.empty", member=label)
        group_settings = [self.settings(g) for g in self.s.scalars(select(Group).where(
            Group.id.in_({c.group_id for c in cases})))]
        expiry = max(s.warning_expiry_days for s in group_settings)
        live = live_warnings([PriorCase(c.created_at, c.outcome, c.status == "revoked") for c in cases],
                             LadderSettings(warning_expiry_days=expiry), self.now)
        lines = [t(locale, "record.header", member=label, live=live)]
        tz = ZoneInfo(self.ctx.config.timezone)     # dates on the deployment's clock, as members live them
        for c in cases[-20:]:
            lines.append(t(locale, "record.line", case=c.number, date=c.created_at.astimezone(tz).date().isoformat(),
                           outcome=t(locale, f"outcome.{c.outcome}"), clause=c.outcome_clause,
                           reason=f"{c.clause} {reason_text(c, locale)}".strip(),
                           revoked=t(locale, "record.revoked") if c.status == "revoked"
                           else t(locale, "record.appeal_rejected") if c.status == "appeal_rejected" else ""))
        return "\n".join(lines)


_DETECTOR_CASE = select(Case).where(Case.group_id == bindparam("group_id"),
                                    Case.message_id == bindparam("message_id"), Case.detector.is_not(None)).limit(1)


def detector_case(s: Session, group_id: int, message_id: str | None) -> Case | None:
    """The detector case the message opened already, if any."""
    if not message_id:
        return None
    return s.scalar(_DETECTOR_CASE, {"group_id": group_id, "message_id": message_id})


def report_once(ctx: CoreContext, s: Session, message_id: str | None, violation: Violation) -> Case:
    """The case for the message, opened once. The check above reads what is committed; two edits processed
    at the same moment in two transactions both find nothing, and the database's unique index (cases:
    group, message, where a detector decided) refuses the second insert. Its savepoint is rolled back
    (nothing of the second report stays: no audit entry, no message) and the first transaction's case is
    the answer."""
    if not message_id:
        return Discipline(ctx, s).report(violation)
    savepoint = s.begin_nested()
    try:
        case = Discipline(ctx, s).report(violation)
    except IntegrityError:
        savepoint.rollback()
        earlier = detector_case(s, violation.group.id, message_id)
        if earlier is None:
            raise
        return earlier
    savepoint.commit()
    return case
