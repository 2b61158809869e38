"""Running a training from the chat, end to end through the sandbox: announcements (R3.1.1, R3.1.2),
change notices (R3.2.1), questions (R4.3.1, R4.3.2), shared materials (R3.1.3, R7.2.2), feedback
(R2.3.3, R7.3.1) and archive search (R3.2.2)."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from core.config import parse_config
from core.db.models import ArchivedMessage, AuditEntry, OutboxItem
from core.training.models import Acknowledgement, Announcement, Feedback, Material, Question
from steward.worker import drain
from tests.conftest import LOCAL, build_container
from tests.e2e.sandbox_support import mark
from webhooks import create_app

CONFIG = """
locale: en
timezone: Asia/Shanghai
groups:
  - platform: sandbox
    chat_id: cohort-a
    name: Cohort A
    kind: new-hire
    training: onboarding
    lead: sandbox:lily
    admins: [sandbox:adam]
    instructors: [sandbox:ian]
    members: [sandbox:alice, sandbox:bob]
  - platform: sandbox
    chat_id: cohort-b
    name: Cohort B
    kind: new-hire
    training: onboarding
    lead: sandbox:lily
    admins: [sandbox:adam]
    instructors: [sandbox:ian]
    members: [sandbox:carol]
"""
SESSION = ("@steward announce session\ntopic: Onboarding day 1\ntime: 2026-11-05 14:00\n"
           "place: Room 3\npoints: bring your laptop")


@pytest.fixture
def sandbox_config():
    """This module's steward.yaml: the shared `container` and `client` fixtures (tests/conftest.py) use it."""
    return parse_config(CONFIG)


@contextmanager
def training_settings(db_url, clock, settings: str):
    """A deployment of CONFIG whose new-hire template has these `training` settings."""
    config = parse_config(CONFIG.replace("groups:", f"templates:\n  new-hire:\n    training: {settings}\ngroups:"))
    c = build_container(db_url, clock, config)
    app = create_app(c)
    app.testing = True
    try:
        yield app.test_client(), c
    finally:
        c.engine.dispose()


def say(client, container, user, text, chat="cohort-a"):
    body = {"user_id": user, "text": text}
    if chat:
        body["chat_id"] = chat
    r = client.post("/sandbox/messages", json=body, environ_base=LOCAL)
    assert r.status_code == 200, r.data
    drain(container)


def press(client, container, user, action, value):
    r = client.post("/sandbox/cards", json={"user_id": user, "action": action, "value": value}, environ_base=LOCAL)
    assert r.status_code == 200
    drain(container)


def out(container, since=0):
    return [e for e in container.connectors["sandbox"].since(since) if e["sender"] == "steward"]


def count(container, model, *where) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_session_reaches_every_group_of_the_training_is_pinned_and_acknowledged(client, container):
    """R3.1.1, R3.1.2: one announcement, both groups, pinned (the sandbox can pin), acknowledged."""
    say(client, container, "lily", SESSION)
    said = out(container)
    cards = [e for e in said if e["kind"] == "card"]
    assert sorted(c["chat_id"] for c in cards) == ["cohort-a", "cohort-b"]
    card = cards[0]
    assert "Onboarding day 1" in card["text"] and "2026-11-05 14:00 (Asia/Shanghai)" in card["text"]
    assert "Room 3" in card["text"] and "bring your laptop" in card["text"] and "R3.1.2" in card["text"]
    assert card["buttons"][0]["action"] == "training.seen"
    assert sorted(e["chat_id"] for e in said if e["kind"] == "pinned") == ["cohort-a", "cohort-b"]
    assert any(e["to_user"] == "lily" and "2 group" in e["text"] for e in said)

    number = card["buttons"][0]["value"]
    press(client, container, "alice", "training.seen", number)
    say(client, container, "carol", f"收到 {number}", chat=None)
    say(client, container, "carol", f"seen {number}", chat=None)   # twice: no second row
    assert count(container, Acknowledgement) == 2
    m = mark(container)
    say(client, container, "lily", f"unseen {number}", chat=None)
    [reply] = out(container, m)
    assert "1 member" in reply["text"] and "bob" in reply["text"] and "R3.2.1" in reply["text"]

    m = mark(container)
    say(client, container, "bob", "@steward schedule")
    assert "Onboarding day 1" in out(container, m)[0]["text"]
    say(client, container, "bob", "notices", chat=None)
    assert "Session #" in out(container, m)[-1]["text"]


@pytest.mark.parametrize("text,expected", [
    ("@steward announce topic: Day 1 time: 2026-11-05 14:00", "key points"),
    ("@steward announce session topic: Day 1 time: 2026-11-05 14:00 points: laptops", "place or link"),
    ("@steward 公告 主题：第一天 时间：2026-02-30 10:00 要点：带电脑", "not a real time"),
    ("@steward announce topic: Day 1 time: 2026-11-05 25:00 points: x", "not a real time"),
    ("@steward announce topic: Day 1 time: 2026-10-01 10:00 points: x", "in the past"),
])
def test_an_incomplete_or_impossible_announcement_is_refused_with_the_template(client, container, text, expected):
    say(client, container, "lily", text)
    [reply] = out(container)
    assert reply["to_user"] == "lily" and expected in reply["text"] and "R3.1.2" in reply["text"]
    assert count(container, Announcement) == 0


def test_members_cannot_announce(client, container):
    say(client, container, "bob", SESSION)
    assert count(container, Announcement) == 0
    assert "R3.1.1" in out(container)[0]["text"]


def test_a_scheduled_announcement_waits_for_its_time(client, container, clock):
    say(client, container, "adam", "@steward announce topic: Week 2 time: 2026-11-09 10:00 points: plan "
                                   "publish: 2026-11-03 09:00")
    assert not [e for e in out(container) if e["kind"] == "card"]
    clock.advance(days=1)
    drain(container)
    assert len([e for e in out(container) if e["kind"] == "card"]) == 2
    with container.sessions() as s:
        clauses = s.scalars(select(AuditEntry.clause).where(AuditEntry.action == "training.announced")).all()
    assert clauses == ["R7.2.1"]      # an admin publishing on the lead's behalf


def test_a_change_notice_shows_old_and_new_and_reminds_who_has_not_acknowledged(client, container, clock):
    """R3.2.1."""
    say(client, container, "lily", SESSION)
    original = count(container, Announcement)
    m = mark(container)
    say(client, container, "lily", f"@steward change {original} time 2026-11-06 15:00")
    cards = [e for e in out(container, m) if e["kind"] == "card"]
    assert len(cards) == 2
    assert "2026-11-05 14:00" in cards[0]["text"] and "→ 2026-11-06 15:00" in cards[0]["text"]
    assert f"#{original}" in cards[0]["title" if "title" in cards[0] else "text"] and "R3.2.1" in cards[0]["text"]
    notice = cards[0]["buttons"][0]["value"]
    say(client, container, "alice", f"seen {notice}", chat=None)
    m = mark(container)
    clock.advance(days=3)     # a day before the session
    drain(container)
    reminded = [e for e in out(container, m) if e["kind"] == "private"]
    assert sorted(e["to_user"] for e in reminded) == ["bob", "carol"]
    assert all("R3.2.1" in e["text"] for e in reminded)


def test_a_bad_change_is_refused_and_changes_nothing(client, container):
    say(client, container, "lily", SESSION)
    m = mark(container)
    say(client, container, "lily", "@steward change 1 time 2026-13-01 10:00")
    say(client, container, "lily", "@steward change 1 colour blue")
    say(client, container, "bob", "@steward change 1 content nothing")
    texts = [e["text"] for e in out(container, m)]
    assert "not a real time" in texts[0] and "change 1 time" in texts[1] and "R3.2.1" in texts[2]
    assert count(container, Announcement) == 1


def test_an_unanswered_question_reminds_the_instructor_then_the_lead(client, container, clock):
    """R4.3.1: 4 working hours (Mon-Fri 9-18 in the group's zone), then the instructor, then the lead."""
    say(client, container, "alice", "@steward ask How do I submit the homework?", chat=None)
    with container.sessions() as s:
        q = s.scalars(select(Question)).one()
        assert q.source == "ask" and q.group_id is not None
    clock.advance(hours=3)       # 17:00 -> 20:00 in Shanghai on Monday: only one working hour passed
    m = mark(container)
    drain(container)
    assert not out(container, m)
    clock.advance(hours=17)      # Tuesday 13:00: past the deadline (12:00)
    drain(container)
    [instructor] = out(container, m)
    assert instructor["to_user"] == "ian" and "R4.3.1" in instructor["text"] and "homework" in instructor["text"]
    clock.advance(days=1)
    drain(container)
    [lead] = out(container, m)[1:]
    assert lead["to_user"] == "lily" and "R4.3.1" in lead["text"]

    m = mark(container)
    say(client, container, "ian", f"@steward answer {q.id} Upload it to the portal.")
    said = out(container, m)
    assert any(e["kind"] == "message" and "portal" in e["text"] and "<@alice>" in e["text"] for e in said)
    assert any(e["to_user"] == "alice" and "portal" in e["text"] for e in said)
    m = mark(container)
    say(client, container, "ian", f"@steward answer {q.id} again")
    assert "already answered" in out(container, m)[0]["text"]
    say(client, container, "bob", f"@steward answer {q.id} me too")
    with container.sessions() as s:
        reasons = [e.detail["reason"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "command.refused").order_by(AuditEntry.id))]
    assert reasons[0] == "input" and len(reasons) == 2     # "already answered", then bob's refusal


def test_plain_questions_and_mentions_are_tracked_and_similar_ones_grouped(client, container):
    """R4.3.1 on a platform that sees every message; R4.3.2 Chinese-aware grouping, a collective answer."""
    say(client, container, "alice", "请问作业怎么提交？")
    say(client, container, "bob", "作業怎麼提交呢")
    say(client, container, "bob", "lunch was good")
    say(client, container, "carol", "@ian the slides for day two", chat="cohort-b")
    with container.sessions() as s:
        qs = s.scalars(select(Question).order_by(Question.id)).all()
    assert [q.source for q in qs] == ["question", "question", "mention"]
    assert qs[0].cluster_id == qs[1].cluster_id == qs[0].id and qs[2].cluster_id is None
    leads = [e for e in out(container) if e["to_user"] == "lily"]
    assert leads and "R4.3.2" in leads[0]["text"]
    m = mark(container)
    say(client, container, "ian", f"@steward answer {qs[1].id} 在门户网站上传")
    [post] = [e for e in out(container, m) if e["kind"] == "message"]
    assert "R4.3.2" in post["text"] and "<@alice>" in post["text"] and "<@bob>" in post["text"]
    assert count(container, Question, Question.status == "open") == 1
    say(client, container, "ian", "<@carol> they are in the drive", chat="cohort-b")
    assert count(container, Question, Question.status == "open") == 0


def test_a_shared_link_is_approved_on_the_card_and_posted_with_attribution(client, container):
    """R3.1.3, R7.2.2, R2.3.1."""
    say(client, container, "bob", "share https://learn.example.com/git Git basics", chat=None)
    [card] = [e for e in out(container) if e["kind"] == "card"]
    assert card["to_user"] == "lily" and "R3.1.3" in card["text"] + card.get("title", "") or "R3.1.3" in card["text"]
    assert not [e for e in out(container) if e["kind"] == "message"]
    number = card["buttons"][0]["value"]
    press(client, container, "bob", "training.material_approve", number)    # a forged click
    assert count(container, Material, Material.status == "pending") == 1
    m = mark(container)
    press(client, container, "lily", "training.material_approve", number)
    said = out(container, m)
    [post] = [e for e in said if e["kind"] == "message"]
    assert post["chat_id"] == "cohort-a" and "Git basics" in post["text"] and "bob" in post["text"]
    assert "R3.1.3" in post["text"]
    assert any(e["to_user"] == "bob" and "approved" in e["text"] for e in said)
    m = mark(container)
    press(client, container, "lily", "training.material_reject", number)
    assert "already approved" in out(container, m)[-1]["text"]
    say(client, container, "alice", "@steward materials git")
    assert "Git basics" in out(container, m)[-1]["text"]


def test_a_rejection_needs_a_reason_and_a_non_link_is_refused(client, container):
    say(client, container, "bob", "share not-a-link", chat=None)
    assert "not a link" in out(container)[-1]["text"] and count(container, Material) == 0
    say(client, container, "bob", "share https://learn.example.com/x", chat=None)
    m = mark(container)
    say(client, container, "lily", "reject-material 1", chat=None)
    assert "needs a reason" in out(container, m)[-1]["text"]
    say(client, container, "lily", "reject-material 1 off topic", chat=None)
    assert any(e["to_user"] == "bob" and "off topic" in e["text"] for e in out(container, m))
    assert count(container, Material, Material.status == "rejected") == 1


def test_anonymous_feedback_cannot_be_traced_and_reaches_the_lead_weekly(client, container, clock):
    """R2.3.3, R7.3.1."""
    say(client, container, "bob", "feedback anonymous the pace is too fast", chat=None)
    say(client, container, "alice", "@steward 反馈 讲得很清楚")
    with container.sessions() as s:
        rows = s.scalars(select(Feedback).order_by(Feedback.id)).all()
        assert [(f.anonymous, f.person_id is None) for f in rows] == [(True, True), (False, False)]
        assert not s.scalar(select(func.count()).select_from(ArchivedMessage).where(
            ArchivedMessage.text.like("%too fast%")))
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "training.feedback")).all()
        assert audit[0].actor == "anonymous" and audit[0].person_id is None
        keys = s.scalars(select(OutboxItem.idempotency_key)).all()
        assert not any("bob" in k for k in keys)
    m = mark(container)
    say(client, container, "lily", f"feedback-note F{rows[0].id} slow down", chat=None)   # admins only
    say(client, container, "adam", "feedback-note F999 x", chat=None)
    say(client, container, "adam", f"反馈备注 F{rows[0].id} 下周放慢进度", chat=None)
    replies = [e["text"] for e in out(container, m)]
    assert "R7.3.1" in replies[0] and "No feedback F999" in replies[1] and "R7.3.1" in replies[2]
    m = mark(container)
    clock.advance(days=5)
    drain(container)
    digests = [e for e in out(container, m) if "R7.3.1" in e["text"]]
    assert {e["to_user"] for e in digests} == {"lily", "adam"}
    assert "anonymous: the pace is too fast" in digests[0]["text"] and "bob" not in digests[0]["text"]
    assert "下周放慢进度" in digests[0]["text"]


def test_search_finds_chinese_without_word_splitting(client, container):
    """R3.2.2: substring search, Traditional and Simplified alike."""
    say(client, container, "alice", "新员工入职培训安排在周三")
    say(client, container, "carol", "入職培訓的資料在哪裡", chat="cohort-b")
    say(client, container, "bob", "lunch at noon")
    m = mark(container)
    say(client, container, "bob", "@steward 搜索 入职培训")
    [reply] = out(container, m)
    assert "2 message" in reply["text"] and "周三" in reply["text"] and "資料" in reply["text"]
    say(client, container, "bob", "@steward search dinner")
    assert "No message" in out(container, m)[-1]["text"]


def test_insults_both_ways_alert_the_admins_privately(client, container, clock):
    """R4.2.3, R7.3.2: a heated exchange between the same two people within minutes."""
    say(client, container, "alice", "@bob 你是白痴吗，讲几次了还不懂")
    assert not [e for e in out(container) if e["to_user"] == "adam"]
    clock.advance(minutes=2)
    say(client, container, "bob", "你才是白痴")          # no mention: the last other speaker is the target
    alerts = [e for e in out(container) if e["to_user"] == "adam" and "R7.3.2" in e["text"]]
    assert len(alerts) == 1 and "alice" in alerts[0]["text"] and "bob" in alerts[0]["text"]
    assert count(container, AuditEntry, AuditEntry.action == "training.conflict") == 1


def test_insults_far_apart_are_no_conflict(client, container, clock):
    say(client, container, "alice", "@bob 你是白痴吗")
    clock.advance(hours=2)
    say(client, container, "bob", "@alice 你才是白痴")
    assert count(container, AuditEntry, AuditEntry.action == "training.conflict") == 0


def test_the_weekly_digest_is_posted_in_every_group_and_schedules_the_next(client, container, clock):
    """R3.2.2: sessions, materials, answered and open questions, decisions, once a week."""
    say(client, container, "lily", SESSION)
    say(client, container, "alice", "@steward ask where are the slides?")
    say(client, container, "adam", "@steward warn @bob R8.1.2 ads")
    m = mark(container)
    clock.advance(days=4)      # Friday 17:00 in the group's zone
    drain(container)
    digests = [e for e in out(container, m) if e["kind"] == "message" and "R3.2.2" in e["text"]]
    assert sorted(e["chat_id"] for e in digests) == ["cohort-a", "cohort-b"]
    a = next(e for e in digests if e["chat_id"] == "cohort-a")
    assert "1 announcement" in a["text"] and "1 open" in a["text"] and "1 decision" in a["text"]
    assert "Onboarding day 1" in a["text"]
    m = mark(container)
    clock.advance(days=7)
    drain(container)
    assert len([e for e in out(container, m) if "R3.2.2" in e["text"]]) == 2


def test_a_link_posted_in_the_group_is_held_for_approval_where_enabled(db_url, clock):
    """R3.1.3, R7.2.2: with `hold_links`, a member's link is taken down and queued; staff links stay."""
    with training_settings(db_url, clock, "{hold_links: true}") as (client, c):
        say(client, c, "alice", "great intro https://learn.example.com/git")
        said = out(c)
        assert [e["kind"] for e in said if e["kind"] == "deleted"] == ["deleted"]
        assert any(e["to_user"] == "alice" and "R3.1.3" in e["text"] for e in said)
        assert any(e["to_user"] == "lily" and e["kind"] == "card" for e in said)
        say(client, c, "lily", "slides: https://learn.example.com/slides")
        assert count(c, Material) == 1


def test_links_stay_where_holding_is_off(client, container):
    say(client, container, "alice", "great intro https://learn.example.com/git")
    assert count(container, Material) == 0 and not [e for e in out(container) if e["kind"] == "deleted"]


def test_a_topic_session_answers_similar_questions_and_links_each_asker(client, container):
    """R4.3.2: the lead answers a group of similar questions with a session."""
    say(client, container, "alice", "请问怎么配置开发环境？")
    say(client, container, "bob", "開發環境怎麼配置呢")
    say(client, container, "carol", "@steward ask 开发环境如何配置", chat="cohort-b")
    with container.sessions() as s:
        ids = [q.id for q in s.scalars(select(Question).order_by(Question.id))]
    m = mark(container)
    say(client, container, "lily", "@steward announce session topic: Dev setup time: 2026-11-04 10:00 "
                                   f"place: Room 2 points: bring a laptop questions: Q{ids[0]} Q{ids[2]}")
    assert count(container, Question, Question.status == "open") == 0
    links = [e for e in out(container, m) if e["kind"] == "private" and "R4.3.2" in e["text"]]
    assert sorted(e["to_user"] for e in links) == ["alice", "bob", "carol"]
    assert all("Dev setup" in e["text"] for e in links)


def test_a_topic_session_for_an_unknown_question_is_refused(client, container):
    say(client, container, "lily", "@steward announce session topic: Dev setup time: 2026-11-04 10:00 "
                                   "place: Room 2 points: laptops questions: Q42")
    assert "Q42" in out(container)[0]["text"] and count(container, Announcement) == 0


def test_the_retention_setting_is_applied_weekly(db_url, clock):
    """R3.2.2 "with a retention setting": the weekly digest run deletes what is older, on record."""
    with training_settings(db_url, clock, "{archive_retention_days: 30}") as (client, c):
        say(client, c, "alice", "新员工入职培训安排在周三")
        say(client, c, "alice", "@steward ask where are the slides?")      # training activity: the digest runs
        clock.advance(days=25)
        say(client, c, "bob", "recent enough")
        for _ in range(3):
            clock.advance(days=7)
            drain(c)
        with c.sessions() as s:
            texts = set(s.scalars(select(ArchivedMessage.text).where(ArchivedMessage.from_bot.is_(False))))
            pruned = s.scalars(select(AuditEntry).where(AuditEntry.action == "archive.pruned")).all()
        assert texts == {"recent enough"}
        assert pruned and all(a.clause == "R3.2.2" and a.actor == "system" for a in pruned)

