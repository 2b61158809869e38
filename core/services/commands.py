"""Running a parsed command: who may, what happens, and the reply (R7.1.1, R7.1.2)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import PostMessage, SendEphemeral, SendPrivate
from core.commands.parser import CommandError, ParsedCommand, parse
from core.db.models import Account, Case, Group
from core.i18n import t
from core.policy.roles import may
from core.services import audit
from core.services.context import CoreContext
from core.services.directory import (account_for, display, find_account, group_for, open_membership,
                                     roles_of)
from core.services.discipline import Discipline, Violation
from core.services.outbox import enqueue

CLAUSE = re.compile(r"^R\d{1,2}\.\d{1,2}\.\d{1,2}$", re.IGNORECASE)
NEEDS_GROUP = {"warn", "remove", "rules"}


@dataclass(frozen=True)
class Invocation:
    platform: str
    event_id: str
    user_id: str
    text: str
    chat_id: str | None          # None or the DM id when not in a group
    is_direct: bool = False
    display_name: str | None = None


class CommandRunner:
    def __init__(self, ctx: CoreContext, session: Session) -> None:
        self.ctx, self.s = ctx, session
        self.now = ctx.clock.now()
        self.discipline = Discipline(ctx, session)
        self._replies = 0

    def run(self, inv: Invocation) -> None:
        group = None if inv.is_direct or inv.chat_id is None else group_for(self.s, inv.platform, inv.chat_id)
        locale = group.locale if group else self.ctx.config.locale
        actor = account_for(self.s, inv.platform, inv.user_id, self.now, inv.display_name)
        try:
            cmd = parse(inv.text)
        except CommandError as err:
            self._reply(inv, group, t(locale, err.key, **err.values), private=True)
            return
        if cmd.name in NEEDS_GROUP and group is None:
            if inv.chat_id and not inv.is_direct:
                self._reply(inv, group, t(locale, "command.group_not_governed"), private=True)
                return
            group = self._group_for_direct(inv, cmd, actor, locale)
            if group is None:
                return
            locale = group.locale
        handler = getattr(self, f"_cmd_{cmd.name}")
        handler(inv, cmd, group, actor, locale)

    def _group_for_direct(self, inv: Invocation, cmd: ParsedCommand, actor: Account, locale: str) -> Group | None:
        """A group command typed in a 1:1 chat (the only place WeCom members talk to the app): the group
        named with in:CHAT_ID, or else the one governed group on this platform that fits."""
        if cmd.group:
            group = group_for(self.s, inv.platform, cmd.group)
            if group is None:
                self._reply(inv, None, t(locale, "command.unknown_group", group=cmd.group), private=True)
            return group
        staff = {"admin", "lead", "instructor"}
        candidates = [g for g in self.s.scalars(select(Group).where(
            Group.platform == inv.platform, Group.active.is_(True)).order_by(Group.id))
            if roles_of(self.s, actor.person_id, g.id) & staff]
        if cmd.members:
            target = find_account(self.s, inv.platform, cmd.members[0])
            if target is not None:
                candidates = [g for g in candidates if open_membership(self.s, target.person_id, g.id)]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            self._reply(inv, None, t(locale, "command.needs_group", command=cmd.word), private=True)
        else:
            self._reply(inv, None, t(locale, "command.which_group", command=cmd.word,
                                     groups=", ".join(f"in:{g.chat_id} ({g.name})" for g in candidates)),
                        private=True)
        return None

    # --- replies ---------------------------------------------------------------------------
    def _reply(self, inv: Invocation, group: Group | None, text: str, private: bool) -> None:
        self._replies += 1
        key = f"reply:{inv.platform}:{inv.event_id}:{self._replies}"
        caps = self.ctx.caps(inv.platform)
        if group is not None and not private:
            action = PostMessage(inv.platform, group.chat_id, text)
        elif group is not None and caps.ephemeral:
            action = SendEphemeral(inv.platform, group.chat_id, inv.user_id, text)
        else:
            action = SendPrivate(inv.platform, inv.user_id, text)
        enqueue(self.s, action, key=key, now=self.now, group_id=group.id if group else None)

    def _allowed(self, inv: Invocation, cmd_name: str, word: str, group: Group | None, actor: Account,
                 locale: str, group_id: int | None = None) -> bool:
        gid = group_id if group_id is not None else (group.id if group else None)
        if may(cmd_name, roles_of(self.s, actor.person_id, gid)):
            return True
        audit.record(self.s, at=self.now, actor=f"person:{actor.person_id}", action="command.refused",
                     clause="R7.1.2", group_id=gid, person_id=actor.person_id, command=cmd_name)
        self._reply(inv, group, t(locale, "command.refused", command=word, clause="R7.1.2"), private=True)
        return False

    def _member(self, inv: Invocation, group: Group | None, user_id: str, locale: str) -> Account | None:
        account = find_account(self.s, inv.platform, user_id)
        if account is None:
            self._reply(inv, group, t(locale, "command.unknown_member", member=user_id), private=True)
        return account

    def _case(self, inv: Invocation, group: Group | None, number: str, locale: str) -> Case | None:
        case = self.s.scalar(select(Case).where(Case.number == number))
        if case is None:
            self._reply(inv, group, t(locale, "command.unknown_case", case=number), private=True)
        return case

    # --- commands ----------------------------------------------------------------------------
    def _cmd_help(self, inv, cmd, group, actor, locale) -> None:
        self._reply(inv, group, t(locale, "help"), private=group is None)

    def _cmd_rules(self, inv, cmd, group, actor, locale) -> None:
        d = self.ctx.config.all_templates()[group.template].discipline
        self._reply(inv, group, t(locale, "rules", group=group.name, limit=d.warnings_before_removal,
                                  days=d.warning_expiry_days), private=False)

    def _cmd_record(self, inv, cmd, group, actor, locale) -> None:
        target = actor
        if cmd.members and cmd.members[0] != inv.user_id:
            if not may("record_others", roles_of(self.s, actor.person_id, group.id if group else None)):
                audit.record(self.s, at=self.now, actor=f"person:{actor.person_id}", action="command.refused",
                             clause="R7.1.2", group_id=group.id if group else None,
                             person_id=actor.person_id, command="record")
                self._reply(inv, group, t(locale, "record.only_own"), private=True)
                return
            target = self._member(inv, group, cmd.members[0], locale)
            if target is None:
                return
        self._reply(inv, group, self.discipline.record_text(target.person, display(target), locale), private=True)

    def _cmd_warn(self, inv, cmd, group, actor, locale) -> None:
        if not self._allowed(inv, "warn", cmd.word, group, actor, locale):
            return
        offender = self._member(inv, group, cmd.members[0], locale)
        if offender is None:
            return
        if offender.person_id == actor.person_id:
            self._reply(inv, group, t(locale, "command.self", command=cmd.word), private=True)
            return
        # "warn @bob R8.1.2 spam" names the clause broken; otherwise R7.1.2 (admins keep order).
        clause, reason = "R7.1.2", cmd.rest
        head, _, tail = cmd.rest.partition(" ")
        if CLAUSE.match(head) and tail.strip():
            clause, reason = head.upper(), tail.strip()
        case = self.discipline.report(Violation(
            group=group, account=offender, clause=clause, rule=reason, category="manual",
            reported_by=f"person:{actor.person_id}", automated=False, evidence=cmd.rest))
        if case.outcome == "removal_pending":
            self._reply(inv, group, t(locale, "remove.pending.ack", member=display(offender),
                                      case=case.number, clause=case.outcome_clause), private=True)

    def _cmd_remove(self, inv, cmd, group, actor, locale) -> None:
        if not self._allowed(inv, "remove", cmd.word, group, actor, locale):
            return
        offender = self._member(inv, group, cmd.members[0], locale)
        if offender is None:
            return
        if offender.person_id == actor.person_id:
            self._reply(inv, group, t(locale, "command.self", command=cmd.word), private=True)
            return
        self.discipline.remove(group, offender, cmd.rest, by=f"person:{actor.person_id}")

    def _cmd_revoke(self, inv, cmd, group, actor, locale) -> None:
        case = self._case(inv, group, cmd.case, locale)
        if case is None or not self._allowed(inv, "revoke", cmd.word, group, actor, locale, case.group_id):
            return
        self._reply(inv, group, self.discipline.revoke(case, cmd.rest, by=f"person:{actor.person_id}"),
                    private=True)

    def _resolve(self, inv, cmd, group, actor, locale, approve: bool) -> None:
        case = self._case(inv, group, cmd.case, locale)
        if case is None or not self._allowed(inv, cmd.name, cmd.word, group, actor, locale, case.group_id):
            return
        self._reply(inv, group, self.discipline.resolve(case, approve, by=f"person:{actor.person_id}"),
                    private=True)

    def _cmd_approve(self, inv, cmd, group, actor, locale) -> None:
        self._resolve(inv, cmd, group, actor, locale, approve=True)

    def _cmd_reject(self, inv, cmd, group, actor, locale) -> None:
        self._resolve(inv, cmd, group, actor, locale, approve=False)

    def _cmd_appeal(self, inv, cmd, group, actor, locale) -> None:
        case = self._case(inv, group, cmd.case, locale)
        if case is None:
            return
        self._reply(inv, group, self.discipline.appeal(case, actor.person, cmd.rest), private=True)

    def card(self, inv: Invocation, action: str, value: str) -> None:
        """A card button: the same checks as the typed command."""
        names = {"case.approve": "approve", "case.reject": "reject"}
        if action not in names:
            return
        self.run(Invocation(inv.platform, inv.event_id, inv.user_id, f"{names[action]} {value}",
                            None, True, inv.display_name))
