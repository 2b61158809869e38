"""The discipline commands (R8.2.1, R8.2.2, R2.4.2, R2.3.3) and the removal card's buttons."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.clauses import is_clause, nearest
from core.db.models import Role
from core.discipline.cases import Discipline, Violation
from core.i18n import t
from core.kernel.directory import display, roles_of
from core.kernel.parser import usage_in
from core.kernel.refusals import Refusal
from core.kernel.runner import card_command
from core.kernel.spec import ITEM, OPEN, STAFF, CommandSpec
from core.roles import ADMINS as ADMIN
from core.roles import RECORD_READERS
from core.roles import TEACHING as REPORTERS

# what reads as a clause id: validated against the regulation (core/clauses.py), never taken on trust
CLAUSE = re.compile(r"^R\d{1,2}(\.\d{1,2}){0,3}$", re.IGNORECASE)


def _help(r, inv, cmd, group, actor, locale) -> None:
    """Every command this person may use, in the group's language; always privately (never a long
    post in the group). In a 1:1 chat the roles held in any group count."""
    if group is not None:
        roles = roles_of(r.s, actor.person_id, group.id)
    else:
        roles = set(r.s.scalars(select(Role.role).where(Role.person_id == actor.person_id)))
    lines = [usage_in(spec, locale) for spec in r.ctx.features.grammar.specs.values()
             if all(allowed is None or allowed & roles for allowed in (spec.roles, spec.listed_for))]
    r.reply(inv, group, "\n".join([t(locale, "help"), *lines, t(locale, "help.footer")]), private=True)


def _rules(r, inv, cmd, group, actor, locale) -> None:
    """The rules, privately (R3.3.2: whoever asks gets them; the group is not flooded)."""
    d = r.ctx.config.all_templates()[group.template].discipline
    r.reply(inv, group, t(locale, "rules", group=group.name, limit=d.warnings_before_removal,
                          days=d.warning_expiry_days), private=True)


def _record(r, inv, cmd, group, actor, locale) -> None:
    target = actor
    if cmd.members and cmd.members[0] != inv.user_id:
        gid = group.id if group else None
        if not roles_of(r.s, actor.person_id, gid) & RECORD_READERS:
            r.refuse(inv, cmd, group, actor, locale, "R7.1.2", key="record.only_own")
            return
        target = r.member(inv, group, cmd.members[0], locale)
        if target is None:
            return
    r.reply(inv, group, Discipline(r.ctx, r.s).record_text(target.person, display(target), locale), private=True)


def _offender(r, inv, cmd, group, actor, locale):
    offender = r.member(inv, group, cmd.members[0], locale)
    if offender is not None and offender.person_id == actor.person_id:
        r.reply(inv, group, t(locale, "command.self", command=cmd.word), private=True)
        return None
    return offender


def _warn(r, inv, cmd, group, actor, locale) -> None:
    offender = _offender(r, inv, cmd, group, actor, locale)
    if offender is None:
        return
    # "warn @bob R8.1.2 spam" names the clause broken; without one, the warning is the ladder's step
    # (R8.2.1) for the admin's reason, and cites no clause the member did not break.
    clause, reason = "", cmd.rest
    head, _, tail = cmd.rest.partition(" ")
    if CLAUSE.match(head):
        if not is_clause(head.upper()):
            raise Refusal("command.unknown_clause", clause=head,
                          nearest=t(locale, "command.list_sep").join(nearest(head)),
                          usage=usage_in(r.ctx.features.grammar.specs["warn"], locale))
        if tail.strip():
            clause, reason = head.upper(), tail.strip()
    case = Discipline(r.ctx, r.s).report(Violation(
        group=group, account=offender, clause=clause, rule=reason, category="manual",
        reported_by=f"person:{actor.person_id}", automated=False, evidence=cmd.rest))
    if case.outcome == "removal_pending":
        r.reply(inv, group, t(locale, "remove.pending.ack", member=display(offender), case=case.number,
                              clause=case.outcome_clause), private=True)


def _remove(r, inv, cmd, group, actor, locale) -> None:
    offender = _offender(r, inv, cmd, group, actor, locale)
    if offender is not None:
        Discipline(r.ctx, r.s).remove(group, offender, cmd.rest, by=f"person:{actor.person_id}")


def _case(r, inv, cmd, group, actor, locale):
    """The named case, once the actor may decide on it: an admin of its group (permission before existence)."""
    case = r.find_case(cmd.case)
    if r.item_allowed(inv, cmd, group, actor, locale, ADMIN, case.group_id if case else None, case is not None,
                      "command.unknown_case", case=cmd.case):
        return case
    return None


def _revoke(r, inv, cmd, group, actor, locale) -> None:
    case = _case(r, inv, cmd, group, actor, locale)
    if case is not None:
        r.reply(inv, group, Discipline(r.ctx, r.s).revoke(case, cmd.rest, by=f"person:{actor.person_id}"),
                private=True)


def _resolve(approve: bool):
    def handler(r, inv, cmd, group, actor, locale) -> None:
        case = _case(r, inv, cmd, group, actor, locale)
        if case is not None:
            r.reply(inv, group, Discipline(r.ctx, r.s).resolve(case, approve, by=f"person:{actor.person_id}"),
                    private=True)
    return handler


def _reject_appeal(r, inv, cmd, group, actor, locale) -> None:
    case = _case(r, inv, cmd, group, actor, locale)
    if case is not None:
        r.reply(inv, group, Discipline(r.ctx, r.s).reject_appeal(case, cmd.rest, by=f"person:{actor.person_id}"),
                private=True)


def _appeal(r, inv, cmd, group, actor, locale) -> None:
    """One's own case only; someone else's case and a number that does not exist get the same answer."""
    case = r.find_case(cmd.case)
    if case is None or case.person_id != actor.person_id:
        r.refuse(inv, cmd, group, actor, locale, "R2.3.3", group_id=case.group_id if case else None,
                 reason="item", key="appeal.not_yours")
        return
    r.reply(inv, group, Discipline(r.ctx, r.s).appeal(case, actor.person, cmd.rest), private=True)


COMMANDS = (
    CommandSpec("help", ("帮助", "幫助", "?", "？"), _help, needs_group=False, scope=OPEN),
    CommandSpec("rules", ("群规", "群規"), _rules),
    CommandSpec("record", ("记录", "記錄"), _record, usage="record [@member] · 记录 [@成员]",
                needs_group=False, scope=OPEN),
    CommandSpec("warn", ("警告",), _warn, usage="warn @member reason [in:GROUP] · 警告 @成员 理由 [in:群]",
                needs_member=True, needs_text=True, roles=REPORTERS, scope=STAFF),
    CommandSpec("remove", ("kick", "移出", "踢出"), _remove,
                usage="remove @member reason [in:GROUP] · 移出 @成员 理由 [in:群]",
                needs_member=True, needs_text=True, roles=ADMIN, scope=STAFF),
    CommandSpec("revoke", ("撤销", "撤銷", "accept-appeal", "接受申诉", "接受申訴"), _revoke,
                usage="revoke CASE reason · 撤销 案件号 理由", needs_case=True, needs_text=True, needs_group=False,
                scope=ITEM, listed_for=ADMIN),
    CommandSpec("appeal", ("申诉", "申訴"), _appeal, usage="appeal CASE reason · 申诉 案件号 理由",
                needs_case=True, needs_text=True, needs_group=False, scope=ITEM),
    CommandSpec("reject-appeal", ("dismiss-appeal", "驳回申诉", "駁回申訴"), _reject_appeal,
                usage="reject-appeal CASE reason · 驳回申诉 案件号 理由", needs_case=True, needs_text=True,
                needs_group=False, scope=ITEM, listed_for=ADMIN),
    CommandSpec("approve", ("批准",), _resolve(True), usage="approve CASE · 批准 案件号", needs_case=True,
                needs_group=False, scope=ITEM, listed_for=ADMIN),
    CommandSpec("reject", ("驳回", "駁回"), _resolve(False), usage="reject CASE · 驳回 案件号", needs_case=True,
                needs_group=False, scope=ITEM, listed_for=ADMIN),
)


CARD_ACTIONS = {"case.approve": card_command("approve {value}"), "case.reject": card_command("reject {value}")}
