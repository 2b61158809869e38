"""Several events in one transaction (inbound.ingest_many, used by the spool): the same answers as one by one."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import Account, ArchivedMessage, AuditEntry, InboundEvent, Membership
from core.events import MemberJoined, MessagePosted
from core.kernel.inbound import ingest_many
from core.training.models import Question
from steward.worker import drain


def msg(event_id, message_id, text="hello", user="alice", **kw):
    return MessagePosted(platform="sandbox", event_id=event_id, chat_id="new-hires", user_id=user,
                         message_id=message_id, text=text, **kw)


def count(container, model, *where):
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_repeats_inside_one_batch_count_once(container):
    firsts = ingest_many(container.ctx, [msg("e1", "m1"), msg("e1", "m1"), msg("e2", "m1"), msg("e3", "m2")])
    assert firsts == [True, False, True, True]      # e2: a new delivery (of a message already archived)
    assert count(container, InboundEvent) == 3
    assert count(container, ArchivedMessage) == 2


def test_an_edit_in_the_same_batch_updates_the_archive(container):
    ingest_many(container.ctx, [msg("e1", "m1", "原文"), msg("e2", "m1", "改过的", edited=True)])
    with container.sessions() as s:
        assert s.scalar(select(ArchivedMessage.text)) == "改过的"
    assert count(container, AuditEntry, AuditEntry.action == "message.edited") == 1


def test_a_batch_mixes_events_and_first_sight_accounts(container):
    """A newcomer who joins and speaks in the same batch: one account, one stay, the question tracked (R4.3.1)."""
    ingest_many(container.ctx, [MemberJoined(platform="sandbox", event_id="j1", chat_id="new-hires", user_id="nina"),
                                msg("e1", "m1", "作业什么时候交？", user="nina"),
                                msg("e2", "m2", "thanks", user="nina")])
    drain(container)
    with container.sessions() as s:
        nina = s.scalar(select(Account.person_id).where(Account.user_id == "nina"))
        assert s.scalar(select(func.count()).select_from(Account).where(Account.user_id == "nina")) == 1
        assert s.scalar(select(func.count()).select_from(Membership).where(
            Membership.person_id == nina, Membership.left_at.is_(None))) == 1
        assert s.scalar(select(func.count()).select_from(Question)) == 1


def test_rows_written_for_a_batch_read_back_as_given(container, clock):
    """One statement for many rows (on PostgreSQL a JSON recordset) keeps every value: text with quotes,
    emoji and Chinese, missing values, booleans, UTC times, and the jobs' JSON payloads."""
    from datetime import timedelta

    from core.db.models import ScheduledJob
    from core.db.upsert import insert_many_ignore
    from core.kernel.scheduler import schedule_later, write_scheduled

    when = clock.now() - timedelta(minutes=3)
    texts = ['他说"你好"\\n第二行 😀', "plain", "作业怎么交？"]
    ingest_many(container.ctx, [msg(f"e{n}", f"m{n}", t, sent_at=when, thread_id="m0" if n == 2 else None)
                                for n, t in enumerate(texts)])
    with container.sessions() as s:
        rows = s.execute(select(ArchivedMessage.message_id, ArchivedMessage.text, ArchivedMessage.thread_id,
                                ArchivedMessage.direct, ArchivedMessage.sent_at).order_by(ArchivedMessage.id)).all()
    assert [tuple(r) for r in rows] == [("m0", texts[0], None, False, when), ("m1", texts[1], None, False, when),
                                        ("m2", texts[2], "m0", False, when)]
    with container.sessions.begin() as s:
        for n in range(3):
            schedule_later(s, key=f"k{n}", kind="test", due_at=when, now=when, payload={"n": n, "名": ["a", None]})
        write_scheduled(s)
        assert insert_many_ignore(s, InboundEvent, [dict(platform="x", event_id="same", kind="k", received_at=when)] * 2,
                                  ("platform", "event_id")) == {("x", "same")}
    with container.sessions() as s:
        jobs = s.execute(select(ScheduledJob.key, ScheduledJob.payload, ScheduledJob.due_at, ScheduledJob.locked_until)
                         .where(ScheduledJob.kind == "test").order_by(ScheduledJob.key)).all()
    assert [tuple(j) for j in jobs] == [(f"k{n}", {"n": n, "名": ["a", None]}, when, None) for n in range(3)]


def test_a_batch_larger_than_one_statement_keeps_every_answer(container):
    """SQLite writes a batch in statements of SQLITE_ROWS rows, PostgreSQL reads the senders' accounts in
    the statement that de-duplicates: over two statements' worth of events, with repeats, first-sight
    senders and a sender whose display name changed, every answer is what one-by-one would give."""
    from core.db.upsert import SQLITE_ROWS

    ingest_many(container.ctx, [msg("warm", "m-warm", user="alice", display_name="Alice")])
    accounts = count(container, Account)
    n = 2 * SQLITE_ROWS + 5
    events = [msg(f"e{i}", f"m{i}", f"message {i}", user=f"user{i % 7}") for i in range(n)]
    events[10] = msg("e3", "m3")                                   # a redelivery inside the batch
    events[20] = msg("e20", "m-warm", "again")                     # an archived message under a new event id
    events[30] = msg("e30", "m30", user="alice", display_name="Alice Chen")    # a new display name
    firsts = ingest_many(container.ctx, events)
    assert firsts == [i != 10 for i in range(n)]
    assert count(container, InboundEvent) == n                     # n - 1 new, plus the warm-up
    assert count(container, ArchivedMessage) == n - 1              # e3 repeated, e20 archived before
    with container.sessions() as s:
        assert s.scalar(select(Account.display_name).where(Account.user_id == "alice")) == "Alice Chen"
        assert s.scalar(select(func.count()).select_from(Account)) == accounts + 7    # user0 .. user6
        person = dict(s.execute(select(Account.user_id, Account.person_id)).all())
        rows = s.execute(select(ArchivedMessage.message_id, ArchivedMessage.person_id)).all()
    assert all(person_id == person[f"user{int(m[1:]) % 7}"] for m, person_id in rows
               if m not in ("m-warm", "m30"))
    assert dict(rows)["m30"] == person["alice"]
    assert ingest_many(container.ctx, events[:3]) == [False, False, False]


def test_a_command_in_a_group_is_parsed_once(container):
    """The moderation asks whether an addressed group message is a report it must not flag, then the runner
    runs it: the same words are parsed once (a second parse is a lookup of the grammar's last few)."""
    grammar = container.ctx.features.grammar
    before = grammar._recent.cache_info()
    ingest_many(container.ctx, [msg("e1", "m1", "rules", addressed=True)])
    after = grammar._recent.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    assert count(container, AuditEntry, AuditEntry.action == "command.refused") == 0
