"""The review queue end to end through the sandbox (R2.3.3, R7.2.2): members report a message, a detector's hit
below the template's act_at waits for an admin, held shares join the same queue; one click decides each item,
a second click is told who decided; dismissed items come out of `steward review export-dismissed` as negatives
that `steward moderate --eval` reads."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.config import parse_config
from core.db.models import AuditEntry, Case, ReviewItem, ReviewReport
from core.moderation.evaluate import load
from steward.cli import main
from tests.conftest import SANDBOX_CONFIG
from tests.e2e.sandbox_support import click, mark, queue_reports
from tests.e2e.test_sandbox_ladder import say, steward_said

CONFIG = SANDBOX_CONFIG.replace(
    "    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}\n",
    "    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}\n"
    "    moderation: {act_at: 0.95, act_at_by_category: {illegal: 0.5}}\n"
    "    training: {hold_links: true}\n", 1).replace(
    "members: [sandbox:alice, sandbox:bob]", "members: [sandbox:alice, sandbox:bob, sandbox:carol]")
RUDE = "这个方案真垃圾"     # no detector takes it up: only a member's report brings it to the admins


@pytest.fixture
def sandbox_config():
    """This module's steward.yaml: the shared `container` and `client` fixtures (tests/conftest.py) use it."""
    return parse_config(CONFIG)


def items(container):
    with container.sessions() as s:
        return s.scalars(select(ReviewItem).order_by(ReviewItem.id)).all()


def actions(container):
    with container.sessions() as s:
        return [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_two_members_report_one_message_and_an_admin_warns_with_one_click(client, container):
    say(client, container, "bob", RUDE, id="m-rude")
    assert steward_said(container) == [] and items(container) == []

    at = mark(container)
    say(client, container, "alice", "@steward report @bob R1.3.3 rude about the trainer's plan")
    out = steward_said(container, at)
    ack = [e for e in out if e["to_user"] == "alice"]
    cards = [e for e in out if e["kind"] == "card"]
    assert len(ack) == 1 and "RV1" in ack[0]["text"] and "R2.3.3" in ack[0]["text"]
    assert [c["to_user"] for c in cards] == ["adam"] and RUDE in cards[0]["text"] and "R1.3.3" in cards[0]["text"]
    assert "alice" not in cards[0]["text"].lower()            # the card counts reporters, never names them
    assert not [e for e in out if e["to_user"] == "bob" or e["kind"] == "message"]

    at = mark(container)
    say(client, container, "carol", "@steward 举报 m-rude")      # the same message, by its id
    [reply] = steward_said(container, at)
    assert reply["to_user"] == "carol" and "RV1" in reply["text"] and "2" in reply["text"]
    at = mark(container)
    say(client, container, "alice", "@steward report m-rude")    # the same reporter again
    [reply] = steward_said(container, at)
    assert reply["to_user"] == "alice" and "already reported" in reply["text"]
    [item] = items(container)
    assert (item.kind, item.status, item.reporters, item.text, item.clause) == ("report", "open", 2, RUDE, "R1.3.3")
    with container.sessions() as s:
        assert len(s.scalars(select(ReviewReport)).all()) == 2

    at = mark(container)
    click(client, container, "lily", "review.warn", str(item.id))      # the lead is no admin: refused
    assert items(container)[0].status == "open" and actions(container)[-1] == "command.refused"
    click(client, container, "adam", "review.warn", str(item.id))
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert (case.clause, case.outcome, case.outcome_clause, case.message_id) == ("R1.3.3", "warning", "R8.2.1", "m-rude")
    assert case.decided_by.startswith("person:") and case.evidence == RUDE
    item = items(container)[0]
    assert (item.status, item.case_number) == ("warned", case.number)
    to_bob = [e for e in steward_said(container, at) if e["to_user"] == "bob"]
    assert to_bob and "R1.3.3" in to_bob[0]["text"]
    everything_bob_saw = " ".join(e["text"] for e in steward_said(container)
                                  if e["to_user"] == "bob" or e["kind"] == "message")
    assert "alice" not in everything_bob_saw.lower() and "carol" not in everything_bob_saw.lower()
    assert "rude about" not in everything_bob_saw             # the reporter's words stay with the admins

    at = mark(container)
    click(client, container, "adam", "review.dismiss", str(item.id))   # a second click on a decided item
    [reply] = steward_said(container, at)
    assert reply["to_user"] == "adam" and "already decided" in reply["text"] and "warned" in reply["text"]
    assert "adam" in reply["text"].lower()
    assert items(container)[0].status == "warned"
    log = actions(container)
    for step in ("review.queued", "review.reported", "review.report_repeated", "review.warned", "case.warning",
                 "review.already_decided"):
        assert step in log, step


def test_a_low_confidence_hit_waits_is_dismissed_and_exported_as_a_negative(client, container, tmp_path,
                                                                            db_url):
    text = "兼职刷单，日结工资，有意私聊"       # ads, confidence 0.9: below this template's act_at 0.95
    say(client, container, "bob", text, id="m-ad")
    with container.sessions() as s:
        assert s.scalars(select(Case)).all() == []
    [item] = items(container)
    assert (item.kind, item.category, item.clause, item.score, item.text) == ("detector", "ads", "R8.1.2", 0.9, text)
    out = steward_said(container)
    assert [e["to_user"] for e in out if e["kind"] == "card"] == ["adam"]
    assert not [e for e in out if e["to_user"] == "bob" or e["kind"] == "message"]

    at = mark(container)
    say(client, container, "adam", f"review RV{item.id} dismiss a joke among colleagues", chat=None)
    [reply] = steward_said(container, at)
    assert "dismissed" in reply["text"]
    assert items(container)[0].status == "dismissed"

    # the category override acts alone: illegal at 0.5
    say(client, container, "alice", "Anyone selling fake invoices? Need some for my expense claim", id="m-illegal")
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert case.category == "illegal" and len(items(container)) == 1

    target = tmp_path / "negatives.jsonl"
    env = {"DATABASE_URL": db_url, "STEWARD_CONFIG": str(tmp_path / "steward.yaml"), "STEWARD_LOG_LEVEL": "ERROR"}
    (tmp_path / "steward.yaml").write_text(CONFIG, "utf-8")
    result = CliRunner().invoke(main, ["review", "export-dismissed", str(target)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text("utf-8").splitlines()]
    assert [(r["text"], r["label"], r["lang"], r["flagged_as"]) for r in rows] == [(text, "benign", "en", "ads")]
    [example] = load(target)                         # the format `steward moderate --eval` reads
    assert (example.text, example.label) == (text, "benign")
    later = CliRunner().invoke(main, ["review", "export-dismissed", "--since", "2099-01-01", str(target)], env=env)
    assert later.exit_code == 0 and target.read_text("utf-8") == ""
    assert "review.exported" in actions(container)


def test_a_held_share_is_released_from_the_same_queue(client, container):
    say(client, container, "alice", "@steward share https://docs.example.com/guide The guide")
    [item] = items(container)
    assert (item.kind, item.status, item.ref) == ("held", "open", "1")
    cards = [e for e in steward_said(container) if e["kind"] == "card"]
    assert [c["to_user"] for c in cards] == ["lily"]                # the lead's own one-click card
    at = mark(container)
    say(client, container, "adam", "@steward queue")
    [listed] = steward_said(container, at)
    assert listed["to_user"] == "adam" and f"RV{item.id}" in listed["text"] and "docs.example.com/guide" in listed["text"]
    at = mark(container)
    say(client, container, "adam", f"审核 RV{item.id} 放行", chat=None)
    out = steward_said(container, at)
    assert any(e["kind"] == "message" and "docs.example.com/guide" in e["text"] for e in out)
    assert items(container)[0].status == "released"
    at = mark(container)
    click(client, container, "lily", "training.material_approve", "1")   # the lead's card, now decided
    assert steward_said(container, at)[0]["to_user"] == "lily"
    from core.training.models import Material
    with container.sessions() as s:
        assert s.get(Material, 1).status == "approved"


def test_a_decision_on_the_leads_card_closes_the_queue_item(client, container):
    say(client, container, "alice", "@steward share https://docs.example.com/x Notes")
    click(client, container, "lily", "training.material_reject", "1 off topic")
    assert items(container)[0].status == "dismissed"
    at = mark(container)
    click(client, container, "adam", "review.release", str(items(container)[0].id))
    [reply] = steward_said(container, at)
    assert "already decided" in reply["text"]


def test_reports_that_cannot_be_taken(client, container):
    say(client, container, "bob", "hello all", id="m-own")
    for text, expected in (("@steward report", "To report a message"), ("@steward report @bob", "your own"),
                           ("@steward report nosuchmessage", "To report a message")):
        at = mark(container)
        say(client, container, "bob" if "@bob" in text else "alice", text)
        [reply] = steward_said(container, at)
        assert expected in reply["text"], (text, reply)
    assert items(container) == []
    with container.sessions() as s:     # each refused once, on record by the command runner, with its key
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "command.refused")
                            .order_by(AuditEntry.id)).all()
    assert [(e.detail.get("reason"), e.detail.get("command"), e.detail.get("key")) for e in refused] == [
        ("input", "report", "review.report.how"), ("input", "report", "review.report.self"),
        ("input", "report", "review.report.how")]


def test_config_check_reports_what_acts_alone(tmp_path, sqlite_url):
    (tmp_path / "steward.yaml").write_text(CONFIG, "utf-8")
    env = {"DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(tmp_path / "steward.yaml"), "STEWARD_LOG_LEVEL": "ERROR"}
    out = CliRunner().invoke(main, ["config", "check"], env=env).output
    assert "moderation new-hire: hits act alone at confidence 0.95 or above (illegal 0.5)" in out
    assert "moderation management: every detector hit acts alone" in out
    (tmp_path / "steward.yaml").write_text(CONFIG.replace("act_at: 0.95", "act_at: 3"), "utf-8")
    result = CliRunner().invoke(main, ["config", "check"], env=env)
    assert result.exit_code == 1 and "act_at" in result.output


def test_a_report_quoting_an_ad_warns_nobody_and_the_admins_read_what_the_reporter_said(client, container):
    """R2.3.3: quoting what someone wrote in a report is no violation; the admins see the words on the card."""
    say(client, container, "bob", "有空一起吃饭", id="m-lunch")
    at = mark(container)
    say(client, container, "alice", "@steward report @bob he also sent me: 加我微信 zhang_888，课程资料免费送")
    with container.sessions() as s:
        assert s.scalars(select(Case)).all() == []
    [card] = [e for e in steward_said(container, at) if e["kind"] == "card"]
    assert "he also sent me" in card["text"] and "alice" not in card["text"].lower()
    # the same words said plainly to Steward are still an ad (below this template's act_at: queued)
    say(client, container, "alice", "@steward 加我微信 zhang_888，课程资料免费送")
    assert [(i.kind, i.category) for i in items(container)] == [("report", None), ("detector", "ads")]


@pytest.mark.parametrize("text", [
    "@steward report nosuchmessage Anyone selling fake invoices? Need some for my expense claim",
    "@steward report @nobody-here Anyone selling fake invoices? Need some for my expense claim",
    "@steward report @alice Anyone selling fake invoices? Need some for my expense claim",    # herself
])
def test_a_report_that_will_not_be_taken_is_moderated_as_any_message(client, container, text):
    """Only a report that names what it reports is spared the detectors: otherwise `report` in front of an
    illegal offer would keep it in the group with no case, no item and no audit entry (R8.1.1)."""
    say(client, container, "alice", text, id="m-offer")
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert (case.message_id, case.clause) == ("m-offer", "R8.1.1")
    assert items(container) == []


def test_an_unseen_report_keeps_the_reporters_words_from_the_case_and_the_negatives(client, container, tmp_path,
                                                                                     db_url):
    """Steward saw nothing of carol's: the item holds the reporter's words. Warned, the case's evidence (which
    carol may read on her case page) is the admin's note; dismissed, it is no member's text to learn from.
    The admin's decision may be typed with a Chinese input method's space."""
    say(client, container, "alice", "@steward report @carol R1.3.3 she wrote to me: you are an idiot")
    [first] = items(container)
    say(client, container, "adam", f"审核 RV{first.id}\u3000警告 rude to a colleague in private", chat=None)
    say(client, container, "bob", "@steward report @carol she also said: everyone here is useless")
    second = items(container)[-1]
    say(client, container, "adam", f"review RV{second.id} dismiss", chat=None)
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert case.evidence == "rude to a colleague in private" and "idiot" not in (case.rule or "")
    assert [i.status for i in items(container)] == ["warned", "dismissed"]
    target = tmp_path / "negatives.jsonl"
    (tmp_path / "steward.yaml").write_text(CONFIG, "utf-8")
    env = {"DATABASE_URL": db_url, "STEWARD_CONFIG": str(tmp_path / "steward.yaml"), "STEWARD_LOG_LEVEL": "ERROR"}
    result = CliRunner().invoke(main, ["review", "export-dismissed", str(target)], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and target.read_text("utf-8") == ""


def test_two_admins_deciding_at_once_make_one_decision(client, container, db_url):
    """The item is claimed in one statement: while one admin's warning is uncommitted, the other's waits on
    it and is told who decided: one case, not two (PostgreSQL; SQLite has one writer at a time)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL: on SQLite the second transaction begins only after the first commits")
    import threading

    from core.db.models import Account
    from core.discipline.review import Review

    say(client, container, "bob", RUDE, id="m-rude")
    say(client, container, "alice", "@steward report @bob R1.3.3")
    [item] = items(container)
    with container.sessions() as s:
        adam = s.scalar(select(Account).where(Account.user_id == "adam"))
    answers = {}
    first = container.sessions()
    first.begin()
    answers["first"] = Review(container.ctx, first).decide(first.get(ReviewItem, item.id), "warn", adam, "", "en")

    def second():
        with container.sessions() as s, s.begin():
            answers["second"] = Review(container.ctx, s).decide(s.get(ReviewItem, item.id), "warn", adam, "", "en")

    other = threading.Thread(target=second)
    other.start()
    other.join(1.0)
    assert other.is_alive(), "the second decision waits for the first"
    first.commit()
    first.close()
    other.join(30)
    assert "already decided" in answers["second"] and "C0" in answers["first"]
    with container.sessions() as s:
        assert len(s.scalars(select(Case)).all()) == 1


def test_a_flagged_message_edited_into_a_violation_is_still_decided_once(client, container):
    """bob's ad waits in the queue (below act_at); his edit makes it an illegal offer, which opens a case at
    once. Warning the item afterwards answers with that case instead of failing on the one-case-per-message
    index, and the item is closed."""
    from core.events import MessagePosted
    from core.kernel.inbound import ingest

    def post(n, text, edited=False):
        ingest(container.ctx, MessagePosted(platform="sandbox", event_id=f"ev-edit-{n}", chat_id="new-hires",
                                            user_id="bob", message_id="m-edit", text=text, edited=edited))

    post(1, "兼职刷单，日结工资，有意私聊")
    [item] = items(container)
    post(2, "Anyone selling fake invoices? Need some for my expense claim", edited=True)
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    at = mark(container)
    say(client, container, "adam", f"review RV{item.id} warn", chat=None)
    assert any(case.number in e["text"] for e in steward_said(container, at) if e["to_user"] == "adam")
    with container.sessions() as s:
        assert len(s.scalars(select(Case)).all()) == 1
    [decided] = items(container)
    assert (decided.status, decided.case_number) == ("warned", case.number)


def test_review_list_shows_member_text_as_inert_text(client, container, tmp_path, db_url):
    """`steward review list` prints member text on an admin's terminal: escape sequences are dropped and
    secrets masked, as on the card."""
    say(client, container, "bob", "\x1b[2J\x1b[31mred alert\x1b[0m 兼职刷单，日结工资，有意私聊", id="m-esc")
    [item] = items(container)
    assert "\x1b" in item.text          # stored as typed
    (tmp_path / "steward.yaml").write_text(CONFIG, "utf-8")
    env = {"DATABASE_URL": db_url, "STEWARD_CONFIG": str(tmp_path / "steward.yaml"), "STEWARD_LOG_LEVEL": "ERROR"}
    result = CliRunner().invoke(main, ["review", "list"], env=env, catch_exceptions=False, color=True)  # a terminal
    assert result.exit_code == 0 and f"RV{item.id}\t" in result.output
    assert "\x1b" not in result.output and "red alert" in result.output


def test_a_note_longer_than_the_limit_is_refused_whole_and_nothing_is_decided(client, container):
    """The note becomes a report's case rule and goes into the audit log: one too long is refused, on record by
    its key (not its text), and the item stays open for a shorter one."""
    from core.discipline.review import NOTE_MAX

    say(client, container, "bob", "兼职刷单，日结工资，有意私聊", id="m-ad")
    [item] = items(container)
    long_note = "注" * (NOTE_MAX + 1)
    at = mark(container)
    say(client, container, "adam", f"review RV{item.id} dismiss {long_note}", chat=None)
    [reply] = steward_said(container, at)
    assert str(NOTE_MAX) in reply["text"] and str(NOTE_MAX + 1) in reply["text"]
    assert items(container)[0].status == "open"
    with container.sessions() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "command.refused")).all()
    assert [e.detail["key"] for e in refused] == ["review.note.too_long"]
    assert all(long_note not in json.dumps(e.detail, ensure_ascii=False) for e in refused)
    say(client, container, "adam", f"review RV{item.id} dismiss {'注' * NOTE_MAX}", chat=None)
    assert items(container)[0].status == "dismissed" and items(container)[0].note == "注" * NOTE_MAX


def test_a_long_queue_says_how_many_are_open_not_how_many_fit(client, container):
    """The chat lists the oldest 30; the count is of every open item, and the rest are said to follow."""
    queue_reports(container, 32)
    at = mark(container)
    say(client, container, "adam", "@steward queue")
    [listed] = steward_said(container, at)
    lines = listed["text"].splitlines()
    assert "32 open" in lines[0] and "message 29" in listed["text"] and "message 30" not in listed["text"]
    assert "2 more" in lines[-1]
