"""Questions answered in their thread or by naming the asker (R4.3.1), through the real ingest path."""
from __future__ import annotations

from sqlalchemy import select

from core.actions import action_from_dict
from core.db.models import OutboxItem
from core.events import MessagePosted
from core.kernel.inbound import ingest as ingest_event
from core.training.models import Question
from steward.worker import drain


def ingest(container, event):
    """Ingest, then let the worker run what the message scheduled (question tracking runs there)."""
    ingest_event(container.ctx, event)
    drain(container)


def message(user, text, mid, thread=None, mentions=()):
    return MessagePosted(platform="sandbox", event_id=f"ev:{mid}", chat_id="new-hires", user_id=user,
                         message_id=mid, text=text, thread_id=thread, mentions=mentions)


def questions(container):
    with container.sessions() as s:
        return [(q.source, q.status) for q in s.scalars(select(Question).order_by(Question.id))]


def privates_to(container, user):
    with container.sessions() as s:
        actions = [action_from_dict(a) for a in s.scalars(select(OutboxItem.action))]
    return [a.text for a in actions if a.kind == "private" and a.user_id == user]


def test_a_reply_in_the_thread_answers(container):
    ingest(container, message("alice", "怎么提交作业？", "m1"))
    ingest(container, message("bob", "我也想知道", "m2", thread="m1"))       # a member's reply: still open
    assert questions(container) == [("question", "open")]
    ingest(container, message("ian", "在门户网站上传", "m3", thread="m1"))
    assert questions(container) == [("question", "answered")]
    assert any("在门户网站上传" in text and "R4.3.1" in text for text in privates_to(container, "alice"))


def test_naming_the_asker_answers_a_question_put_to_an_instructor(container):
    ingest(container, message("bob", "<@ian> when does day two start", "m1", mentions=("ian",)))
    assert questions(container) == [("mention", "open")]
    ingest(container, message("ian", "<@alice> nine", "m2", mentions=("alice",)))
    assert questions(container) == [("mention", "open")]                      # not bob's
    ingest(container, message("ian", "<@bob> nine o'clock", "m3", mentions=("bob",)))
    assert questions(container) == [("mention", "answered")]


def test_plain_statements_and_staff_questions_are_not_tracked(container):
    ingest(container, message("alice", "thanks, got it", "m1"))
    ingest(container, message("lily", "有人还没交作业吗？", "m2"))
    assert questions(container) == []


def test_where_steward_hears_only_mentions_a_question_put_to_it_is_tracked(db_url, clock, sandbox_config):
    from tests.conftest import build_container
    c = build_container(db_url, clock, sandbox_config, extra_env={"STEWARD_SANDBOX_EMULATE": "dingtalk"})
    try:
        addressed = MessagePosted(platform="sandbox", event_id="ev:a", chat_id="new-hires", user_id="alice",
                                  message_id="a", text="作业怎么提交？", addressed=True)
        ingest(c, addressed)
        assert questions(c) == [("question", "open")]
    finally:
        c.engine.dispose()


def test_an_answer_given_before_the_worker_ran_still_answers_its_question(container):
    """R4.3.1: question and answer are decided on the worker in arrival order, so a quick answer counts."""
    ingest_event(container.ctx, message("alice", "怎么提交作业？", "m1"))
    ingest_event(container.ctx, message("ian", "在门户网站上传", "m2", thread="m1"))
    assert questions(container) == []          # nothing decided on the webhook's path
    drain(container)
    assert questions(container) == [("question", "answered")]
