"""Commands and card actions of the training feature (declared in core/training/feature.py).

The use cases live in announcements.py, questions.py, materials.py, feedback.py and archive_search.py.
Members' commands also work in a 1:1 chat (how WeCom members talk to the app): the runner finds the group
(the one named with in:GROUP, or their one governed group on that platform) and checks that they belong to
it before a handler runs; commands about a numbered item check the item's group first (`item_allowed`).
"""
from __future__ import annotations

import re

from core.db.models import Group
from core.i18n import t
from core.kernel.refusals import Refusal
from core.kernel.roster import name_of, training_groups
from core.kernel.runner import card_command
from core.kernel.spec import ITEM, STAFF, CommandSpec
from core.roles import ADMINS, PUBLISHERS
from core.roles import PUBLISHERS as REVIEWERS  # R3.1.3, R7.2.2: the lead reviews shared material
from core.roles import TEACHING as ANSWERERS  # R4.3.1: instructors answer
from core.training import archive_search, feedback
from core.training.announcement_format import local_text, parse_fields
from core.training.announcements import Announcements
from core.training.materials import Materials, shown
from core.training.models import Announcement, Feedback, Material, Question
from core.training.questions import Questions

NUMBER = re.compile(r"^[#QqMm]?(\d{1,9})$")
SESSION_WORDS = ("session", "课程", "課程")
CHANGE_FIELDS = {"time": "time", "时间": "time", "時間": "time", "content": "content", "内容": "content",
                 "內容": "content", "points": "content", "要点": "content", "要點": "content"}


def _number(text: str) -> tuple[int | None, str]:
    head, _, tail = text.strip().partition(" ")
    m = NUMBER.match(head)
    return (int(m.group(1)), tail.strip()) if m else (None, text)


def _usage(name: str) -> str:
    return next(spec.usage for spec in COMMANDS if spec.name == name)


# --- announcements and change notices (R3.1.1, R3.1.2, R3.2.1) ------------------------------------------

def _announce(r, inv, cmd, group, actor, locale) -> None:
    if not r.allowed(inv, cmd, group, actor, locale, PUBLISHERS, clause="R3.1.1"):
        return
    text, session = cmd.rest, False
    head = text.split(maxsplit=1)[0].casefold() if text.strip() else ""
    if head in SESSION_WORDS:
        text, session = text.strip()[len(head):], True
    asked = _session_questions(r, group, parse_fields(text).get("questions"), locale)
    a = Announcements(r.ctx, r.s).announce(group, actor, text, session, locale)
    answer = t(locale, "training.answer.session", number=a.id, topic=a.topic,
               time=local_text(a.starts_at, group.timezone))
    for q in asked:
        if q.status == "open":    # an earlier one of the list may have answered its whole cluster
            Questions(r.ctx, r.s).answer(q, actor, answer, post=False, locale=locale)
    if a.status == "published":
        count = len(training_groups(r.s, group))
        r.reply(inv, group, t(locale, "training.announce.done", number=a.id, count=count), private=True)
    else:
        r.reply(inv, group, t(locale, "training.announce.scheduled", number=a.id,
                              time=local_text(a.publish_at, group.timezone)), private=True)


def _session_questions(r, group, listed: str, locale) -> list[Question]:
    """R4.3.2: `questions: Q3 Q7` names open questions of this training that the session answers."""
    if not listed:
        return []
    groups = {g.id for g in training_groups(r.s, group)}
    found = []
    for token in re.split(r"[\s,，、]+", listed.strip()):
        number, _ = _number(token)
        q = r.s.get(Question, number) if number is not None else None
        if q is None or q.group_id not in groups or q.status != "open":
            raise Refusal("training.session.bad_question", number=token[:20])
        found.append(q)
    return found


def _announcement(r, inv, cmd, group, actor, locale, roles, clause) -> tuple[Announcement | None, str]:
    """The numbered announcement, once the actor may act on it (permission before existence)."""
    number, rest = _number(cmd.rest)
    a = r.s.get(Announcement, number) if number is not None else None
    if not r.item_allowed(inv, cmd, group, actor, locale, roles, a.group_id if a else None, a is not None,
                          "training.announcement.unknown", clause=clause, number=cmd.rest.split(" ")[0][:20]):
        return None, rest
    return a, rest


def _seen(r, inv, cmd, group, actor, locale) -> None:
    a, _ = _announcement(r, inv, cmd, group, actor, locale, None, "R3.2.1")
    if a is None:
        return
    first = Announcements(r.ctx, r.s).acknowledge(a, actor)
    r.reply(inv, group, t(locale, "training.seen.done" if first else "training.seen.again", number=a.id),
            private=True)


def _change(r, inv, cmd, group, actor, locale) -> None:
    a, rest = _announcement(r, inv, cmd, group, actor, locale, PUBLISHERS, "R3.2.1")
    if a is None:
        return
    word, _, value = rest.partition(" ")
    what = CHANGE_FIELDS.get(word.casefold())
    if what is None or not value.strip():
        raise Refusal("training.change.usage", number=a.id)
    notice = Announcements(r.ctx, r.s).change(a, r.s.get(Group, a.group_id), actor, what, value.strip(), locale)
    r.reply(inv, group, t(locale, "training.change.done", number=notice.id, original=notice.original_id),
            private=True)


def _unseen(r, inv, cmd, group, actor, locale) -> None:
    a, _ = _announcement(r, inv, cmd, group, actor, locale, PUBLISHERS, "R3.2.1")
    if a is None:
        return
    missing = Announcements(r.ctx, r.s).unseen(a)
    if not missing:
        r.reply(inv, group, t(locale, "training.unseen.none", number=a.id), private=True)
        return
    names = ", ".join(f"{name_of(p, acc.platform)} ({acc.platform})" for p, acc, _ in missing)
    r.reply(inv, group, t(locale, "training.unseen.list", number=a.id, count=len(missing), names=names),
            private=True)


def _schedule(r, inv, cmd, group, actor, locale) -> None:
    items = Announcements(r.ctx, r.s).upcoming(group)
    lines = "\n".join(f"#{a.id} {local_text(a.starts_at, group.timezone)} · {a.topic}"
                      + (f" · {a.place}" if a.place else "") for a in items)
    r.reply(inv, group, t(locale, "training.schedule.list", items=lines) if items
            else t(locale, "training.schedule.empty"), private=True)


def _notices(r, inv, cmd, group, actor, locale) -> None:
    announcements = Announcements(r.ctx, r.s)
    items = announcements.recent(group)
    if not items:
        r.reply(inv, group, t(locale, "training.notices.empty"), private=True)
        return
    text = "\n\n".join("\n".join(announcements.render(a, group)) for a in items)
    r.reply(inv, group, t(locale, "training.notices.list", items=text), private=True)


# --- questions (R4.3.1, R4.3.2) ---------------------------------------------------------------------------

def _ask(r, inv, cmd, group, actor, locale) -> None:
    q = Questions(r.ctx, r.s).track(group, actor, cmd.rest, "ask")
    r.reply(inv, group, t(locale, "training.ask.done", number=q.id,
                          deadline=local_text(q.deadline_at, group.timezone)), private=True)


def _answer(r, inv, cmd, group, actor, locale) -> None:
    number, text = _number(cmd.rest)
    q = r.s.get(Question, number) if number is not None else None
    if not r.item_allowed(inv, cmd, group, actor, locale, ANSWERERS, q.group_id if q else None, q is not None,
                          "training.question.unknown", clause="R4.3.1", number=cmd.rest.split(" ")[0][:20]):
        return
    if not text.strip():
        raise Refusal("command.missing", command=cmd.word, usage=_usage("answer"))
    answered = Questions(r.ctx, r.s).answer(q, actor, text.strip(), post=True, locale=locale)
    r.reply(inv, group, t(locale, "training.answer.done", number=q.id, count=len(answered)), private=True)


def _questions(r, inv, cmd, group, actor, locale) -> None:
    open_ = Questions(r.ctx, r.s).open_in(group)
    lines = "\n".join(f"Q{q.id} · {local_text(q.created_at, group.timezone)} · {q.text[:120]}" for q in open_)
    r.reply(inv, group, t(locale, "training.questions.list", count=len(open_), items=lines) if open_
            else t(locale, "training.questions.empty"), private=True)


# --- materials (R3.1.3, R7.2.2, R2.3.1) -------------------------------------------------------------------

def _share(r, inv, cmd, group, actor, locale) -> None:
    m = Materials(r.ctx, r.s).share(group, actor, cmd.rest, locale)
    r.reply(inv, group, t(locale, "training.share.done", number=m.id), private=True)


def _decide(approve: bool):
    def handler(r, inv, cmd, group, actor, locale) -> None:
        number, reason = _number(cmd.rest)
        m = r.s.get(Material, number) if number is not None else None
        if not r.item_allowed(inv, cmd, group, actor, locale, REVIEWERS, m.group_id if m else None, m is not None,
                              "training.material.unknown", clause="R7.2.2", number=cmd.rest.split(" ")[0][:20]):
            return
        Materials(r.ctx, r.s).decide(m, actor, approve, reason, locale)
        r.reply(inv, group, t(locale, "training.review.done", number=m.id,
                              status=t(locale, f"training.status.{m.status}")), private=True)
    return handler


def _materials(r, inv, cmd, group, actor, locale) -> None:
    found = Materials(r.ctx, r.s).library(group, cmd.rest)
    lines = "\n".join(f"M{m.id} · {m.title} · {shown(m)}" for m in found)
    r.reply(inv, group, t(locale, "training.materials.list", items=lines) if found
            else t(locale, "training.materials.empty"), private=True)


# --- feedback (R2.3.3) and the archive (R3.2.2) -------------------------------------------------------------

def _feedback(r, inv, cmd, group, actor, locale) -> None:
    anonymous, text = feedback.split_anonymous(cmd.rest)
    number, text = feedback.split_session(text)
    session = feedback.about(r.s, group, number) if number is not None else None
    if not text or (number is not None and session is None):
        if anonymous:
            feedback.drop_command(r.s, inv.platform, inv.user_id, inv.text)
        r.reply(inv, group, t(locale, "command.missing", command=cmd.word, usage=_usage("feedback")) if not text
                else t(locale, "training.announcement.unknown", number=f"#{number}"), private=True, forget=anonymous)
        return
    feedback.give(r.ctx, r.s, group, actor.person_id, text, anonymous, inv.platform, inv.user_id, inv.text, session)
    r.reply(inv, group, t(locale, "training.feedback.thanks"), private=True, forget=anonymous)


def _feedback_note(r, inv, cmd, group, actor, locale) -> None:
    head, _, note = cmd.rest.partition(" ")
    m = re.match(r"^[Ff]?(\d{1,9})$", head)
    fb = r.s.get(Feedback, int(m.group(1))) if m else None
    if not r.item_allowed(inv, cmd, group, actor, locale, ADMINS, fb.group_id if fb else None, fb is not None,
                          "training.feedback.unknown", clause="R7.3.1", number=head[:20]):
        return
    if not note.strip():
        r.reply(inv, group, t(locale, "command.missing", command=cmd.word, usage=_usage("feedback-note")),
                private=True)
        return
    feedback.add_note(r.s, fb, actor.person_id, note.strip(), r.now)
    r.reply(inv, group, t(locale, "training.feedback.noted", number=fb.id), private=True)


def _search(r, inv, cmd, group, actor, locale) -> None:
    ids = [g.id for g in training_groups(r.s, group)]
    found = [m for m in archive_search.search(r.s, ids, cmd.rest, limit=11) if m.text != inv.text]
    lines = "\n".join(f"{local_text(m.sent_at, group.timezone)} {m.user_id}: {m.text[:160]}" for m in found[:10])
    r.reply(inv, group, t(locale, "training.search.results", query=cmd.rest, count=len(found[:10]), items=lines)
            if found else t(locale, "training.search.none", query=cmd.rest), private=True)


COMMANDS = (
    CommandSpec("announce", ("公告", "发布公告", "發佈公告"), _announce,
                usage="announce [session] topic: … time: YYYY-MM-DD HH:MM [place: …] points: … [publish: …]"
                      " · 公告 [课程] 主题：… 时间：… [地点：…] 要点：…",
                scope=STAFF, clause="R3.1.1", listed_for=PUBLISHERS),
    CommandSpec("seen", ("收到", "已阅", "已閱"), _seen, usage="seen N · 收到 编号", needs_text=True,
                needs_group=False, scope=ITEM),
    CommandSpec("change", ("变更", "變更"), _change,
                usage="change N time YYYY-MM-DD HH:MM | change N content … · 变更 编号 时间|内容 …", needs_text=True,
                needs_group=False, scope=ITEM, listed_for=PUBLISHERS),
    CommandSpec("unseen", ("未读", "未讀"), _unseen, usage="unseen N · 未读 编号", needs_text=True,
                needs_group=False, scope=ITEM, listed_for=PUBLISHERS),
    CommandSpec("schedule", ("日程", "课表", "課表"), _schedule, usage="schedule · 日程"),
    CommandSpec("notices", ("公告栏", "公告欄"), _notices, usage="notices · 公告栏"),
    CommandSpec("ask", ("提问", "提問"), _ask, usage="ask question · 提问 问题", needs_text=True),
    CommandSpec("answer", ("回答", "解答"), _answer, usage="answer N text · 回答 编号 内容",
                needs_text=True, needs_group=False, scope=ITEM, listed_for=ANSWERERS),
    CommandSpec("questions", ("问题列表", "問題列表", "待答"), _questions, usage="questions · 待答"),
    CommandSpec("share", ("分享",), _share,
                usage="share https://… [title] | share [title] (the file you just sent Steward) · 分享 链接 [标题]"),
    CommandSpec("approve-material", ("采纳", "採納"), _decide(True),
                usage="approve-material N [note] · 采纳 编号 [说明]", needs_text=True,
                needs_group=False, scope=ITEM, listed_for=REVIEWERS),
    CommandSpec("reject-material", ("退回",), _decide(False),
                usage="reject-material N reason · 退回 编号 理由", needs_text=True,
                needs_group=False, scope=ITEM, listed_for=REVIEWERS),
    CommandSpec("materials", ("资料", "資料"), _materials, usage="materials [words] · 资料 [关键词]"),
    CommandSpec("feedback", ("反馈", "反饋", "意见", "意見"), _feedback,
                usage="feedback [anonymous] [#N] text · 反馈 [匿名] [#N] 内容", needs_text=True),
    CommandSpec("feedback-note", ("反馈备注", "反饋備註"), _feedback_note,
                usage="feedback-note F12 note · 反馈备注 F12 备注", needs_text=True,
                needs_group=False, scope=ITEM, listed_for=ADMINS),
    CommandSpec("search", ("搜索", "搜尋", "查找"), _search, usage="search words · 搜索 关键词", needs_text=True),
)


# Each card runs the matching command as the person who pressed it, so the command's role check applies.
CARD_ACTIONS = {"training.seen": card_command("seen {value}"),
                "training.material_approve": card_command("approve-material {value}"),
                "training.material_reject": card_command("reject-material {value}")}
