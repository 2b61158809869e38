"""Commands and card actions of the membership feature (declared in core/membership/feature.py):
join applications (R2.1.3), recommendations (R2.1.1), linking identities, acknowledgements (R3.3),
and the lead's answers about moves (R2.4.1)."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.db.models import Group, Membership, Role
from core.events import MemberLeft
from core.i18n import t
from core.kernel import audit
from core.kernel.directory import account_for, display, find_account, group_for, open_membership
from core.kernel.identity import LinkResult, link_by_key
from core.kernel.spec import OPEN, STAFF, CommandSpec
from core.membership.admission import admit_all_held, decide_held, review_held
from core.membership.applications import Applications
from core.membership.leave import leave_voluntarily
from core.membership.models import MembershipRequest
from core.membership.moves import decide_move
from core.membership.responsible import check_responsible
from core.membership.welcome import acknowledge, unacknowledged
from core.roles import DECIDERS, LINKERS, RECOMMENDERS

MAILTO = re.compile(r"<mailto:([^|>\s]+)(?:\|[^>]*)?>")

ACK_READERS = DECIDERS


def _target_group(r, inv, cmd, group, locale) -> Group | None:
    """The group the runner resolved (named in:GROUP, or where the command was typed), or else the one
    group on this platform."""
    if group is not None:
        return group
    groups = list(r.s.scalars(select(Group).where(Group.platform == inv.platform, Group.active.is_(True))
                              .order_by(Group.id)))
    if len(groups) == 1:
        return groups[0]
    r.reply(inv, None, t(locale, "membership.which_group", command=cmd.word,
                         groups=", ".join(f"in:{g.chat_id} ({g.name})" for g in groups) or "-"), private=True)
    return None


def _join(r, inv, cmd, group, actor, locale) -> None:
    target = None
    if not cmd.group and group is None:   # the answer to a question: the application being filled in
        target = r.s.scalar(select(Group).join(MembershipRequest, MembershipRequest.group_id == Group.id).where(
            MembershipRequest.person_id == actor.person_id, MembershipRequest.status == "collecting",
            Group.platform == inv.platform).order_by(MembershipRequest.id.desc()).limit(1))
    target = target or _target_group(r, inv, cmd, group, locale)
    if target is None:
        return
    outcome = Applications(r.ctx, r.s).apply(target, actor, cmd.rest)
    if outcome is not None:   # None: the directory is read first and the answer follows
        # privately, never ephemeral in the channel: an applicant is usually not in it yet
        r.reply(inv, None, t(target.locale, outcome.message, **outcome.values), private=True)


def _recommend(r, inv, cmd, group, actor, locale) -> None:
    user_ids, reason = list(cmd.members), cmd.rest
    # In a 1:1 chat (WeCom, DingTalk) there is no mention markup: "recommend zhangsan lisi reason" names
    # every known account at the front of the text.
    words = reason.split(" ")
    while words and find_account(r.s, inv.platform, words[0].lstrip("@")) is not None:
        user_ids.append(words.pop(0).lstrip("@"))
    reason = " ".join(words).strip()
    accounts = [account_for(r.s, inv.platform, user_id, r.now) for user_id in dict.fromkeys(user_ids)]
    invited = Applications(r.ctx, r.s).recommend(group, actor, accounts, reason)
    skipped = len(accounts) - len(invited)
    r.reply(inv, group, t(locale, "membership.recommend.done", count=len(invited),
                          names=", ".join(invited) or "-", skipped=skipped, clause="R2.1.1"), private=True)


def _has_role_anywhere(r, person_id: int, roles) -> bool:
    return r.s.scalar(select(Role.id).where(Role.person_id == person_id, Role.role.in_(tuple(roles))).limit(1)) \
        is not None


def _link(r, inv, cmd, group, actor, locale) -> None:
    if not _has_role_anywhere(r, actor.person_id, LINKERS):
        r.refuse(inv, cmd, group, actor, locale, "R7.1.1")
        return
    account = account_for(r.s, inv.platform, cmd.members[0], r.now)
    words = MAILTO.sub(r"\1", cmd.rest).split()   # Slack writes e-mails as <mailto:a@b.cn|a@b.cn>
    key = words[0]
    result = (link_by_key(r.s, account, key, r.now, f"person:{actor.person_id}") if len(words) == 1
              else LinkResult("conflict", "bad_key"))
    if result.status == "conflict":
        r.reply(inv, group, t(locale, "membership.link.conflict", member=display(account), target=key,
                              reason=t(locale, f"membership.conflict.{result.reason}"),
                              other=result.other_person_id or "-"), private=True)
    else:
        r.reply(inv, group, t(locale, f"membership.link.{result.status}", member=display(account), target=key,
                              person=account.person_id), private=True)


def _leave(r, inv, cmd, group, actor, locale) -> None:
    target = group   # resolved by the runner: named in:GROUP (and the actor's), or where it was typed
    if target is None:
        mine = [g for g in r.s.scalars(select(Group).where(Group.platform == inv.platform, Group.active.is_(True))
                                      .order_by(Group.id)) if open_membership(r.s, actor.person_id, g.id)]
        if len(mine) != 1:
            r.reply(inv, None, t(locale, "membership.which_group", command=cmd.word,
                                 groups=", ".join(f"in:{g.chat_id} ({g.name})" for g in mine) or "-"), private=True)
            return
        target = mine[0]
    if leave_voluntarily(r.ctx, r.s, target, actor, cmd.rest):
        r.reply(inv, None, t(target.locale, "membership.leave.done", group=target.name, clause="R7.1.1"),
                private=True)
    else:
        r.reply(inv, None, t(target.locale, "membership.leave.not_member", group=target.name), private=True)


def _ack(r, inv, cmd, group, actor, locale) -> None:
    done = acknowledge(r.ctx, r.s, actor.person, group.id if group else None)
    if done:
        r.reply(inv, group, t(locale, "membership.ack.done", groups=", ".join(g.name for g in done),
                              clause="R3.3.2"), private=True)
    else:
        r.reply(inv, group, t(locale, "membership.ack.nothing"), private=True)


def _acks(r, inv, cmd, group, actor, locale) -> None:
    missing = unacknowledged(r.s, group)
    if not missing:
        r.reply(inv, group, t(locale, "membership.acks.none", group=group.name), private=True)
        return
    lines = "\n".join(f"- {p.name}" for p, _ in missing)
    r.reply(inv, group, t(locale, "membership.acks.list", group=group.name, count=len(missing), people=lines,
                          clause="R3.3.2"), private=True)


COMMANDS = (
    CommandSpec("join", ("apply", "申请加入", "申請加入"), _join,
                usage="join [in:GROUP] [name: …] [department: …] [position: …] · 申请加入 [in:群] 姓名: … 部门: … 职位: …",
                needs_group=False, scope=OPEN, any_group=True),
    CommandSpec("recommend", ("推荐", "推薦"), _recommend, usage="recommend @a @b [reason] · 推荐 @成员 [理由]",
                needs_member=True, roles=RECOMMENDERS, scope=STAFF),
    CommandSpec("link", ("关联", "關聯"), _link,
                usage="link @member platform:user_id | employee id | e-mail · 关联 @成员 平台:账号",
                needs_member=True, needs_text=True, needs_group=False, scope=OPEN, listed_for=LINKERS),
    CommandSpec("leave", ("退群", "退出培训群", "退出培訓群"), _leave,
                usage="leave [in:GROUP] reason · 退群 [in:群] 理由", needs_text=True,
                needs_group=False),
    CommandSpec("ack", ("保密确认", "保密確認"), _ack, usage="ack [in:GROUP] · 保密确认", needs_group=False),
    CommandSpec("acks", ("未确认", "未確認"), _acks, usage="acks [in:GROUP] · 未确认 [in:群]",
                roles=ACK_READERS, scope=STAFF),
)


def _request(r, inv, value: str, kind: str):
    if not value.isdigit():
        return None
    request = r.s.get(MembershipRequest, int(value))
    return request if request is not None and request.kind == kind else None


def _no_such_request(r, inv, command: str) -> None:
    """A click on a request that does not exist is answered like one the clicker may not decide (audited):
    a forged card learns nothing (permission before existence)."""
    clicker = account_for(r.s, inv.platform, inv.user_id, r.now)
    audit.record(r.s, at=r.now, actor=f"person:{clicker.person_id}", action="command.refused", clause="R7.1.1",
                 person_id=clicker.person_id, command=command, reason="item")
    r.reply(inv, None, t(r.ctx.config.locale, "membership.decide.refused", clause="R7.1.1"), private=True)


def _decide_application(approve: bool):
    def handler(r, inv, value: str) -> None:
        request = _request(r, inv, value, "application")
        if request is None:
            return _no_such_request(r, inv, "membership.approve" if approve else "membership.reject")
        decider = account_for(r.s, inv.platform, inv.user_id, r.now)
        key, values = Applications(r.ctx, r.s).decide(request, approve, decider)
        r.reply(inv, None, t(r.s.get(Group, request.group_id).locale, key, **values), private=True)
    return handler


def _decide_move(keep: bool):
    def handler(r, inv, value: str) -> None:
        request = _request(r, inv, value, "move")
        if request is None:
            return _no_such_request(r, inv, "membership.keep" if keep else "membership.remove")
        decider = account_for(r.s, inv.platform, inv.user_id, r.now)
        key, values = decide_move(r.ctx, r.s, request, keep, decider)
        r.reply(inv, None, t(r.s.get(Group, request.group_id).locale, key, **values), private=True)
    return handler


def _ack_card(r, inv, value: str) -> None:
    if not value.isdigit():
        return
    actor = account_for(r.s, inv.platform, inv.user_id, r.now)
    group = r.s.get(Group, int(value[:9]))
    if group is None or open_membership(r.s, actor.person_id, group.id) is None:
        # a forged click for a group the clicker is not in: the same answer as for no group, audited
        audit.record(r.s, at=r.now, actor=f"person:{actor.person_id}", action="command.refused", clause="R3.3.2",
                     person_id=actor.person_id, command="membership.ack", reason="not_in_group")
        r.reply(inv, None, t(r.ctx.config.locale, "membership.ack.nothing"), private=True)
        return
    done = acknowledge(r.ctx, r.s, actor.person, group.id)
    r.reply(inv, None, t(group.locale, "membership.ack.done" if done else "membership.ack.nothing",
                         groups=group.name, clause="R3.3.2"), private=True)


def _decide_held(admit_: bool):
    def handler(r, inv, value: str) -> None:
        stay = r.s.get(Membership, int(value)) if value.isdigit() else None
        if stay is None:
            return
        decider = account_for(r.s, inv.platform, inv.user_id, r.now)
        key, values = decide_held(r.ctx, r.s, stay, admit_, decider)
        r.reply(inv, None, t(r.s.get(Group, stay.group_id).locale, key, **values), private=True)
    return handler


def on_member_left(ctx, s, e: MemberLeft) -> None:
    """R1.3.4: the kernel closed the stay; a lead or the last admin leaving flags the group."""
    group = group_for(s, e.platform, e.chat_id)
    account = find_account(s, e.platform, e.user_id)
    if group is not None and account is not None:
        check_responsible(ctx, s, group, account.person, "left")


def _summary(decide):
    def handler(r, inv, value: str) -> None:
        decider = account_for(r.s, inv.platform, inv.user_id, r.now)
        key, values = decide(r.ctx, r.s, value[:40], decider)
        head = value.partition(":")[0]
        group = r.s.get(Group, int(head)) if head.isdigit() and len(head) <= 9 else None
        r.reply(inv, None, t(group.locale if group and "group" in values else r.ctx.config.locale, key, **values),
                private=True)
    return handler


CARD_ACTIONS = {
    "membership.admit_all_held": _summary(admit_all_held),
    "membership.review_held": _summary(review_held),
    "membership.admit_held": _decide_held(True),
    "membership.remove_held": _decide_held(False),
    "membership.approve": _decide_application(True),
    "membership.reject": _decide_application(False),
    "membership.keep": _decide_move(True),
    "membership.remove": _decide_move(False),
    "membership.ack": _ack_card,
}

