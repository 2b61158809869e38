"""A whole training end to end through the Flask app and the sandbox (R5, R6): the scheme published and
locked, an assignment set, one member on time, one late, one after the cut-off, an extension, a review
with feedback, a quiz on cards, a practical score, the weighted grades, honours with consent, a make-up
for the one below the pass mark, and `my`."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.assessment.grades import Gradebook
from core.assessment.grades_export import build, write_xlsx
from core.assessment.models import AssessmentScheme, Assignment, QuizAnswer, Remediation, Submission
from core.config import parse_config
from core.db.models import AuditEntry, ScheduledJob
from core.kernel.directory import find_account
from core.kernel.roster import training_by_code
from steward.worker import drain
from tests.conftest import LOCAL, build_container
from webhooks import create_app

TZ = ZoneInfo("Asia/Shanghai")

CONFIG = """
locale: en
groups:
  - platform: sandbox
    chat_id: cohort-a
    name: Cohort A
    kind: new-hire
    training: onboarding
    lead: sandbox:lily
    admins: [sandbox:adam]
    reviewers: [sandbox:rita]
    members: [sandbox:alice, sandbox:bob, sandbox:carol]
  - platform: sandbox
    chat_id: cohort-b
    name: Cohort B
    kind: new-hire
    training: onboarding
    lead: sandbox:lily
    admins: [sandbox:adam]
    members: [sandbox:dave]
  - platform: sandbox
    chat_id: lounge
    name: Lounge
    kind: other
    lead: sandbox:lily
    admins: [sandbox:adam]
    members: [sandbox:alice]
roles:
  hr: [sandbox:hannah]
"""


@pytest.fixture
def sandbox_config():
    """This module's steward.yaml: the shared `container` and `client` fixtures (tests/conftest.py) use it."""
    return parse_config(CONFIG)


class Chat:
    def __init__(self, client, container, clock):
        self.client, self.container, self.clock = client, container, clock
        self.sandbox = container.connectors["sandbox"]

    def mark(self) -> int:
        return self.sandbox.transcript[-1].seq if self.sandbox.transcript else 0

    def say(self, user, text, chat="cohort-a"):
        mark = self.mark()
        body = {"user_id": user, "text": text}
        if chat:
            body["chat_id"] = chat
        assert self.client.post("/sandbox/messages", json=body, environ_base=LOCAL).status_code == 200
        drain(self.container)
        return self.out(mark)

    def dm(self, user, text):
        return self.say(user, text, chat=None)

    def send_file(self, user, name, content):
        """A file sent to Steward in the 1:1 chat; the worker fetches and stores it, then answers."""
        mark = self.mark()
        body = {"user_id": user, "text": name, "kind": "file", "content": content}
        assert self.client.post("/sandbox/messages", json=body, environ_base=LOCAL).status_code == 200
        drain(self.container)
        return self.out(mark)

    def click(self, user, action, value):
        mark = self.mark()
        r = self.client.post("/sandbox/cards", json={"user_id": user, "action": action, "value": value},
                             environ_base=LOCAL)
        assert r.status_code == 200
        drain(self.container)
        return self.out(mark)

    def out(self, mark):
        return [e for e in self.sandbox.since(mark) if e["sender"] == "steward"]

    def advance(self, **delta):
        mark = self.mark()
        self.clock.advance(**delta)
        drain(self.container)
        return self.out(mark)


def when(clock, **delta) -> str:
    return (clock.now() + timedelta(**delta)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def to(entries, user):
    return [e for e in entries if e.get("to_user") == user]


def in_group(entries, chat):
    return [e for e in entries if e["kind"] == "message" and e.get("chat_id") == chat]


def count(container, model, *where):
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


ASSIGN = ("@steward assign title: Week 1 report due: {due} cutoff: {cutoff} method: text "
          "reviewers: @rita rubric: Summary* 40, Analysis 60 requirements: Summarise the week and analyse one case.")
GOOD = "submit 1 Summary: what I learnt. Analysis: the onboarding case, step by step."


@pytest.fixture
def chat(client, container, clock):
    return Chat(client, container, clock)


def publish_scheme(chat):
    out = chat.say("lily", "@steward scheme set exam=30 assignment=50 practical=20 pass=60 top=1")
    assert "version 1" in out[-1]["text"] and "R6.2.1" in out[-1]["text"]
    out = chat.say("lily", "@steward scheme publish")
    assert {e["chat_id"] for e in in_group(out, "cohort-a") + in_group(out, "cohort-b")} == {"cohort-a", "cohort-b"}
    assert all("R6.2.2" in e["text"] and "exam" in e["text"] for e in in_group(out, "cohort-a"))


def test_a_whole_training(chat, container, clock, tmp_path):
    # --- the scheme: weights checked, published to every group, then locked (R6.2.1, R6.2.2)
    out = chat.say("lily", "@steward scheme set exam=30 assignment=50 practical=30")
    assert "add up to 110" in out[-1]["text"]
    assert count(container, AssessmentScheme) == 0
    publish_scheme(chat)
    out = chat.say("lily", "@steward scheme set exam=40 assignment=40 practical=20")
    assert "locked" in out[-1]["text"] and "R6.2.2" in out[-1]["text"]
    out = chat.say("lily", "@steward scheme set exam=30 assignment=50 practical=20 pass=60 top=1 "
                           "reason: the practical standard was clarified")
    notices = in_group(out, "cohort-a") + in_group(out, "cohort-b")
    assert len(notices) == 2 and all("Change notice (R6.2.2)" in e["text"] and "clarified" in e["text"]
                                     for e in notices)
    with container.sessions() as s:
        changed = s.scalars(select(AuditEntry).where(AuditEntry.action == "scheme.changed")).one()
        assert changed.clause == "R6.2.2" and changed.detail["reason"] == "the practical standard was clarified"

    # --- the assignment: announced in every group of the training, not in other groups (R5.1.1)
    out = chat.say("lily", ASSIGN.format(due=when(clock, days=2), cutoff=when(clock, days=3)))
    assert [e["chat_id"] for e in out if e["kind"] == "message"] == ["cohort-a", "cohort-b"]
    announce = in_group(out, "cohort-a")[0]["text"]
    assert "Week 1 report" in announce and "R5.1.1" in announce and "rita" in announce and "Summary* 40" in announce
    with container.sessions() as s:
        kinds = sorted(s.scalars(select(ScheduledJob.kind).where(ScheduledJob.kind.like("assessment.%"))))
    assert kinds == ["assessment.remind", "assessment.remind", "assessment.review_remind"]

    # --- alice on time; bob's first try lacks a required part and writes nothing (R5.2.2)
    out = chat.dm("alice", GOOD)
    assert "on time" in to(out, "alice")[0]["text"] and "attempt 1" in to(out, "alice")[0]["text"]
    out = chat.dm("bob", "submit 1 Analysis only, no summary at all.")
    assert "Summary" in out[-1]["text"] and "R5.2.2" in out[-1]["text"]
    assert count(container, Submission) == 1

    # --- 24 h before the due date: reminders privately to those who have not submitted (R5.2.1)
    out = chat.advance(days=1, hours=1)
    reminded = sorted(e["to_user"] for e in out if e["kind"] == "private")
    assert reminded == ["bob", "carol", "dave"] and all("R5.2.1" in e["text"] for e in out)

    # --- an extension for dave; bob late; carol after the cut-off is refused with the reason
    out = chat.say("lily", f"@steward extend @dave 1 {when(clock, days=4)}")
    assert "R5.2.1" in to(out, "dave")[0]["text"]
    chat.advance(days=1)
    out = chat.dm("bob", "submit 1 Summary: late but here. Analysis: the case.")
    assert "late" in out[-1]["text"].lower()
    chat.advance(days=1)
    out = chat.dm("carol", GOOD)
    assert "cut-off" in out[-1]["text"] and "R5.2.1" in out[-1]["text"]
    out = chat.dm("dave", "submit 1 Summary: see https://docs.example.com/week1 Analysis: inside.")
    assert "on time" in out[-1]["text"]
    with container.sessions() as s:
        subs = {find_account(s, "sandbox", u).person_id: u for u in ("alice", "bob", "dave")}
        rows = {subs[r.person_id]: r for r in s.scalars(select(Submission))}
    assert {u: r.late for u, r in rows.items()} == {"alice": False, "bob": True, "dave": False}
    assert all(len(r.checksum) == 64 for r in rows.values())

    # --- review: the queue, a bad score changes nothing, feedback reaches the member privately (R5.3)
    out = chat.dm("rita", "reviews")
    assert "3 submission(s)" in out[-1]["text"]
    out = chat.dm("rita", "grade @alice 1 90 Summary=45 Analysis=45 too generous")
    assert "0-40" in out[-1]["text"]
    out = chat.dm("alice", "grade @bob 1 10 nice try")
    assert "R5.2.1" in out[-1]["text"]
    out = chat.dm("rita", "grade @alice 1 Summary=36 Analysis=54 Clear summary; cite one source per claim.")
    feedback = to(out, "alice")[0]["text"]
    assert "90/100" in feedback and "cite one source" in feedback and "R5.3.2" in feedback
    chat.dm("rita", "grade @bob 1 40 Analysis is thin: go deeper into one case.")
    chat.dm("rita", "grade @dave 1 70 Good; add a summary heading next time.")
    out = chat.say("lily", "@steward progress 1")
    assert "Cohort A (sandbox): 2/3 submitted, 1 late, 2 graded; missing: carol" in out[-1]["text"]

    # --- a quiz on cards: one answer per member per question, forged clicks refused (R6.1.1)
    out = chat.say("lily", "@steward quiz title: Safety limit: 10 Q: The fire exit sign is green | true* "
                           "Q: Where do visitors sign in? | Lobby* | Canteen | Roof")
    cards = [e for e in out if e["kind"] == "card"]
    assert sorted({e["to_user"] for e in cards}) == ["alice", "bob", "carol", "dave"] and len(cards) == 8
    chat.click("alice", "assessment.answer", "1.1.1")
    chat.click("alice", "assessment.answer", "1.2.1")
    out = chat.click("alice", "assessment.answer", "1.2.2")
    assert "already answered" in out[-1]["text"]
    out = chat.click("hannah", "assessment.answer", "1.1.1")   # not a member of the training
    assert "not a member" in out[-1]["text"]
    chat.dm("bob", "choose 1.1 F")
    chat.click("dave", "assessment.answer", "1.1.1")
    chat.click("dave", "assessment.answer", "1.2.1")
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(QuizAnswer)) == 5
    out = chat.advance(days=1, hours=1)   # the quiz closes: each participant hears the score
    assert "100.0" in to(out, "alice")[0]["text"] and "0.0" in to(out, "bob")[0]["text"]

    # --- practical scores by the reviewer (R6.1.1), grades, honours with consent (R6.3.2)
    for user, score in (("alice", 80), ("bob", 50), ("carol", 65), ("dave", 90)):
        chat.dm("rita", f"score @{user} practical {score} in:cohort-a" if user != "dave"
                else f"score @{user} practical {score} in:cohort-b")
    out = chat.say("lily", "@steward grades")
    ranking = out[-1]["text"].splitlines()
    # alice 30*1 + 50*.9 + 20*.8 = 91; dave 30 + 35 + 18 = 83; bob 0 + 20 + 10 = 30; carol 0 + 0 + 13 = 13
    assert ranking[1].startswith("1. alice: 91.0") and ranking[2].startswith("2. dave: 83.0")
    assert "below the pass mark" in ranking[3] and "below the pass mark" in ranking[4]
    chat.dm("alice", "consent yes")
    out = chat.say("lily", "@steward honours")
    assert any("alice (91.0)" in e["text"] and "R6.3.2" in e["text"] for e in in_group(out, "cohort-a"))

    # --- below the pass mark: a make-up with a deadline and an attempt limit (R6.3.2)
    out = chat.say("lily", f"@steward makeup {when(clock, days=7)[:10]} attempts=2")
    assert sorted(e["to_user"] for e in out if e["kind"] == "private" and "make-up" in e["text"]) == ["bob", "carol"]
    chat.say("rita", "@steward score @bob makeup 55")
    out = chat.say("rita", "@steward score @bob makeup 72")
    assert "passed" in to(out, "bob")[0]["text"]
    with container.sessions() as s:
        statuses = sorted(r.status for r in s.scalars(select(Remediation)))
    assert statuses == ["open", "passed"]

    # --- every member sees where they stand (and their discipline record)
    out = chat.dm("alice", "my")
    mine = out[-1]["text"]
    assert "#1 Week 1 report" in mine and "score 90/100" in mine and "cite one source" in mine
    assert "“Summary: what I learnt." in mine and "checksum " in mine
    assert "Weighted total 91.0" in mine and "no violations on record" in mine

    # --- HR's export, cell by cell (R6.3.1)
    with container.sessions() as s:
        export = build(Gradebook(container.ctx, s, training_by_code(s, "onboarding")))
    assert export.header[:9] == ["rank", "name", "employee_id", "department", "group", "account",
                                 "exam (30%)", "assignment (50%)", "practical (20%)"]
    assert export.header[9:] == ["total", "pass_mark", "result", "complete", "honours", "remediation",
                                 "remediation_status", "remediation_attempts", "remediation_best"]
    assert export.rows == [
        [1, "alice", "", "", "Cohort A", "sandbox:alice", 100.0, 90.0, 80.0, 91.0, 60.0, "pass", "yes", "yes",
         "", "", "", ""],
        [2, "dave", "", "", "Cohort B", "sandbox:dave", 100.0, 70.0, 90.0, 83.0, 60.0, "pass", "yes", "no",
         "", "", "", ""],
        [3, "bob", "", "", "Cohort A", "sandbox:bob", 0.0, 40.0, 50.0, 30.0, 60.0, "pass", "yes", "no",
         "makeup", "passed", 2, 72.0],
        [4, "carol", "", "", "Cohort A", "sandbox:carol", 0.0, 0.0, 65.0, 13.0, 60.0, "fail", "yes", "no",
         "makeup", "open", 0, ""],
    ]
    alice = next(rows for name, rows in export.transcripts.items() if name.endswith("alice"))
    assert alice[0] == ["component", "item", "kind", "percent", "detail"]
    assert ["assignment", "#1 Week 1 report", "assignment", 90.0,
            "90/100; Clear summary; cite one source per claim."] in alice
    assert ["exam", "Q1 Safety", "quiz", 100.0, ""] in alice and ["practical", "practical", "entered", 80.0, ""] in alice
    path = tmp_path / "grades.xlsx"
    with container.sessions() as s:
        write_xlsx(export, training_by_code(s, "onboarding"), path)
    book = load_workbook(path)
    assert [list(r) for r in book["Grades"].iter_rows(values_only=True)][1][:10] == [
        1, "alice", None, None, "Cohort A", "sandbox:alice", 100, 90, 80, 91]
    assert len(book.sheetnames) == 5


def test_bad_assignments_change_nothing(chat, container, clock):
    cases = [
        (ASSIGN.format(due=when(clock, hours=-1), cutoff=when(clock, days=1)), "already past"),
        (ASSIGN.format(due=when(clock, days=2), cutoff=when(clock, days=1)), "before the due date"),
        (ASSIGN.format(due="next friday", cutoff=when(clock, days=1)), "is not a date"),
        ("@steward assign title: X due: " + when(clock, days=1) + " method: fax", "not understood"),
        ("@steward assign title: X due: " + when(clock, days=1) + " rubric: Summary lots", "not understood"),
        ("@steward assign title: X due: " + when(clock, days=2) + " review: " + when(clock, days=1),
         "review deadline"),
    ]
    for text, expected in cases:
        out = chat.say("lily", text)
        assert expected in out[-1]["text"], (text, out[-1]["text"])
    out = chat.say("bob", ASSIGN.format(due=when(clock, days=2), cutoff=when(clock, days=3)))
    assert "may not" in out[-1]["text"]
    out = chat.say("lily", "@steward assign title: X due: " + when(clock, days=1), chat="lounge")
    assert "no training" in out[-1]["text"]
    assert count(container, Assignment) == 0


def test_resubmission_until_the_due_date_then_reopen(chat, container, clock):
    chat.say("lily", ASSIGN.format(due=when(clock, days=1), cutoff=when(clock, days=2)))
    chat.dm("alice", GOOD)
    out = chat.dm("alice", GOOD + " Revised.")
    assert "attempt 2" in out[-1]["text"]
    chat.advance(days=1, hours=1)
    out = chat.dm("alice", GOOD + " Third.")
    assert "can no longer be replaced" in out[-1]["text"]
    out = chat.dm("rita", "reopen @alice 1 Please add a second case.")
    assert "R5.3.2" in to(out, "alice")[0]["text"] and "second case" in to(out, "alice")[0]["text"]
    out = chat.dm("alice", GOOD + " With a second case.")
    assert "attempt 3" in out[-1]["text"]


def test_link_and_file_submissions(chat, container, clock):
    chat.say("lily", "@steward assign title: Repo due: " + when(clock, days=1) + " method: link")
    out = chat.dm("bob", "submit 1 not-a-link")
    assert "not a valid link" in out[-1]["text"]
    out = chat.dm("bob", "submit 1 https://git.example.com/bob/week1 my repository")
    assert "on time" in out[-1]["text"]
    chat.say("lily", "@steward assign title: Slides due: " + when(clock, days=1) + " method: file pdf 5MB")
    out = chat.dm("bob", "submit 2")
    assert "send the file" in out[-1]["text"]
    out = chat.send_file("bob", "deck.pptx", "slides")
    assert "Received deck.pptx" in out[-1]["text"] and "submit 2" in out[-1]["text"]   # fetched by the worker
    out = chat.dm("bob", "submit 2")
    assert "not an accepted file type (pdf)" in out[-1]["text"]
    out = chat.send_file("bob", "deck.pdf", "%PDF-1.4 the deck")
    out = chat.dm("bob", "submit 2")
    assert "on time" in out[-1]["text"]
    with container.sessions() as s:
        sub = s.scalars(select(Submission).where(Submission.assignment_id == 2)).one()
        assert (sub.kind, sub.content) == ("file", "deck.pdf") and sub.message_id
        assert sub.checksum == hashlib.sha256(b"%PDF-1.4 the deck").hexdigest()   # R5.2.1: the bytes' SHA-256


@pytest.mark.parametrize("emulate", ["slack", "wecom", "dingtalk"])
def test_the_cycle_under_each_platforms_restrictions(db_url, clock, emulate):
    """What each messenger allows: leads address Steward (@ or 1:1), members submit and answer privately,
    quiz cards are private cards, feedback is private (no ephemeral on WeCom/DingTalk: a DM)."""
    container = build_container(db_url, clock, parse_config(CONFIG), {"STEWARD_SANDBOX_EMULATE": emulate})
    try:
        app = create_app(container)
        app.testing = True
        chat = Chat(app.test_client(), container, clock)
        out = chat.say("lily", ASSIGN.format(due=when(clock, days=2), cutoff=when(clock, days=3)))
        assert len(in_group(out, "cohort-a")) == 1 and len(in_group(out, "cohort-b")) == 1
        assert chat.say("alice", "submit 1 Summary: x. Analysis: a case.") == []   # unheard in a WeCom/DingTalk group
        if emulate != "slack":
            assert count(container, Submission) == 0
        out = chat.dm("alice", GOOD)
        assert "on time" in to(out, "alice")[0]["text"]
        out = chat.say("rita", "@steward grade @alice 1 80 Good; add a source.")
        private = to(out, "alice")[0]
        assert private["kind"] == "private" and "R5.3.2" in private["text"]
        assert out[-1]["kind"] == ("ephemeral" if emulate == "slack" else "private") and out[-1]["to_user"] == "rita"
        out = chat.say("lily", "@steward quiz title: T Q: Safe? | true*")
        assert {e["kind"] for e in to(out, "alice")} == {"card"}
        card = to(out, "alice")[0]
        assert card["buttons"][0] == {"label": "A. True", "action": "assessment.answer", "value": "1.1.1"}
        out = chat.click("alice", "assessment.answer", "1.1.1")
        assert "recorded" in out[-1]["text"]
        out = chat.dm("alice", "my")
        assert "score 80/100" in out[-1]["text"]
    finally:
        container.engine.dispose()
