"""Running a command typed in any messenger: parse, find the group, check the role, run the handler.

Handlers live with their feature (`*_commands.py`) and use the runner's helpers to reply, look up
members and cases, and check permissions, so every command behaves the same way (R7.1.1, R7.1.2).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.actions import PostMessage, SendEphemeral, SendPrivate
from core.db.models import Account, Case, Group, Role
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import account_for, find_account, group_for, open_membership, roles_of
from core.kernel.identity import after_commit, profile_of
from core.kernel.outbox import FORGET, enqueue
from core.kernel.parser import CommandError, ParsedCommand
from core.kernel.refusals import Refusal
from core.kernel.roster import locale_of, training_groups
from core.kernel.scheduler import schedule
from core.kernel.spec import ITEM, OPEN, CommandSpec
from core.kernel.spec import STAFF as STAFF_SCOPE
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
# standing()'s statements, built once (every command in a group asks them)
_TRAINING_GROUPS = select(Group.id).where(Group.training_id == bindparam("training_id"), Group.active.is_(True))
_STAFF_IN = select(Role.id).where(Role.person_id == bindparam("person_id"), Role.role.in_(tuple(sorted(STAFF))),
                                  Role.group_id.in_(bindparam("group_ids", expanding=True))).limit(1)


class CommandRunner:
    def __init__(self, ctx: CoreContext, session: Session, looked_up: frozenset[str] = frozenset()) -> None:
        self.ctx, self.s = ctx, session
        self.now = ctx.clock.now()
        self._replies = 0
        self._refused = False             # a refusal of this invocation is audited already (one row each)
        self._looked_up = looked_up       # user ids the directory was asked about for this invocation

    def run(self, inv: Invocation) -> None:
        group = None if inv.is_direct or inv.chat_id is None else group_for(self.s, inv.platform, inv.chat_id)
        actor = account_for(self.s, inv.platform, inv.user_id, self.now, inv.display_name)
        # a 1:1 chat speaks the language of the asker's (first) group, else the deployment's
        locale = group.locale if group else locale_of(self.s, actor.person_id, self.ctx.config.locale)
        grammar = self.ctx.features.grammar
        try:
            cmd = grammar.parse(inv.text)
        except CommandError as err:
            self.reply(inv, group, self.not_understood(inv.text, err, locale, inv.is_direct), private=True)
            return
        spec = self.ctx.features.grammar.specs[cmd.name]
        group, locale, ok = self._resolve_group(inv, cmd, spec, group, actor, locale)
        if not ok:
            return
        if spec.roles is not None and not self.allowed(inv, cmd, group, actor, locale, spec.roles,
                                                       clause=spec.clause):
            return
        try:
            spec.handler(self, inv, cmd, group, actor, locale)
        except Refusal as refusal:
            self.refused(inv, cmd.name, group, actor.person_id, locale, spec.clause, refusal)

    def refused(self, inv: Invocation, command: str, where: Group | None, person_id: int | None, locale: str,
                clause: str, refusal: Refusal) -> None:
        """A use case refused the input (a bad date, an unknown clause, a closed quiz…): the same private
        answer as always, and one `command.refused` audit entry (reason "input", the message key; not the
        member's text), unless this invocation's refusal is audited already."""
        if not (self._refused or refusal.audited):
            self._refused = True
            audit.record(self.s, at=self.now, actor=f"person:{person_id}" if person_id else f"{inv.platform}:?",
                         action="command.refused", clause=clause, group_id=where.id if where else None,
                         person_id=person_id, command=command, reason="input", key=refusal.key)
        self.reply(inv, where, refusal.text(locale), private=True)

    # --- who may see or act in a group: decided here, before anything of the group is looked up -----------
    def _resolve_group(self, inv: Invocation, cmd: ParsedCommand, spec: CommandSpec, typed: Group | None,
                       actor: Account, locale: str) -> tuple[Group | None, str, bool]:
        """The group the command is about — the one named with in:GROUP, else the one it was typed in, else
        (when it needs one) the actor's one group on this platform — and whether the actor may use it.

        A named group that does not exist and one the actor is not in get the same refusal, for every scope
        (OPEN included), so in:GROUP never tells an outsider which groups exist; only a command whose spec
        says `any_group` (`join`: an applicant is in no group yet) may name a group the actor is not in. Item commands (scope ITEM) resolve no group here: the
        item's group decides (`item_allowed`)."""
        if spec.scope == ITEM:
            return typed, locale, True
        if inv.chat_id and not inv.is_direct and typed is None and spec.needs_group and not cmd.group:
            self.reply(inv, None, t(locale, "command.group_not_governed"), private=True)
            return None, locale, False
        group, standing = typed, None
        if cmd.group:
            named = cmd.group[:128]
            group = group_for(self.s, inv.platform, cmd.group)
            # A group that does not exist and one the actor may not see take one path: a standing computed for
            # both (the same queries), then the same refusal text, audited (the audit keeps which it was).
            standing = self.standing(actor, group)
            if group is None or (standing == "outsider" and not spec.any_group):
                self.refuse(inv, cmd, typed, actor, locale, spec.clause, group_id=group.id if group else None,
                            reason="no_such_group" if group is None else "not_in_group", named=named,
                            key="command.unknown_group" if spec.any_group else "command.not_in_group",
                            group=named)
                return None, locale, False
        elif group is None and spec.needs_group:
            group = self._group_for_direct(inv, cmd, actor, locale, staff_only=spec.scope == STAFF_SCOPE
                                           or spec.roles is not None)
            if group is None:
                return None, locale, False
        if group is not None and spec.scope != OPEN:
            standing = standing or self.standing(actor, group)
            if standing == "outsider" or (standing == "member" and spec.scope == STAFF_SCOPE):
                # an outsider hears what a group that does not exist would say; a member, that the
                # command is not theirs to use
                self.refuse(inv, cmd, typed or (group if standing == "member" else None), actor, locale,
                            spec.clause, group_id=group.id, reason="not_in_group" if standing == "outsider"
                            else "role", key="command.not_in_group" if standing == "outsider"
                            else "command.refused", group=cmd.group[:128] if cmd.group else group.chat_id)
                return None, locale, False
        return group, (group.locale if group else locale), True

    def standing(self, actor: Account, group: Group | None) -> str:
        """"staff": a role in the group, in another group of its training, or organisation-wide; "member":
        an open member of the group; else "outsider". MEMBER commands want staff or member, STAFF ones staff.
        The same four statements for every outsider, whether the group exists (with or without a training)
        or not (None: a name that matches no group, asked about an id no group and no training has)."""
        gid = group.id if group is not None else 0
        training = group.training_id if group is not None and group.training_id is not None else 0
        if roles_of(self.s, actor.person_id, gid) & STAFF:
            return "staff"
        others = [i for i in self.s.scalars(_TRAINING_GROUPS, {"training_id": training}) if i != gid]
        if self.s.scalar(_STAFF_IN, {"person_id": actor.person_id, "group_ids": others}) is not None:
            return "staff"
        return "member" if open_membership(self.s, actor.person_id, gid) is not None else "outsider"

    def _belongs(self, actor: Account, group_id: int | None) -> bool:
        """An open member of the group or of another group of the same training (on any messenger)."""
        group = self.s.get(Group, group_id) if group_id is not None else None
        return group is not None and any(open_membership(self.s, actor.person_id, g.id) is not None
                                         for g in training_groups(self.s, group))

    def refuse(self, inv: Invocation, cmd: ParsedCommand, where: Group | None, actor: Account, locale: str,
               clause: str, group_id: int | None = None, reason: str = "role", key: str = "command.refused",
               **values) -> None:
        """Every refusal: an audit entry (`command.refused`, with the reason), then a private answer (the
        message `key` with `values`) where the command was typed."""
        gid = group_id if group_id is not None else (where.id if where else None)
        self._refused = True
        audit.record(self.s, at=self.now, actor=f"person:{actor.person_id}", action="command.refused",
                     clause=clause, group_id=gid, person_id=actor.person_id, command=cmd.name, reason=reason,
                     **{k: v for k, v in values.items() if k != "group"})
        self.reply(inv, where, t(locale, key, command=cmd.word, clause=clause, **values), private=True)

    def item_allowed(self, inv: Invocation, cmd: ParsedCommand, group: Group | None, actor: Account, locale: str,
                     roles: Iterable[str] | None, item_group_id: int | None, exists: bool, unknown: str,
                     clause: str = "R7.1.2", **values) -> bool:
        """Permission before existence, for a command about a numbered item; the item's group decides:
        `roles` there (or organisation-wide), or — roles None — membership of its training's groups or any
        role there. Whoever may not act on the item is answered exactly as if it did not exist:
        - holding none of `roles` anywhere: "you may not use this command", whether the item exists or not;
        - otherwise: the `unknown` message, for a number that does not exist and for another group's item.
        Every refusal is audited (`command.refused`, reason "role" or "item")."""
        wanted = frozenset(roles) if roles is not None else None
        if wanted is not None and not self.holds_anywhere(actor, wanted):
            self.refuse(inv, cmd, group, actor, locale, clause, group_id=item_group_id, reason="role")
            return False
        if exists:
            held = roles_of(self.s, actor.person_id, item_group_id)
            if wanted is not None and held & wanted:
                return True
            if wanted is None and (held & STAFF or self._belongs(actor, item_group_id)):
                return True
        self.refuse(inv, cmd, group, actor, locale, clause, group_id=item_group_id, reason="item", key=unknown,
                    **values)
        return False

    def holds_anywhere(self, actor: Account, roles: frozenset[str]) -> bool:
        return self.s.scalar(select(Role.id).where(Role.person_id == actor.person_id, Role.role.in_(tuple(roles)))
                             .limit(1)) is not None
    def not_understood(self, text: str, err: CommandError, locale: str, direct: bool = True) -> str:
        """Every addressed message gets an answer: a bare mention a short help, a typo the closest
        commands (in the group's language), other text what to send instead (in a group, where it
        may be a question the instructors' watch picks up, that it was noted)."""
        grammar = self.ctx.features.grammar
        word = lambda name: grammar.alias_for(name, locale)   # noqa: E731
        names = dict(help=word("help"), ask=word("ask") if "ask" in grammar.specs else word("help"))
        if err.key != "command.unknown":
            return t(locale, err.key, **err.values)
        if not text.strip():
            return t(locale, "command.hello", **names)
        typed = err.values.get("command", "")
        close = grammar.suggest(typed)
        if close:
            return t(locale, "command.did_you_mean", command=typed,
                     suggestions=t(locale, "command.or").join(word(n) for n in close), **names)
        return t(locale, "command.unknown" if direct else "command.noted", command=typed, **names)

    def card(self, inv: Invocation, action: str, value: str) -> None:
        """A card button; unknown actions are ignored (an old card, or a forged click)."""
        handler = self.ctx.features.card_actions.get(action)
        if handler is None:
            return
        try:
            handler(self, inv, value)
        except Refusal as refusal:
            account = find_account(self.s, inv.platform, inv.user_id)
            person_id = account.person_id if account else None
            locale = locale_of(self.s, person_id, self.ctx.config.locale) if person_id else self.ctx.config.locale
            self.refused(inv, action, None, person_id, locale, "R7.1.2", refusal)

    def _group_for_direct(self, inv: Invocation, cmd: ParsedCommand, actor: Account, locale: str,
                          staff_only: bool = True) -> Group | None:
        """A group command typed in a 1:1 chat (the only place WeCom members talk to the app) without
        in:GROUP: the one governed group on this platform that fits — among the groups the actor looks
        after (staff commands) or belongs to (everyone's commands)."""
        candidates = [g for g in self.s.scalars(select(Group).where(
            Group.platform == inv.platform, Group.active.is_(True)).order_by(Group.id))
            if roles_of(self.s, actor.person_id, g.id) & STAFF
            or (not staff_only and open_membership(self.s, actor.person_id, g.id))]
        if cmd.members:
            target = find_account(self.s, inv.platform, cmd.members[0])
            if target is not None:
                candidates = [g for g in candidates if open_membership(self.s, target.person_id, g.id)]
        return self.choose_group(inv, cmd, candidates, locale)

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
        self.refuse(inv, cmd, group, actor, locale, clause, group_id=gid)
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

    def find_case(self, number: str | None) -> Case | None:
        """The case, without a word to the asker: check permission (`item_allowed`) before saying it is unknown."""
        return self.s.scalar(select(Case).where(Case.number == number)) if number else None


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


def card_command(line: str) -> Callable[..., None]:
    """A card action that runs the command `line` (`{value}` standing for the button's value) as the person
    who pressed it, in their 1:1 chat: the command's own scope and role checks apply to the click."""
    def handler(r, inv, value: str) -> None:
        r.run(Invocation(inv.platform, inv.event_id, inv.user_id, line.format(value=value), None, True,
                         inv.display_name))
    return handler
