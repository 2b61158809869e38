"""The review queue on the real wire formats of Slack, WeCom and DingTalk (R2.3.3, R7.2.2).

Each platform the way it lets members speak to Steward: on Slack a member replies in the message's thread
(`@steward report`) or runs `/steward report LINK` (which nobody else sees); on WeCom, whose app sees no group
message, a member names the member in the 1:1 app chat and says what they wrote; on DingTalk, whose robot
hears only @-mentions, the same in the 1:1 chat or with an @-mention of the robot in the group. Two members
report, one item; the admin's click on the card (Slack block_actions, WeCom template_card_event, DingTalk's
robot message from the card link) warns with the clause; the reported member never learns who reported.
A hit below the template's act_at waits in the queue (on WeCom: from the message archive feed) and a dismissal
makes it a labelled negative for the evaluation set.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.config import parse_config
from core.db.models import Case, ReviewItem
from core.kernel.review import dismissed, negative
from tests.conftest import build_container
from tests.e2e.platform_support import SlackSide, WeComSide, deliver_all, group_yaml
from tests.e2e.test_assessment_platforms import click, member_dm
from tests.fakes.slack_api import BOT_USER_ID
from webhooks import create_app

RUDE = "这个方案真垃圾"
AD = "兼职刷单，日结工资，有意私聊"      # ads, confidence 0.9


@pytest.fixture
def deployment(db_url, clock, side):
    config = parse_config("locale: en\ntemplates:\n  new-hire:\n"
                          "    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}\n"
                          "    moderation: {act_at: 0.95}\n"
                          "groups:\n" + group_yaml(side) + "\n")
    container = build_container(db_url, clock, config, side.env())
    app = create_app(container)
    app.testing = True
    yield container, app.test_client()
    container.engine.dispose()


def send(client, container, clock, wire):
    response = wire.send(client)
    assert response.status_code == 200, response.data[:300]
    deliver_all(container, clock)


def items(container):
    with container.sessions() as s:
        return s.scalars(select(ReviewItem).order_by(ReviewItem.id)).all()


def test_two_members_report_one_message_and_the_admin_warns_from_the_card(side, deployment, clock):
    container, client = deployment
    bob, carol, dave = (side.users[p] for p in ("bob", "carol", "dave"))
    if isinstance(side, SlackSide):
        # Steward sees the channel: carol replies in the message's thread, dave uses the slash command with its link
        ts = f"{int(clock.now().timestamp())}.000777"
        send(client, container, clock, side.event({"type": "message", "user": bob, "text": RUDE, "ts": ts,
                                                   "team": "T0STEWARD", "channel": side.chat, "event_ts": ts,
                                                   "channel_type": "channel"}))
        reply_ts = f"{int(clock.now().timestamp())}.000778"
        first = side.event({"type": "message", "user": carol, "text": f"<@{BOT_USER_ID}> report R1.3.3",
                            "ts": reply_ts, "thread_ts": ts, "team": "T0STEWARD", "channel": side.chat,
                            "event_ts": reply_ts, "channel_type": "channel"})
        second = side.slash_command(dave, f"report https://steward-e2e.slack.com/archives/{side.chat}/p"
                                          f"{ts.replace('.', '')}")
    elif isinstance(side, WeComSide):
        # the app sees no group message: the reporters name bob in their 1:1 app chat and say what he wrote
        first = side.app_text(carol, f"report {bob} R1.3.3 he wrote: {RUDE}")
        second = side.app_text(dave, f"举报 {bob} 同上")
    else:
        # the robot hears only @-mentions: carol in the 1:1 chat, dave with an @-mention in the group
        first = member_dm(side, "carol", f"report {bob} R1.3.3 he wrote: {RUDE}")
        second = side.robot_message(dave, "举报 @Bob", at=(bob,))
    mark = side.mark()
    send(client, container, clock, first)
    assert any("RV1" in text and "R2.3.3" in text for text in side.told("carol", mark))
    assert side.told("admin", mark), "the admin's card"
    assert not side.told("bob", mark) and not side.posts(mark)
    mark = side.mark()
    send(client, container, clock, second)
    assert any("RV1" in text and "already in the admins' review queue" in text for text in side.told("dave", mark))
    [item] = items(container)
    assert (item.kind, item.reporters, item.clause, item.status) == ("report", 2, "R1.3.3", "open")
    assert (item.text == RUDE) == isinstance(side, SlackSide)       # elsewhere: the reporter's words

    mark = side.mark()
    send(client, container, clock, click(side, "admin", "review.warn", str(item.id)))
    with container.sessions() as s:
        [case] = s.scalars(select(Case)).all()
    assert (case.clause, case.outcome, case.outcome_clause) == ("R1.3.3", "warning", "R8.2.1")
    assert items(container)[0].status == "warned"
    assert any("R1.3.3" in text for text in side.told("bob", mark))
    bob_saw = " ".join(side.told("bob") + [p.text for p in side.posts()])
    for reporter in ("carol", "dave"):
        assert reporter not in bob_saw.lower() and side.users[reporter] not in bob_saw

    mark = side.mark()
    send(client, container, clock, click(side, "admin", "review.dismiss", str(item.id)))
    assert any("already decided" in text for text in side.told("admin", mark))


def test_a_hit_below_act_at_waits_and_its_dismissal_is_a_negative(side, deployment, clock):
    container, client = deployment
    bob = side.users["bob"]
    if isinstance(side, WeComSide):
        # the app sees no group message: group traffic comes from the message archive (`steward wecom
        # ingest-archive`, which ingests exactly this way)
        from connectors.wecom.archive import archive_events
        from core.kernel.inbound import ingest
        record = json.dumps({"msgid": "arch-1", "action": "send", "from": bob, "tolist": [side.users["lead"]],
                             "roomid": side.chat, "msgtime": int(clock.now().timestamp() * 1000), "msgtype": "text",
                             "text": {"content": AD}}, ensure_ascii=False)
        for event in archive_events([record]):
            ingest(container.ctx, event)
        deliver_all(container, clock)
    else:
        said = side.channel_message(bob, AD) if isinstance(side, SlackSide) else side.robot_message(bob, AD)
        send(client, container, clock, said)
    with container.sessions() as s:
        assert s.scalars(select(Case)).all() == []
    [item] = items(container)
    assert (item.kind, item.category, item.score, item.text) == ("detector", "ads", 0.9, AD)
    assert not side.posts() and not [t for t in side.told("bob") if "R8.1.2" in t]
    send(client, container, clock, click(side, "admin", "review.dismiss", str(item.id)))
    assert items(container)[0].status == "dismissed"
    with container.sessions() as s:
        rows = [negative(i, g) for i, g in dismissed(s)]
    assert [(r["text"], r["label"]) for r in rows] == [(AD, "benign")]
    json.dumps(rows, ensure_ascii=False)


def test_a_report_naming_nothing_is_refused_on_record_with_the_ways_that_work_there(side, deployment, clock):
    """Slack's member may reply in the message's thread; where the bot sees only what is addressed to it, the
    member is told to name the sender and say what was written. Either way the refusal is audited."""
    from core.db.models import AuditEntry

    container, client = deployment
    mark = side.mark()
    send(client, container, clock, member_dm(side, "carol", "report"))
    [said] = side.told("carol", mark)
    if isinstance(side, SlackSide):
        assert "reply to it in its thread" in said
    else:
        assert "name its sender" in said and "thread" not in said
    with container.sessions() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "command.refused")).all()
    assert [(e.detail["command"], e.detail["reason"]) for e in refused] == [("report", "input")]
    assert not items(container)
