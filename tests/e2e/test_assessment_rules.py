"""The assessment rules one at a time, through the sandbox: reminders that follow extensions (R5.2.1),
review reminders (R5.3.1), a quiz's window and time limit (R6.1.1), honours without consent and a
make-up that runs out (R6.3.2), Chinese commands, forged and refused requests."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.assessment.models import Remediation, Submission
from core.config import parse_config
from core.db.models import AuditEntry
from core.kernel.directory import find_account
from core.kernel.roster import training_by_code
from tests.conftest import build_container
from tests.e2e.test_assessment_sandbox import ASSIGN, CONFIG, GOOD, Chat, count, in_group, to, when
from webhooks import create_app


@pytest.fixture
def chat(db_url, clock):
    container = build_container(db_url, clock, parse_config(CONFIG))
    app = create_app(container)
    app.testing = True
    yield Chat(app.test_client(), container, clock)
    container.engine.dispose()


def test_reminders_follow_each_members_own_due_date(chat, clock):
    chat.say("lily", ASSIGN.format(due=when(clock, days=2), cutoff=when(clock, days=5)))
    chat.dm("alice", GOOD)
    chat.say("lily", f"@steward extend @bob 1 {when(clock, days=3)}")
    out = chat.advance(days=1, hours=1)            # 23 h before the common due date
    assert sorted(e["to_user"] for e in out) == ["carol", "dave"]
    out = chat.advance(hours=22)                   # 2 h reminder, still not bob
    assert sorted(e["to_user"] for e in out) == ["carol", "dave"]
    out = chat.advance(hours=2)                    # bob: 23 h before his own date
    assert [e["to_user"] for e in out] == ["bob"] and "R5.2.1" in out[0]["text"]


def test_reviewers_are_reminded_before_the_review_deadline(chat, clock):
    chat.say("lily", ASSIGN.format(due=when(clock, days=1), cutoff=when(clock, days=2))
             + f" review: {when(clock, days=4)}")
    chat.dm("alice", GOOD)
    assert chat.advance(days=2, hours=1) == []
    out = chat.advance(days=1)
    assert [e["to_user"] for e in out if "Review reminder" in e["text"]] == ["rita"]
    assert "R5.3.1" in to(out, "rita")[0]["text"]


def test_a_quiz_window_and_time_limit(chat, clock):
    out = chat.say("lily", f"@steward quiz title: Rules opens: {when(clock, hours=2)} closes: {when(clock, hours=5)} "
                           "limit: 10 Q: One? | a* | b Q: Two? | c | d*")
    assert not [e for e in out if e["kind"] == "card"]
    out = chat.click("alice", "assessment.answer", "1.1.1")
    assert "opens at" in out[-1]["text"]
    out = chat.advance(hours=2)
    assert len([e for e in out if e["kind"] == "card"]) == 8 and in_group(out, "cohort-a")
    chat.click("alice", "assessment.answer", "1.1.1")
    chat.advance(minutes=11)
    out = chat.click("alice", "assessment.answer", "1.2.2")
    assert "time" in out[-1]["text"] and "R6.1.1" in out[-1]["text"]
    out = chat.click("bob", "assessment.answer", "1.9.1")
    assert "no such question" in out[-1]["text"]
    chat.click("bob", "assessment.answer", "not.a.value")   # a forged value is ignored
    chat.advance(hours=4)
    out = chat.click("bob", "assessment.answer", "1.1.1")
    assert "closed" in out[-1]["text"]


def test_honours_without_consent_stay_private(chat, clock):
    chat.say("lily", "@steward scheme set assignment=100 pass=60 threshold=80")
    chat.say("lily", ASSIGN.format(due=when(clock, days=1), cutoff=when(clock, days=2)))
    chat.dm("alice", GOOD)
    chat.dm("rita", "grade @alice 1 95 Excellent work.")
    out = chat.say("lily", "@steward honours")
    assert not in_group(out, "cohort-a") and "R6.3.2" in to(out, "alice")[0]["text"]
    assert "1 member(s) honoured; 0 named" in out[-1]["text"]


def test_a_make_up_runs_out_at_its_deadline(chat, clock):
    chat.say("lily", "@steward scheme set practical=100 pass=60")
    chat.say("rita", "@steward score @bob practical 40")
    out = chat.say("lily", f"@steward tutoring {when(clock, days=3)} attempts=1")
    assert "tutoring plan" in to(out, "bob")[0]["text"]
    out = chat.say("rita", "@steward score @bob makeup 101")
    assert "outside the range" in out[-1]["text"]
    out = chat.advance(days=3, hours=1)
    assert "deadline has passed" in to(out, "bob")[0]["text"]
    with chat.container.sessions() as s:
        assert s.scalar(select(Remediation.status).where(Remediation.kind == "tutoring")) == "failed"
    out = chat.say("rita", "@steward score @bob makeup 70")
    assert "no open make-up" in out[-1]["text"]


def test_chinese_commands(chat, clock):
    out = chat.say("lily", f"@steward 布置作业 标题：周报 截止：{when(clock, days=1)} 方式：链接 评分标准：内容 100")
    assert "周报" in in_group(out, "cohort-a")[0]["text"]
    out = chat.dm("bob", "提交作业 1 https://wiki.example.com/bob")
    assert "on time" in out[-1]["text"]
    out = chat.dm("rita", "评分 @bob 1 内容=88 很好，补充一个例子。")
    assert "88/100" in to(out, "bob")[0]["text"]
    out = chat.dm("bob", "我的")
    assert "很好" in out[-1]["text"]


def test_refusals_are_audited_and_write_nothing(chat, clock):
    chat.say("lily", ASSIGN.format(due=when(clock, days=1), cutoff=when(clock, days=2)))
    out = chat.dm("bob", "extend @alice 1 " + when(clock, days=3))
    assert "may not" in out[-1]["text"]
    out = chat.say("alice", "@steward progress 1")
    assert "may not" in out[-1]["text"]
    out = chat.dm("bob", "submit 9 something long enough")
    assert "No assignment 9" in out[-1]["text"]
    out = chat.dm("hannah", GOOD)
    assert "not a member" in out[-1]["text"]
    out = chat.dm("rita", "grade @alice 1 50 fine")
    assert "no submission" in out[-1]["text"]
    with chat.container.sessions() as s:
        refused = s.scalars(select(AuditEntry.clause).where(AuditEntry.action == "command.refused")).all()
    # every refusal is audited: the unknown number too (told apart from a hidden one nowhere), HR, and the
    # grade with no submission to grade (an input refusal, under the command's clause)
    assert sorted(refused) == ["R5.2.1", "R5.2.1", "R5.2.1", "R5.3.1", "R7.1.2"]
    assert count(chat.container, Submission) == 0


def test_where_cards_cannot_be_shown_the_quiz_is_a_text_dialogue(chat, clock):
    """A messenger without buttons gets each question as text, answered with `choose QUIZ.QUESTION OPTION`."""
    from dataclasses import replace

    from core.assessment.quizzes import Quizzes
    from core.capabilities import FULL
    from core.db.models import OutboxItem
    ctx = replace(chat.container.ctx, capabilities={"sandbox": FULL.with_(cards=False)})
    with chat.container.sessions.begin() as s:
        lily = find_account(s, "sandbox", "lily").person_id
        training = training_by_code(s, "onboarding").id
        Quizzes(ctx, s).create(training, "title: Text only Q: Pick b | a | b* | c", by=lily)
    with chat.container.sessions() as s:
        kinds = {row.action["type"] for row in s.scalars(select(OutboxItem))}
    assert kinds == {"post", "private"}
    out = chat.advance(seconds=1)
    question = to(out, "bob")[0]["text"]
    assert "B. b" in question and "choose 1.1" in question
    out = chat.dm("bob", "choose 1.1 b")
    assert "recorded" in out[-1]["text"]
    out = chat.dm("bob", "答题 1.1 c")
    assert "already answered" in out[-1]["text"]


def test_a_make_up_exam_in_the_chat_counts_as_the_make_up_attempt(chat, clock):
    """Moodle's "reopen until pass": the make-up exam reaches only those below the pass mark, and its
    automatic score is their make-up attempt (R6.3.2)."""
    chat.say("lily", "@steward scheme set practical=100 pass=60")
    for user, score in (("alice", 90), ("bob", 40), ("carol", 30), ("dave", 80)):
        chat.say("rita", f"@steward score @{user} practical {score}", chat="cohort-b" if user == "dave" else "cohort-a")
    chat.say("lily", f"@steward makeup {when(clock, days=5)} attempts=2")
    out = chat.say("lily", "@steward quiz title: Make-up makeup: yes closes: " + when(clock, days=1)
                   + " Q: Exits are green | true* Q: Visitors sign in at | Lobby* | Roof")
    assert sorted({e["to_user"] for e in out if e["kind"] == "card"}) == ["bob", "carol"]
    out = chat.click("alice", "assessment.answer", "1.1.1")
    assert "make-up exam" in out[-1]["text"]
    chat.click("bob", "assessment.answer", "1.1.1")
    chat.click("bob", "assessment.answer", "1.2.1")
    chat.click("carol", "assessment.answer", "1.1.2")
    out = chat.advance(days=1, minutes=1)
    assert any("passed" in e["text"] for e in to(out, "bob"))
    assert any("1 attempt(s) left" in e["text"] for e in to(out, "carol"))
    with chat.container.sessions() as s:
        rows = {r.person_id: (r.status, r.attempts) for r in s.scalars(select(Remediation))}
        bob, carol = (find_account(s, "sandbox", u).person_id for u in ("bob", "carol"))
    assert rows == {bob: ("passed", 1), carol: ("open", 1)}
    out = chat.say("lily", "@steward grades")
    assert "bob: 40.0 [practical=40.0] pass" in out[-1]["text"]


def test_work_set_before_the_scheme_is_published_reminds_the_lead(chat, clock):
    """R6.2.2: the scheme is published when the training starts; an assignment or quiz set before it is
    still set, and the lead is told the scheme is missing; once published, no more reminder."""
    out = chat.say("lily", ASSIGN.format(due=when(clock, days=1), cutoff=when(clock, days=2)))
    [created] = to(out, "lily")
    assert "Assignment 1" in created["text"] and "not published yet" in created["text"] and "R6.2.2" in created["text"]
    chat.say("lily", "@steward scheme set exam=30 assignment=70")
    out = chat.say("lily", "@steward quiz title: Safety Q: Exits are green | true*")
    assert "not published yet" in to(out, "lily")[-1]["text"]
    chat.say("lily", "@steward scheme publish")
    out = chat.say("lily", "@steward quiz title: Safety 2 Q: Exits are green | true*")
    assert "not published" not in to(out, "lily")[-1]["text"]
