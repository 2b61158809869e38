"""Running a command typed in any messenger: parse, find the group, check the role, run the handler.

Handlers live with their feature (`*_commands.py`) and use the runner's helpers to reply, look up
members and cases, and check permissions, so every command behaves the same way (R7.1.1, R7.1.2).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import PostMessage, SendEphemeral, SendPrivate
from core.db.models import Account, Case, Group
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_for, find_account, group_for, open_membership, roles_of
from core.kernel.identity import after_commit, profile_of
from core.kernel.outbox import FORGET, enqueue
from core.kernel.parser import CommandError, ParsedCommand
from core.kernel.scheduler import schedule
from core.roles import STAFF


@dataclass(frozen=True)
class Invocation:
    platform: str
    event_id: str
    user_id: str
    text: str
    chat_id: str | None          # None or the DM id when not in a group
    is_direct: bool = False
    display_name: str | None = None


LOOKUP_JOB = "command.member_lookup"


class CommandRunner:
    def __init__(self, ctx: CoreContext, session: Session, looked_up: frozenset[str] = frozenset()) -> None:
        self.ctx, self.s = ctx, session
        self.now = ctx.clock.now()
        self._replies = 0
        self._looked_up = looked_up       # user ids the directory was asked about for this invocation

    def run(self, inv: Invocation) -> None:
        group = None if inv.is_direct or inv.chat_id is None else group_for(self.s, inv.platform, inv.chat_id)
        locale = group.locale if group else self.ctx.config.locale
        actor = account_for(self.s, inv.platform, inv.user_id, self.now, inv.display_name)
        try:
            cmd = self.ctx.features.grammar.parse(inv.text)
        except CommandError as err:
            self.reply(inv, group, t(locale, err.key, **err.values), private=True)
            return
        spec = self.ctx.features.grammar.specs[cmd.name]
        if spec.needs_group and group is None:
            if inv.chat_id and not inv.is_direct:
                self.reply(inv, group, t(locale, "command.group_not_governed"), private=True)
                return
            group = self._group_for_direct(inv, cmd, actor, locale, staff_only=spec.roles is not None)
            if group is None:
                return
            locale = group.locale
        if spec.roles is not None and not self.allowed(inv, cmd, group, actor, locale, spec.roles,
                                                       clause=spec.clause):
            return
        spec.handler(self, inv, cmd, group, actor, locale)

    def card(self, inv: Invocation, action: str, value: str) -> None:
        """A card button; unknown actions are ignored (an old card, or a forged click)."""
        handler = self.ctx.features.card_actions.get(action)
        if handler is not None:
            handler(self, inv, value)

    def _group_for_direct(self, inv: Invocation, cmd: ParsedCommand, actor: Account, locale: str,
                          staff_only: bool = True) -> Group | None:
        """A group command typed in a 1:1 chat (the only place WeCom members talk to the app): the group
        named with in:CHAT_ID, or else the one governed group on this platform that fits — among the
        groups the actor looks after (staff commands) or belongs to (everyone's commands)."""
        if cmd.group:
            return self.named_group(inv, cmd, locale)
        candidates = [g for g in self.s.scalars(select(Group).where(
            Group.platform == inv.platform, Group.active.is_(True)).order_by(Group.id))
            if roles_of(self.s, actor.person_id, g.id) & STAFF
            or (not staff_only and open_membership(self.s, actor.person_id, g.id))]
        if cmd.members:
            target = find_account(self.s, inv.platform, cmd.members[0])
            if target is not None:
                candidates = [g for g in candidates if open_membership(self.s, target.person_id, g.id)]
        return self.choose_group(inv, cmd, candidates, locale)

    def named_group(self, inv: Invocation, cmd: ParsedCommand, locale: str) -> Group | None:
        """The group named with in:CHAT_ID, or a clear reply when there is none."""
        group = group_for(self.s, inv.platform, cmd.group or "")
        if group is None:
            self.reply(inv, None, t(locale, "command.unknown_group", group=cmd.group), private=True)
        return group

    def choose_group(self, inv: Invocation, cmd: ParsedCommand, candidates: list[Group],
                     locale: str) -> Group | None:
        """The one candidate; otherwise ask (several) or explain (none), never guess."""
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            self.reply(inv, None, t(locale, "command.needs_group", command=cmd.word), private=True)
        else:
            self.reply(inv, None, t(locale, "command.which_group", command=cmd.word,
                                    groups=", ".join(f"in:{g.chat_id} ({g.name})" for g in candidates)),
                       private=True)
        return None

    # --- helpers for handlers -------------------------------------------------------------------
    def reply(self, inv: Invocation, group: Group | None, text: str, private: bool, forget: bool = False) -> None:
        """Answer in the group (public), or privately: ephemeral where the platform has it, else a DM.
        `forget`: the stored row loses its recipient once delivered (outbox.FORGET)."""
        self._replies += 1
        key = f"{FORGET if forget else ''}reply:{inv.platform}:{inv.event_id}:{self._replies}"
        caps = self.ctx.caps(inv.platform)
        if group is not None and not private:
            action = PostMessage(inv.platform, group.chat_id, text, reply_to=inv.event_id)
        elif group is not None and caps.ephemeral and not inv.is_direct:
            action = SendEphemeral(inv.platform, group.chat_id, inv.user_id, text)
        else:
            action = SendPrivate(inv.platform, inv.user_id, text)
        enqueue(self.s, action, key=key, now=self.now, group_id=group.id if group else None)

    def allowed(self, inv: Invocation, cmd: ParsedCommand, group: Group | None, actor: Account, locale: str,
                roles: Iterable[str], group_id: int | None = None, clause: str = "R7.1.2") -> bool:
        """Does the actor hold one of `roles` (in the group, or organisation-wide)? Refusals are audited."""
        gid = group_id if group_id is not None else (group.id if group else None)
        if roles_of(self.s, actor.person_id, gid) & set(roles):
            return True
        audit.record(self.s, at=self.now, actor=f"person:{actor.person_id}", action="command.refused",
                     clause=clause, group_id=gid, person_id=actor.person_id, command=cmd.name)
        self.reply(inv, group, t(locale, "command.refused", command=cmd.word, clause=clause), private=True)
        return False

    def member(self, inv: Invocation, group: Group | None, user_id: str, locale: str) -> Account | None:
        """The named member's account. A user Steward has not seen yet is looked up in the platform's
        directory by the worker (`LOOKUP_JOB`, never inside this transaction), which then runs the command
        again; only a user the directory does not know is refused."""
        account = find_account(self.s, inv.platform, user_id)
        if account is None and user_id not in self._looked_up and self.ctx.directories.get(inv.platform):
            schedule(self.s, key=f"{LOOKUP_JOB}:{inv.platform}:{inv.event_id}:{user_id}", kind=LOOKUP_JOB,
                     due_at=self.now, now=self.now, payload={"user_id": user_id, "invocation": asdict(inv)})
            return None
        if account is None:
            self.reply(inv, group, t(locale, "command.unknown_member", member=user_id), private=True)
        return account

    def case(self, inv: Invocation, group: Group | None, number: str, locale: str) -> Case | None:
        case = self.s.scalar(select(Case).where(Case.number == number))
        if case is None:
            self.reply(inv, group, t(locale, "command.unknown_case", case=number), private=True)
        return case


def member_lookup_job(ctx: CoreContext, s: Session, payload: dict) -> None:
    """`LOOKUP_JOB`: after the job's transaction, ask the directory about the named user; a user it
    knows (and who has not left) gets an account, then the command runs again as typed."""
    inv, user_id = Invocation(**payload["invocation"]), str(payload["user_id"])

    def lookup() -> None:
        profile = profile_of(ctx, inv.platform, user_id)
        with ctx.sessions.begin() as session:
            if profile is not None and not profile.deleted:
                account_for(session, inv.platform, user_id, ctx.clock.now(), profile.name)
            runner = CommandRunner(ctx, session, looked_up=frozenset({user_id}))
            runner._replies = 100      # the first run's replies (if any) keep their keys
            runner.run(inv)
    after_commit(s, lookup)
