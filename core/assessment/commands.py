"""Commands and card actions of the assessment feature (R5, R6); declared in
core/assessment/feature.py. The use cases live in assignments.py, submissions.py, reviews.py,
schemes.py, quizzes.py, grades.py and standing.py; these handlers parse, check who asks, and answer."""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from core.assessment.assignments import Assignments, number, parse_brief, split_fields
from core.assessment.cohort import parse_when, zone
from core.assessment.grades import Gradebook, set_consent
from core.assessment.models import Assignment
from core.assessment.quizzes import Quizzes, parse_answer
from core.assessment.reviews import Reviews, may_review
from core.assessment.schemes import Schemes, describe, parse_chat, scheme_of
from core.assessment.standing import standing_text
from core.assessment.submissions import Submissions
from core.db.models import Account, Training
from core.i18n import t
from core.kernel.directory import account_for, find_account
from core.kernel.refusals import Refusal
from core.kernel.roster import is_staff, locale_of, trainee
from core.kernel.spec import ITEM, OPEN, STAFF, CommandSpec
from core.roles import GRADES_READERS
from core.roles import STAFF as STAFF_ROLES
from core.roles import TEACHING as LEADS
from core.roles import TEACHING as LEAD_ROLES

_ATTEMPTS = re.compile(r"(?:^|\s)attempts\s*=\s*(\d{1,2})(?=\s|$)", re.IGNORECASE)


def _deny(r, inv, cmd, group, actor, locale, clause="R7.1.2") -> None:
    r.refuse(inv, cmd, group, actor, locale, clause)


def _permitted(r, inv, cmd, group, actor, locale, roles, clause) -> tuple[Assignment | None, str]:
    """The numbered assignment, once the actor may see it — permission before existence (as
    `CommandRunner.item_allowed`): holding none of `roles` anywhere gets "you may not use this command";
    anyone who is neither a trainee nor staff of its training hears it is unknown, exactly as for a number
    that does not exist. Every refusal is audited; the handler then checks what this actor may do with it."""
    head, _, tail = cmd.rest.strip().partition(" ")
    n = number(head)
    a = r.s.get(Assignment, n) if n is not None else None
    if roles is not None and not r.holds_anywhere(actor, roles):
        r.refuse(inv, cmd, group, actor, locale, clause, reason="role")
        return None, ""
    if a is not None and (is_staff(r.s, actor.person_id, a.training_id, STAFF_ROLES)
                          or trainee(r.s, a.training_id, actor.person_id) is not None):
        return a, tail.strip()
    r.refuse(inv, cmd, group, actor, locale, clause, reason="item", key="assess.unknown_assignment", n=head or "?")
    return None, ""


def _training_of(group) -> int:
    if group is None or group.training_id is None:
        raise Refusal("assess.no_training")
    return group.training_id


def _member(r, inv, cmd) -> Account:
    account = find_account(r.s, inv.platform, cmd.members[0])
    if account is None:
        raise Refusal("command.unknown_member", member=cmd.members[0])
    return account


def _reviewers(r, inv, cmd, text: str) -> list[Account]:
    """Mentioned reviewers, or (in a 1:1 chat without markup) bare ids after `reviewers:`."""
    ids = list(cmd.members) + [x.lstrip("@") for x in split_fields(text).get("reviewers", "").split()]
    out = []
    for user_id in dict.fromkeys(ids):
        account = find_account(r.s, inv.platform, user_id)
        if account is None:
            raise Refusal("command.unknown_member", member=user_id)
        out.append(account)
    return out


def _unpublished(s: Session, training_id: int, locale: str) -> str:
    """R6.2.2: the scheme is published when the training starts; graded work set before it is, reminds the lead."""
    scheme = scheme_of(s, training_id)
    return "" if scheme is not None and scheme.status == "published" else "\n" + t(locale, "scheme.unpublished")


# --- assignments ------------------------------------------------------------------------------

def _assign(r, inv, cmd, group, actor, locale) -> None:
    training_id = _training_of(group)
    brief = parse_brief(r.ctx, r.s, training_id, cmd.rest, r.now)
    reviewers = _reviewers(r, inv, cmd, cmd.rest)
    a = Assignments(r.ctx, r.s).create(training_id, brief, reviewers, by=actor.person_id)
    r.reply(inv, group, t(locale, "assign.created", n=a.id, title=a.title) + _unpublished(r.s, training_id, locale),
            private=True)


def _extend(r, inv, cmd, group, actor, locale) -> None:
    a, rest = _permitted(r, inv, cmd, group, actor, locale, LEADS, "R5.2.1")
    if a is None:
        return
    if not is_staff(r.s, actor.person_id, a.training_id, LEADS):
        return _deny(r, inv, cmd, group, actor, locale, "R5.2.1")
    member = _member(r, inv, cmd)
    due = parse_when(rest, zone(r.s, a.training_id))
    if due is None:
        raise Refusal("assign.bad_due", value=rest or "?")
    Assignments(r.ctx, r.s).extend(a, member.person_id, due, by=actor.person_id)
    r.reply(inv, group, t(locale, "extend.done", n=a.id, member=member.person.name, due=rest), private=True)


# --- submissions ------------------------------------------------------------------------------

def _submit(r, inv, cmd, group, actor, locale) -> None:
    a, content = _permitted(r, inv, cmd, group, actor, locale, None, "R5.2.1")
    if a is None:
        return
    if trainee(r.s, a.training_id, actor.person_id) is None:     # staff of the training: no trainee
        return r.refuse(inv, cmd, group, actor, locale, "R5.2.1", reason="role", key="assess.not_in_training",
                        member=actor.person.name)
    subs = Submissions(r.ctx, r.s)
    received = subs.submit(a, actor, content)
    r.reply(inv, None if inv.is_direct else group, subs.receipt(received, a), private=True)


def _reopen(r, inv, cmd, group, actor, locale) -> None:
    a, reason = _permitted(r, inv, cmd, group, actor, locale, None, "R5.3.1")
    if a is None:
        return
    if not may_review(r.s, a, actor.person_id):
        return _deny(r, inv, cmd, group, actor, locale, "R5.3.1")
    member = _member(r, inv, cmd)
    if not reason:
        raise Refusal("grade.no_feedback", n=a.id)
    Submissions(r.ctx, r.s).reopen(a, member.person_id, reason, by=actor.person_id)
    r.reply(inv, group, t(locale, "reopen.done", n=a.id, member=member.person.name), private=True)


def _my(r, inv, cmd, group, actor, locale) -> None:
    r.reply(inv, group, standing_text(r.ctx, r.s, actor, locale), private=True)


# --- review ------------------------------------------------------------------------------------

def _reviews(r, inv, cmd, group, actor, locale) -> None:
    r.reply(inv, group, Reviews(r.ctx, r.s).queue(actor.person_id, locale), private=True)


def _grade(r, inv, cmd, group, actor, locale) -> None:
    a, marks = _permitted(r, inv, cmd, group, actor, locale, None, "R5.3.1")
    if a is None:
        return
    if not may_review(r.s, a, actor.person_id):
        return r.refuse(inv, cmd, group, actor, locale, "R5.2.1", key="grade.not_reviewer", n=a.id)
    member = _member(r, inv, cmd)
    sub = Reviews(r.ctx, r.s).grade(a, member.person_id, marks, by=actor.person_id)
    r.reply(inv, group, t(locale, "grade.done", n=a.id, member=member.person.name, score=f"{sub.score:g}"),
            private=True)


def _progress(r, inv, cmd, group, actor, locale) -> None:
    a, _ = _permitted(r, inv, cmd, group, actor, locale, STAFF_ROLES, "R5.3.1")
    if a is None:
        return
    if not is_staff(r.s, actor.person_id, a.training_id, STAFF_ROLES):
        return _deny(r, inv, cmd, group, actor, locale, "R5.3.1")
    r.reply(inv, group, Reviews(r.ctx, r.s).progress(a, locale), private=True)


# --- the scheme ----------------------------------------------------------------------------------

def _scheme(r, inv, cmd, group, actor, locale) -> None:
    training = r.s.get(Training, _training_of(group))
    verb, _, rest = cmd.rest.strip().partition(" ")
    verb = verb.casefold()
    if verb in ("", "show", "查看"):
        scheme = scheme_of(r.s, training.id)
        if scheme is None:
            raise Refusal("scheme.none", training=training.code)
        r.reply(inv, group, describe(scheme, training, locale), private=True)
        return
    if verb not in ("set", "设置", "設定", "publish", "发布", "發布"):
        raise Refusal("scheme.usage")
    if not r.allowed(inv, cmd, group, actor, locale, LEAD_ROLES, clause="R6.2.2"):
        return
    schemes = Schemes(r.ctx, r.s)
    if verb in ("publish", "发布", "發布"):
        scheme = schemes.publish(training, by=f"person:{actor.person_id}")
        r.reply(inv, group, t(locale, "scheme.published", training=training.name, version=scheme.version),
                private=True)
        return
    data, reason = parse_chat(rest, locale)
    scheme = schemes.set(training, data, by=f"person:{actor.person_id}", reason=reason)
    r.reply(inv, group, t(locale, "scheme.saved", version=scheme.version) + "\n" + describe(scheme, training, locale),
            private=True)


# --- quizzes -------------------------------------------------------------------------------------

def _quiz(r, inv, cmd, group, actor, locale) -> None:
    quiz = Quizzes(r.ctx, r.s).create(_training_of(group), cmd.rest, by=actor.person_id)
    r.reply(inv, group, t(locale, "quiz.created", n=quiz.id, title=quiz.title,
                          questions=len(quiz.questions["items"])) + _unpublished(r.s, quiz.training_id, locale),
            private=True)


def _answer_reply(r, inv, account, quiz_id, question, token, locale) -> None:
    text, _ = Quizzes(r.ctx, r.s).answer(account, quiz_id, question, token)   # a Refusal: the runner answers
    r.reply(inv, None, text, private=True)


def _answer(r, inv, cmd, group, actor, locale) -> None:
    parsed = parse_answer(cmd.rest)
    if parsed is None:
        r.reply(inv, group, t(locale, "command.missing", command=cmd.word, usage=_ANSWER_USAGE), private=True)
        return
    _answer_reply(r, inv, actor, *parsed, locale)


def _answer_card(r, inv, value: str) -> None:
    """A click on a quiz card: the value is QUIZ.QUESTION.OPTION. Anyone can forge a click, so the use
    case checks the clicker is a member of a group of the quiz's training (R6.1.2)."""
    parts = value.split(".")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 9 for p in parts):
        return
    account = account_for(r.s, inv.platform, inv.user_id, r.now, inv.display_name)
    _answer_reply(r, inv, account, int(parts[0]), int(parts[1]), parts[2],
                  locale_of(r.s, account.person_id, r.ctx.config.locale))


# --- grades --------------------------------------------------------------------------------------

def _score(r, inv, cmd, group, actor, locale) -> None:
    training = r.s.get(Training, _training_of(group))
    if not is_staff(r.s, actor.person_id, training.id, STAFF_ROLES - {"hr"}):
        return _deny(r, inv, cmd, group, actor, locale, "R6.1.2")
    member = _member(r, inv, cmd)
    parts = cmd.rest.split(" ", 2)
    if len(parts) < 2 or not re.fullmatch(r"\d{1,3}(?:\.\d{1,2})?", parts[1]):
        raise Refusal("command.missing", command=cmd.word, usage=_SCORE_USAGE)
    component, score, note = parts[0], float(parts[1]), parts[2] if len(parts) > 2 else ""
    book = Gradebook(r.ctx, r.s, training)
    if component.casefold() in ("makeup", "补考", "補考"):
        if not 0 <= score <= 100:
            raise Refusal("grade.out_of_range", score=f"{score:g}", max=100, what=component)
        rem = book.record_makeup(member.person_id, score, by=actor.person_id)
        r.reply(inv, group, t(locale, "score.makeup_done", member=member.person.name, score=f"{score:g}",
                              status=t(locale, f"remediation.status.{rem.status}")), private=True)
        return
    book.enter(member.person_id, component, score, note, by=actor.person_id)
    r.reply(inv, group, t(locale, "score.done", member=member.person.name, component=component,
                          score=f"{score:g}"), private=True)


def _grades(r, inv, cmd, group, actor, locale) -> None:
    training = r.s.get(Training, _training_of(group))
    r.reply(inv, group, Gradebook(r.ctx, r.s, training).ranking_text(locale), private=True)


def _honours(r, inv, cmd, group, actor, locale) -> None:
    training = r.s.get(Training, _training_of(group))
    honoured, named = Gradebook(r.ctx, r.s, training).announce_honours(by=actor.person_id)
    r.reply(inv, group, t(locale, "honours.done", honoured=honoured, named=named), private=True)


def _consent(r, inv, cmd, group, actor, locale) -> None:
    word = cmd.rest.strip().casefold()
    if word not in ("yes", "no", "on", "off", "同意", "不同意", "是", "否"):
        raise Refusal("consent.usage")
    consent = word in ("yes", "on", "同意", "是")
    set_consent(r.s, actor.person_id, consent, r.now)
    r.reply(inv, group, t(locale, "consent.yes" if consent else "consent.no"), private=True)


def _remediate(kind: str):
    def handler(r, inv, cmd, group, actor, locale) -> None:
        training = r.s.get(Training, _training_of(group))
        text, attempts = cmd.rest, None
        m = _ATTEMPTS.search(text)
        if m:
            attempts, text = int(m.group(1)), (text[:m.start()] + text[m.end():]).strip()
            if not 1 <= attempts <= 10:
                raise Refusal("remediation.bad_attempts", value=attempts)
        due = None
        if text.strip():
            due = parse_when(text, zone(r.s, training.id))
            if due is None:
                raise Refusal("assign.bad_due", value=text.strip())
        count = Gradebook(r.ctx, r.s, training).remediate(kind, due, attempts, by=actor.person_id)
        r.reply(inv, group, t(locale, "remediation.done", count=count,
                              kind=t(locale, f"remediation.kind.{kind}")), private=True)
    return handler


_ANSWER_USAGE = "choose QUIZ.QUESTION OPTION · 答题 测验号.题号 选项"
_SCORE_USAGE = "score @member COMPONENT SCORE [note] · 录入成绩 @成员 考核项 分数 [备注]"

COMMANDS = (
    CommandSpec("assign", ("布置作业", "佈置作業", "布置作業"), _assign,
                usage="assign title: … due: YYYY-MM-DD HH:MM [cutoff: …] [method: text|link|file pdf 10MB] "
                      "[reviewers: @…] [rubric: Part* 40, Part 60] [requirements: …] · 布置作业 标题: … 截止: …",
                needs_text=True, roles=LEAD_ROLES, clause="R5.1.1", scope=STAFF),
    CommandSpec("extend", ("延期",), _extend, usage="extend @member N YYYY-MM-DD HH:MM · 延期 @成员 作业号 日期",
                needs_member=True, needs_text=True, needs_group=False, scope=ITEM, listed_for=STAFF_ROLES),
    CommandSpec("submit", ("提交作业", "提交作業", "交作业", "交作業"), _submit,
                usage="submit N text|link (file: send the file first, then submit N) · 提交作业 作业号 内容",
                needs_text=True, needs_group=False, scope=ITEM),
    CommandSpec("reopen", ("退回重交",), _reopen, usage="reopen @member N reason · 退回重交 @成员 作业号 理由",
                needs_member=True, needs_text=True, needs_group=False, scope=ITEM, listed_for=STAFF_ROLES),
    CommandSpec("my", ("我的",), _my, needs_group=False, scope=OPEN),
    CommandSpec("reviews", ("待批改",), _reviews, needs_group=False, scope=OPEN, listed_for=STAFF_ROLES),
    CommandSpec("grade", ("评分", "評分"), _grade,
                usage="grade @member N SCORE [criterion=points …] feedback · 评分 @成员 作业号 分数 [标准=分 …] 评语",
                needs_member=True, needs_text=True, needs_group=False, scope=ITEM, listed_for=STAFF_ROLES),
    CommandSpec("progress", ("进度", "進度"), _progress, usage="progress N · 进度 作业号", needs_text=True,
                needs_group=False, scope=ITEM, listed_for=STAFF_ROLES),
    CommandSpec("scheme", ("考核方案",), _scheme,
                usage="scheme show | scheme set exam=30 assignment=50 practical=20 pass=60 [top=3] "
                      "[threshold=90] [reason: …] | scheme publish · 考核方案 …",
                clause="R6.2.2"),
    CommandSpec("quiz", ("测验", "測驗"), _quiz,
                usage="quiz title: … [opens: …] [closes: …] [limit: MINUTES] Q: question | A | B* | C Q: … | true*",
                needs_text=True, roles=LEAD_ROLES, clause="R6.1.1", scope=STAFF),
    CommandSpec("choose", ("答题", "答題", "作答"), _answer, usage=_ANSWER_USAGE, needs_text=True,
                needs_group=False, scope=ITEM),
    CommandSpec("score", ("录入成绩", "錄入成績"), _score, usage=_SCORE_USAGE,
                needs_member=True, needs_text=True, scope=STAFF, clause="R6.1.2", listed_for=STAFF_ROLES),
    CommandSpec("grades", ("成绩", "成績"), _grades, roles=GRADES_READERS, clause="R6.3.1", scope=STAFF),
    CommandSpec("honours", ("honors", "表彰"), _honours, roles=LEAD_ROLES, clause="R6.3.2", scope=STAFF),
    CommandSpec("consent", ("公示",), _consent, usage="consent yes|no · 公示 同意|不同意", needs_text=True,
                needs_group=False, scope=OPEN),
    CommandSpec("makeup", ("补考", "補考"), _remediate("makeup"),
                usage="makeup [YYYY-MM-DD] [attempts=N] · 补考 [日期] [attempts=N]",
                roles=LEAD_ROLES, clause="R6.3.2", scope=STAFF),
    CommandSpec("tutoring", ("辅导", "輔導"), _remediate("tutoring"),
                usage="tutoring [YYYY-MM-DD] [attempts=N] · 辅导 [日期] [attempts=N]",
                roles=LEAD_ROLES, clause="R6.3.2", scope=STAFF),
)

CARD_ACTIONS = {"assessment.answer": _answer_card}
