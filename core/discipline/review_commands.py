"""The review queue's commands: `report` for members (R2.3.3), `queue` and `review` for admins (R7.2.2), and the
queue card's buttons, which run `review` as the person who pressed them (so the same permission applies)."""
from __future__ import annotations

import unicodedata

from sqlalchemy import select

from core.clauses import is_clause
from core.db.models import ArchivedMessage, Group, ReviewItem
from core.discipline.commands import CLAUSE
from core.discipline.review import Review, named_message
from core.i18n import t
from core.kernel import review
from core.kernel.directory import find_account
from core.kernel.refusals import Refusal
from core.kernel.runner import card_command
from core.kernel.spec import ITEM, STAFF, CommandSpec
from core.roles import ADMINS

# a Slack permalink: https://team.slack.com/archives/C0TRAIN01/p1700000000123456
# the decision words of `review N …`, in the three languages
DECISIONS = {"warn": "warn", "警告": "warn", "dismiss": "dismiss", "忽略": "dismiss", "驳回": "dismiss",
             "駁回": "dismiss", "不处理": "dismiss", "不處理": "dismiss", "release": "release", "放行": "release",
             "发布": "release", "發佈": "release"}


def _replied_to(r, inv, group: Group) -> ArchivedMessage | None:
    """The message the report replies to or quotes: the invoking message was archived in this transaction
    with its thread (Slack's thread_ts, a quote's message id where the platform carries one)."""
    if inv.is_direct or not inv.chat_id:
        return None
    own = r.s.scalar(select(ArchivedMessage).where(
        ArchivedMessage.platform == inv.platform, ArchivedMessage.chat_id == inv.chat_id,
        ArchivedMessage.user_id == inv.user_id).order_by(ArchivedMessage.id.desc()).limit(1))
    if own is None or not own.thread_id or own.thread_id == own.message_id or inv.text.strip() not in own.text:
        return None
    return named_message(r.s, group, own.thread_id)


def _last_of(r, group: Group, person_id: int) -> ArchivedMessage | None:
    """The member's latest message in the group that Steward saw."""
    return r.s.scalar(select(ArchivedMessage).where(
        ArchivedMessage.group_id == group.id, ArchivedMessage.person_id == person_id,
        ArchivedMessage.direct.is_(False), ArchivedMessage.from_bot.is_(False))
        .order_by(ArchivedMessage.sent_at.desc(), ArchivedMessage.id.desc()).limit(1))


def _report(r, inv, cmd, group, actor, locale) -> None:
    """report — replying to / quoting a message; report MESSAGE_ID|PERMALINK [reason]; report @member [reason]
    (their latest message Steward saw; where it saw none, what they wrote in the reporter's words)."""
    rest = cmd.rest
    head, _, tail = rest.partition(" ")
    message, target = None, None
    if head and not cmd.members:
        message = named_message(r.s, group, head.strip("<>"))
        if message is not None:
            rest = tail.strip()
    if message is None and cmd.members:
        # someone Steward has not seen yet is looked up in the platform's directory first (WeCom and DingTalk
        # show the bot only @-mentions), then the command runs again; one the directory does not know is told
        target = r.member(inv, group, cmd.members[0], locale)
        if target is None:
            return
        message = _last_of(r, group, target.person_id)
    elif message is None and head and inv.is_direct:
        target = find_account(r.s, inv.platform, head.lstrip("@"))   # a 1:1 chat: `report zhangsan reason`
        if target is not None:
            rest = tail.strip()
            message = _last_of(r, group, target.person_id)
    if message is None and target is None:
        message = _replied_to(r, inv, group)
    if message is None and target is None:
        # refused (so on record), with the ways that work where the bot sees only what is addressed to it
        raise Refusal("review.report.how" if r.ctx.caps(inv.platform).sees_all_messages else "review.report.how_named")
    clause = next((w.upper() for w in rest.split() if CLAUSE.match(w) and is_clause(w.upper())), "")
    key, values = Review(r.ctx, r.s).report(group, actor, message, target, rest, clause)
    r.reply(inv, group, t(locale, key, **values), private=True)


def _queue(r, inv, cmd, group, actor, locale) -> None:
    """The group's open items, privately, to its admins (in a 1:1 chat: the one group they look after, or
    `in:GROUP`)."""
    items, total = review.open_items(r.s, [group.id])
    if not items:
        r.reply(inv, group, t(locale, "review.queue.empty"), private=True)
        return
    lines = [t(locale, "review.queue.line", number=review.number(i), kind=t(locale, f"review.kind.{i.kind}"),
               group=group.name, text=_one_line(i.text), clause=i.clause or "R8.2.1", count=i.reporters)
             for i in items]
    if total > len(items):      # the oldest first; the rest after these are decided
        lines.append(t(locale, "review.queue.more", more=total - len(items)))
    r.reply(inv, group, t(locale, "review.queue.header", count=total) + "\n" + "\n".join(lines), private=True)


def _one_line(text: str) -> str:
    from core.moderation.redact import redact
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= 80 else flat[:79] + "…"


def _review(r, inv, cmd, group, actor, locale) -> None:
    """review RV12 warn|dismiss|release [note]: an admin of the item's group decides it."""
    number = review.parse_number(cmd.rest)
    item = r.s.get(ReviewItem, number) if number is not None else None
    shown = (cmd.rest.split(maxsplit=1) or [""])[0][:20]
    if not r.item_allowed(inv, cmd, group, actor, locale, ADMINS, item.group_id if item else None, item is not None,
                          "review.unknown", clause=review.CLAUSE, number=shown):
        return
    words = cmd.rest.split(maxsplit=2)       # any space: the ideographic one of a Chinese input method too
    decision = DECISIONS.get(unicodedata.normalize("NFKC", words[1]).casefold()) if len(words) > 1 else None
    if decision is None:
        r.reply(inv, group, t(locale, "command.missing", command=cmd.word, usage=REVIEW_USAGE), private=True)
        return
    note = words[2] if len(words) > 2 else ""
    r.reply(inv, group, Review(r.ctx, r.s).decide(item, decision, actor, note, locale), private=True)


REVIEW_USAGE = "review RVN warn|dismiss|release [note] · 审核 RV编号 警告|忽略|放行 [说明]"

COMMANDS = (
    CommandSpec("report", ("举报", "舉報", "检举", "檢舉"), _report,
                usage="report (replying to a message) | report MESSAGE_ID|LINK [reason] | report @member [reason]"
                      " · 举报（回复该消息）| 举报 @成员 [理由]", clause="R2.3.3"),
    CommandSpec("queue", ("待审", "待審", "审核队列", "審核佇列"), _queue, usage="queue [in:GROUP] · 待审",
                roles=ADMINS, scope=STAFF, clause=review.CLAUSE),
    CommandSpec("review", ("审核", "審核"), _review, usage=REVIEW_USAGE, needs_text=True,
                needs_group=False, scope=ITEM, listed_for=ADMINS, clause=review.CLAUSE),
)


CARD_ACTIONS = {"review.warn": card_command("review {value} warn"), "review.dismiss": card_command("review {value} dismiss"),
                "review.release": card_command("review {value} release")}
