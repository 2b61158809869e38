"""A week of a training run from the chat alone, on each messenger's real wire format (issue: chapters 3, 4, 7).

Everything goes through the webhook and the platform's fake Web API — commands, card buttons, private
messages — never the CLI or the database: a session announced (R3.1.1, R3.1.2) and acknowledged, a change
notice with its acknowledgements (R3.2.1), a member's link approved on the lead's card and posted with
attribution (R3.1.3, R7.2.2, R2.3.1), a question unanswered past its deadline, escalated and answered
(R4.3.1), anonymous feedback (R2.3.3) in the lead's weekly digest (R7.3.1), the group's weekly digest and
a search of the archive in the other Chinese script (R3.2.2). Bad input on the way gets a clear reply and
changes nothing.
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from core.config import parse_config
from core.db.models import ArchivedMessage, AuditEntry, OutboxItem
from core.training.models import Acknowledgement, Announcement, Feedback, Material, Question
from tests.conftest import build_container
from tests.e2e.platform_support import SlackSide, WeComSide, group_yaml
from tests.e2e.test_assessment_platforms import click, lead_says, member_dm, send
from tests.fakes.slack_api import ADMIN_TOKEN, FakeSlack
from webhooks import create_app


@pytest.fixture
def deployment(db_url, clock, side):
    """One group of the training on this messenger; the admin also teaches (the instructor of R4.3.1)."""
    group = group_yaml(side, training="onboarding") + f"\n    instructors: [{side.platform}:{side.users['admin']}]"
    container = build_container(db_url, clock, parse_config("locale: en\ngroups:\n" + group + "\n"), side.env())
    app = create_app(container)
    app.testing = True
    yield container, app.test_client()
    container.engine.dispose()


def says(side, person, text):
    """A command from staff, the way each platform carries it (Slack `/steward`, WeCom's 1:1 app chat,
    DingTalk's @-mention of the robot in the group)."""
    if isinstance(side, SlackSide):
        return side.slash_command(side.users[person], text)
    if isinstance(side, WeComSide):
        return side.app_text(side.users[person], text)
    return side.robot_message(side.users[person], text)


def max_id(container, model) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.max(model.id))) or 0


def count(container, model, *where) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_week_of_a_training_from_the_chat(side, deployment, clock):
    container, client = deployment
    go = lambda wire: send(client, container, clock, wire)   # noqa: E731

    # --- Monday 17:00 (Shanghai): a session is announced, the template refuses an incomplete one (R3.1.2)
    mark = side.mark()
    go(lead_says(side, "announce session topic: 入职培训第一天 time: 2026-11-05 14:00 points: bring a laptop"))
    assert "place or link" in side.told("lead", mark)[-1] and count(container, Announcement) == 0
    go(lead_says(side, "announce session topic: Onboarding day 1 time: 2026-11-05 25:00 place: Room 3 points: x"))
    assert "not a real time" in side.told("lead", mark)[-1] and count(container, Announcement) == 0
    assert not side.posts(mark)
    mark = side.mark()
    go(lead_says(side, "announce session topic: 入职培训第一天 time: 2026-11-05 14:00 place: Room 3 "
                       "points: bring a laptop"))
    [post] = side.posts(mark)
    assert post.chat == side.chat and "入职培训第一天" in post.text and "Room 3" in post.text
    assert "R3.1.2" in post.text
    pins = [c for c in side.fake.calls[mark:] if getattr(c, "method", "") == "pins.add"]
    assert len(pins) == (1 if isinstance(side, SlackSide) else 0)    # only Slack can pin

    # members acknowledge: the card's button (Slack, DingTalk) or a reply in the 1:1 chat (WeCom: text only)
    if isinstance(side, WeComSide):
        go(member_dm(side, "bob", "收到 1"))
    else:
        go(click(side, "bob", "training.seen", "1"))
    go(member_dm(side, "carol", "seen 1"))
    assert count(container, Acknowledgement) == 2
    # where nothing is pinned the post comes back on request
    mark = side.mark()
    go(member_dm(side, "dave", "schedule"))
    assert "入职培训第一天" in side.told("dave", mark)[-1]

    # --- the lead moves the session: a change notice old -> new pointing to #1 (R3.2.1)
    mark = side.mark()
    go(lead_says(side, "change 1 time 2026-11-13 25:00"))
    assert "not a real time" in side.told("lead", mark)[-1] and not side.posts(mark)
    go(lead_says(side, "change 1 time 2026-11-06 15:00"))
    [notice] = side.posts(mark)
    assert "2026-11-05 14:00" in notice.text and "2026-11-06 15:00" in notice.text and "#1" in notice.text
    assert "R3.2.1" in notice.text
    go(member_dm(side, "carol", "seen 2"))
    mark = side.mark()
    go(member_dm(side, "dave", "notices"))                  # the notice board, again, where nothing is pinned
    assert "2026-11-06 15:00" in side.told("dave", mark)[-1]
    go(lead_says(side, "unseen 2"))
    [who] = side.told("lead", mark)
    names = side.users

    def named(person: str, text: str) -> bool:   # by the directory's name (WeCom, DingTalk), else by id
        return names[person] in text or person.title() in text

    assert "2 member" in who and named("bob", who) and named("dave", who) and not named("carol", who)

    # --- a member shares a link; the lead approves it on the card; Steward posts it (R3.1.3, R7.2.2)
    mark = side.mark()
    go(member_dm(side, "dave", "share not-a-link"))
    assert "not a link" in side.told("dave", mark)[-1] and count(container, Material) == 0
    go(member_dm(side, "dave", "share https://learn.example.com/git Git 入门"))
    assert not side.posts(mark)                       # held until the lead decides
    card = [c for c in side.fake.calls[mark:] if "training.material_approve" in str(getattr(c, "args", None)
                                                                                     or getattr(c, "body", ""))]
    assert card, "the lead gets a card with approve / reject"
    mark = side.mark()
    go(click(side, "bob", "training.material_approve", "1"))          # a forged click changes nothing
    assert count(container, Material, Material.status == "pending") == 1 and not side.posts(mark)
    go(click(side, "lead", "training.material_approve", "1"))
    [shared] = side.posts(mark)
    assert "Git 入门" in shared.text and "learn.example.com/git" in shared.text and named("dave", shared.text)
    assert "R3.1.3" in shared.text
    assert any("approved" in t for t in side.told("dave", mark))
    mark = side.mark()
    go(says(side, "lead", "reject-material 1 duplicate"))
    assert "already approved" in side.told("lead", mark)[-1]
    assert count(container, Material, Material.status == "approved") == 1
    go(member_dm(side, "bob", "materials git"))
    assert "Git 入门" in side.told("bob", mark)[-1]

    # --- a question: unanswered past 4 working hours, the instructor is reminded, then the lead (R4.3.1)
    go(member_dm(side, "bob", "ask 培訓的資料在哪裡？"))
    with container.sessions() as s:
        question = s.scalars(select(Question)).one().id
    mark = side.mark()
    clock.advance(hours=20)                 # Tuesday 13:00: past the deadline (Tuesday 12:00)
    send(client, container, clock, member_dm(side, "carol", "questions"))
    assert any("R4.3.1" in t and "資料" in t for t in side.told("admin", mark))
    clock.advance(days=1)
    send(client, container, clock, member_dm(side, "carol", "questions"))
    assert any("R4.3.1" in t for t in side.told("lead", mark))
    mark = side.mark()
    go(says(side, "admin", f"answer {question} 在门户网站的“资料”栏目"))
    assert any("门户网站" in t for t in side.told("bob", mark))
    go(says(side, "admin", f"answer {question} again"))
    assert "already answered" in side.told("admin", mark)[-1]
    assert count(container, Question, Question.status == "open") == 0

    # --- anonymous feedback (R2.3.3): nobody learns who, not from the database either
    mark = side.mark()
    go(member_dm(side, "carol", "feedback anonymous #99 节奏太快"))     # no such session: nothing kept
    assert "No announcement #99" in side.told("carol", mark)[-1] and count(container, Feedback) == 0
    mark, since = side.mark(), max_id(container, OutboxItem)
    go(member_dm(side, "carol", "feedback anonymous #1 节奏太快"))       # on the session (R2.3.3)
    assert "Thank" in side.told("carol", mark)[-1]      # she hears it was received ...
    with container.sessions() as s:                             # ... and the delivered row forgets her
        rows = s.scalars(select(OutboxItem).where(OutboxItem.id > since)).all()
        assert [r.status for r in rows] == ["done"]
        assert side.users["carol"] not in json.dumps(rows[0].action) and "Thank" not in json.dumps(rows[0].action)
        [fb] = s.scalars(select(Feedback)).all()
        assert fb.anonymous and fb.person_id is None and fb.announcement_id == 1
        assert not s.scalar(select(func.count()).select_from(ArchivedMessage)
                            .where(ArchivedMessage.text.like("%节奏太快%")))
        assert s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "training.feedback")).all() \
            == ["anonymous"]

    # --- Friday 17:00: the group's digest (R3.2.2) and the lead's feedback digest (R7.3.1)
    mark = side.mark()
    clock.advance(days=2, hours=4)
    send(client, container, clock, member_dm(side, "carol", "questions"))
    # on the way, Thursday 15:00: a day before the moved session, those who have not acknowledged it (R3.2.1)
    assert {p.user for p in side.privates(mark) if "R3.2.1" in p.text} == {side.users["bob"], side.users["dave"]}
    digests = [p for p in side.posts(mark) if "R3.2.2" in p.text]
    assert len(digests) == 1 and "入职培训第一天" in digests[0].text and "1 question(s) answered" in digests[0].text
    feedback = [t for t in side.told("lead", mark) if "R7.3.1" in t]
    assert feedback and "on #1 入职培训第一天: 节奏太快" in feedback[0] and not named("carol", feedback[0])

    # --- the archive, searched from the chat in the other script (R3.2.2)
    mark = side.mark()
    go(member_dm(side, "bob", "search 入職培訓"))            # Traditional finds the Simplified post
    found = side.told("bob", mark)[-1]
    assert "入职培训第一天" in found
    go(member_dm(side, "bob", "搜索 门户网站"))
    assert "门户网站" in side.told("bob", mark)[-1]


@contextmanager
def slack_only(db_url, clock, templates: str = ""):
    """A deployment with one Slack group of the training, and these `templates:` lines."""
    with FakeSlack() as fake:
        side = SlackSide(clock, fake)
        text = "locale: en\n" + templates + "groups:\n" + group_yaml(side, training="onboarding") + "\n"
        container = build_container(db_url, clock, parse_config(text), side.env())
        app = create_app(container)
        app.testing = True
        try:
            yield side, container, app.test_client()
        finally:
            container.engine.dispose()


def test_slack_a_members_link_in_the_channel_is_held_for_the_lead(db_url, clock):
    """R3.1.3, R7.2.2: with `hold_links`, Slack (where Steward sees every message and, with the admin
    token, may delete it) takes a member's link down at once and queues it; approved, Steward posts it."""
    with slack_only(db_url, clock, "templates:\n  new-hire:\n    training: {hold_links: true}\n") as (
            side, container, client):
        ts = f"{int(clock.now().timestamp())}.000042"
        side.fake.add_message(side.chat, ts, side.users["bob"], "great intro https://learn.example.com/git")
        send(client, container, clock, side.event({
            "type": "message", "user": side.users["bob"], "text": "great intro https://learn.example.com/git",
            "ts": ts, "team": "T0STEWARD", "channel": side.chat, "event_ts": ts, "channel_type": "channel"}))
        [delete] = side.fake.calls_to("chat.delete")
        assert (delete.args["channel"], delete.args["ts"], delete.token) == (side.chat, ts, ADMIN_TOKEN)
        assert any("R3.1.3" in t for t in side.told("bob", 0))
        with container.sessions() as s:
            assert s.scalars(select(Material.status)).all() == ["pending"]
        mark = side.mark()
        send(client, container, clock, click(side, "lead", "training.material_approve", "1"))
        [post] = side.posts(mark)
        assert "learn.example.com/git" in post.text and side.users["bob"] in post.text


def test_slack_a_message_that_reads_as_a_question_is_tracked(db_url, clock):
    """R4.3.1: Slack shows Steward every channel message, so a member's question needs no command."""
    with slack_only(db_url, clock) as (side, container, client):
        send(client, container, clock, side.channel_message(side.users["bob"], "请问作业怎么提交？"))
        send(client, container, clock, side.channel_message(side.users["carol"], "lunch was good"))
        with container.sessions() as s:
            assert [(q.source, q.text) for q in s.scalars(select(Question))] == [("question", "请问作业怎么提交？")]



def test_slack_a_heated_exchange_alerts_the_admins_privately(db_url, clock):
    """R4.2.3, R7.3.2: insults flying both ways between the same two people within minutes."""
    with slack_only(db_url, clock) as (side, container, client):
        bob, carol = side.users["bob"], side.users["carol"]
        send(client, container, clock, side.channel_message(bob, f"<@{carol}> 你是白痴吗，讲几次了还不懂"))
        clock.advance(minutes=2)
        mark = side.mark()
        send(client, container, clock, side.channel_message(carol, f"<@{bob}> 你才是白痴"))
        [alert] = [t for t in side.told("admin", mark) if "R7.3.2" in t]
        assert bob in alert and carol in alert
        assert count(container, AuditEntry, AuditEntry.action == "training.conflict") == 1
