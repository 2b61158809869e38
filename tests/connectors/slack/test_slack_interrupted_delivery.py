"""A delivery interrupted mid-call is checked on Slack before it is sent again (issue 12, finding 9).

A worker claims an item, Slack posts the message, and the worker dies before it hears the answer (kill -9
while waiting): the item stays pending and locked until its lease runs out. The next worker finds the post
by the outbox mark Steward puts in every message's metadata, and marks the item done without posting again.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.actions import PostMessage, SendPrivate, action_from_dict
from core.db.models import OutboxItem
from core.kernel.delivery import Deliverer
from core.kernel.outbox import enqueue

CHANNEL = "C0TRAIN01"


def queue(container, action, key: str) -> int:
    with container.sessions.begin() as s:
        enqueue(s, action, key=key, now=container.clock.now())
    with container.sessions() as s:
        return s.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key))


def killed_mid_call(container, live, reached_slack: bool) -> None:
    """Worker w1 claims everything due, makes the call (or not), and dies before it records the answer."""
    dying = Deliverer(container.ctx, {"slack": live}, "w1", lease_seconds=120)
    for item_id, _ in dying._claim():
        if reached_slack:
            with container.sessions() as s:
                item = s.get(OutboxItem, item_id)
                live.deliver(action_from_dict(item.action), item.idempotency_key)
    container.clock.advance(seconds=121)           # its lease runs out; the item is still pending and locked


def posts(fake_slack) -> int:
    return len(fake_slack.calls_to("chat.postMessage"))


def item(container, item_id) -> OutboxItem:
    with container.sessions() as s:
        return s.get(OutboxItem, item_id)


def test_a_post_that_reached_slack_is_not_posted_twice(container, live, fake_slack):
    item_id = queue(container, PostMessage("slack", CHANNEL, "Warning (R8.2.1)"), "case:C000001:group")
    killed_mid_call(container, live, reached_slack=True)
    assert posts(fake_slack) == 1 and item(container, item_id).locked_by == "w1"
    assert Deliverer(container.ctx, {"slack": live}, "w2").run_once() == 1
    done = item(container, item_id)
    assert posts(fake_slack) == 1                            # found on Slack: not posted again
    assert done.status == "done" and fake_slack.state.messages[(CHANNEL, done.remote_id)]["text"] == \
        "Warning (R8.2.1)"
    assert fake_slack.calls_to("conversations.history")[0].args["channel"] == CHANNEL


def test_a_post_that_never_reached_slack_is_posted_once(container, live, fake_slack):
    item_id = queue(container, PostMessage("slack", CHANNEL, "Warning (R8.2.1)"), "case:C000002:group")
    killed_mid_call(container, live, reached_slack=False)
    Deliverer(container.ctx, {"slack": live}, "w2").run_once()
    assert posts(fake_slack) == 1 and item(container, item_id).status == "done"


def test_a_private_message_and_a_thread_reply_are_found_too(container, live, fake_slack):
    dm = queue(container, SendPrivate("slack", "U0MEMBER1", "You were warned (R8.2.1)"), "case:C000003:private")
    first = live.deliver(PostMessage("slack", CHANNEL, "a question"), "other-post")
    reply = queue(container, PostMessage("slack", CHANNEL, "answered", thread_id=first.remote_id), "reply:slack:ev:1")
    killed_mid_call(container, live, reached_slack=True)
    assert posts(fake_slack) == 3
    Deliverer(container.ctx, {"slack": live}, "w2").run_once()
    assert posts(fake_slack) == 3
    assert item(container, dm).status == item(container, reply).status == "done"
    assert fake_slack.calls_to("conversations.replies")[0].args["ts"] == first.remote_id


def test_an_item_retried_after_a_clean_failure_is_not_looked_up(container, live, fake_slack):
    """Only an interrupted attempt is looked for: a failure the worker heard is simply tried again."""
    queue(container, PostMessage("slack", CHANNEL, "hello"), "plain")
    Deliverer(container.ctx, {"slack": live}, "w1").run_once()
    container.clock.advance(seconds=timedelta(minutes=5).total_seconds())
    assert fake_slack.calls_to("conversations.history") == [] and posts(fake_slack) == 1
