"""Jobs written on archived messages (core/kernel/message_jobs.py): run once, in the order the messages arrived
whichever path stored them, and handed to the scheduler when they fail."""
from __future__ import annotations

import threading

import orjson
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from core.db.models import ArchivedMessage, ScheduledJob
from core.kernel.inbound import ingest_many
from core.kernel.message_jobs import run_message_jobs
from core.kernel.scheduler import run_due
from core.training.models import Question
from steward.worker import drain
from tests.core.test_ingest_batch import count, msg
from tests.core.test_plain_ingest import known

WATCH = "training.watch_message"


def jobs_on_messages(container) -> list[tuple[str, str]]:
    with container.sessions() as s:
        rows = s.execute(select(ArchivedMessage.message_id, ArchivedMessage.job)
                         .where(ArchivedMessage.job.is_not(None)).order_by(ArchivedMessage.id)).all()
    return [(m, orjson.loads(job)["kind"]) for m, job in rows]


def recorder(calls: list, fail_on: str | None = None):
    def handler(ctx, s, payload):
        calls.append(payload["message"])
        if payload["message"] == fail_on:
            raise RuntimeError("the handler failed")
    return handler


def test_a_question_from_a_known_sender_is_written_on_its_message(container):
    paths = known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "作业什么时候交？"), msg("e2", "m2", "thanks")])
    assert paths.taken == {"plain": 1}
    assert jobs_on_messages(container) == [("m1", WATCH)]
    assert count(container, ScheduledJob, ScheduledJob.kind == WATCH) == 0
    drain(container)
    assert jobs_on_messages(container) == []
    assert count(container, Question) == 1
    assert run_message_jobs(container.ctx, {WATCH: recorder([])}) == 0     # run once


def test_jobs_run_in_the_order_the_messages_arrived_whichever_path_stored_them(container):
    """carol's first message takes the full transaction (her account is new), the rest the plain path: one
    queue, the archive's order. An answer in the thread a moment after its question still finds it."""
    paths = known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "报告怎么交？", user="carol")])
    ingest_many(container.ctx, [msg("e2", "m2", "我也想知道？", thread_id="m1")])
    ingest_many(container.ctx, [msg("e3", "m3", "在门户网站上传", user="ian", thread_id="m1")])
    assert paths.taken == {"transaction": 2, "plain": 1}       # ian and carol are new senders
    assert [m for m, _ in jobs_on_messages(container)] == ["m1", "m2", "m3"]
    calls: list = []
    assert run_message_jobs(container.ctx, {WATCH: recorder(calls)}) == 3
    assert calls == ["m1", "m2", "m3"]


def test_the_answer_in_the_thread_finds_its_question_across_paths(container):
    known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "报告怎么交？", user="carol")])          # full transaction
    ingest_many(container.ctx, [msg("e2", "m2", "在门户网站上传", user="ian", thread_id="m1")])
    ingest_many(container.ctx, [msg("e3", "m3", "谢谢", user="ian", thread_id="m1")])    # plain now
    drain(container)
    with container.sessions() as s:
        assert s.execute(select(Question.message_id, Question.status)).all() == [("m1", "answered")]


def test_a_failing_job_is_handed_to_the_scheduler_and_the_others_run(container, clock):
    known(container)
    ingest_many(container.ctx, [msg(f"e{n}", f"m{n}", f"第{n}个问题？") for n in range(1, 4)])
    calls: list = []
    assert run_message_jobs(container.ctx, {WATCH: recorder(calls, fail_on="m2")}) == 3
    assert calls == ["m1", "m2", "m3"] and jobs_on_messages(container) == []
    with container.sessions() as s:
        job = s.scalars(select(ScheduledJob).where(ScheduledJob.kind == WATCH)).one()
    assert (job.payload["message"], job.attempts, job.status) == ("m2", 1, "pending")
    assert job.last_error == "RuntimeError: the handler failed" and job.due_at > clock.now()
    assert count(container, Question) == 0     # nothing the failed handler did was kept
    clock.advance(minutes=5)
    assert run_due(container.ctx, {WATCH: recorder(calls)}) == 1
    assert calls[-1] == "m2"


def test_a_job_without_a_handler_is_handed_to_the_scheduler(container):
    known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "作业什么时候交？")])
    assert run_message_jobs(container.ctx, {}) == 1
    with container.sessions() as s:
        assert s.scalar(select(ScheduledJob.last_error).where(ScheduledJob.kind == WATCH)).startswith("LookupError")


def test_while_the_database_is_away_the_job_stays_on_its_message(container):
    known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "作业什么时候交？")])

    def away(ctx, s, payload):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    with pytest.raises(OperationalError):
        run_message_jobs(container.ctx, {WATCH: away})
    assert jobs_on_messages(container) == [("m1", WATCH)]
    assert count(container, ScheduledJob, ScheduledJob.kind == WATCH) == 0


def test_an_edit_keeps_the_pending_job_and_is_not_asked_twice(container):
    """The edit before the first version's job ran: that job stands (one question). After it ran: watched
    again, and the question it tracked is not tracked a second time."""
    known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "作业什么时候交？")])
    ingest_many(container.ctx, [msg("e2", "m1", "作业什么时候交？周五吗？", edited=True)])
    assert jobs_on_messages(container) == [("m1", WATCH)]
    drain(container)
    ingest_many(container.ctx, [msg("e3", "m1", "作业什么时候交？周五还是周六？", edited=True)])
    drain(container)
    with container.sessions() as s:
        assert s.scalars(select(Question.text)).all() == ["作业什么时候交？"]


def test_a_decision_that_writes_keeps_the_jobs_of_its_batch(container):
    """A command in the batch begins the session's transaction (the rows are written then); the question
    after it is set on its row by an UPDATE in the same transaction."""
    paths = known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "@steward help", addressed=True), msg("e2", "m2", "报告怎么交？"),
                                msg("e3", "m3", "在哪里看课表？", user="bob")])
    assert paths.taken == {"session": 1}
    assert jobs_on_messages(container) == [("m2", WATCH), ("m3", WATCH)]


def test_two_workers_run_each_job_once(container):
    """PostgreSQL: a row another worker holds is skipped (FOR UPDATE SKIP LOCKED); SQLite: one writer at a time."""
    known(container)
    ingest_many(container.ctx, [msg(f"e{n}", f"m{n}", f"第{n}个问题？") for n in range(12)])
    calls: list = []
    lock, start = threading.Lock(), threading.Barrier(2)

    def handler(ctx, s, payload):
        with lock:
            calls.append(payload["message"])

    def worker():
        start.wait()
        while run_message_jobs(container.ctx, {WATCH: handler}, limit=3):
            pass

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(calls) == sorted(f"m{n}" for n in range(12))
    assert jobs_on_messages(container) == []


def test_a_job_already_taken_is_not_run_again(container):
    known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "作业什么时候交？")])
    with container.sessions.begin() as s:
        s.execute(update(ArchivedMessage).values(job=None))    # another worker ran it meanwhile
    assert run_message_jobs(container.ctx, {WATCH: recorder([])}) == 0



def test_the_worker_finds_pending_jobs_through_the_partial_index(tmp_path):
    """SQLite's plan for the worker's query reads ix_messages_job (only the pending messages), not the archive."""
    from sqlalchemy import text
    from sqlalchemy.dialects import sqlite

    from core.db.migrate import upgrade
    from core.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/plan.db")
    upgrade(engine)
    query = select(ArchivedMessage.id).where(ArchivedMessage.job.is_not(None)).order_by(ArchivedMessage.id).limit(50)
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = " | ".join(row[3] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
    engine.dispose()
    assert "ix_messages_job" in plan and "TEMP B-TREE" not in plan, plan


def test_a_batch_whose_rows_are_written_sets_its_jobs_in_one_statement(container):
    """A spool's batch of hundreds: a command early begins the transaction, so the questions after it find
    their rows written; their jobs are set by one UPDATE (executemany) as the batch commits, not one each."""
    from sqlalchemy import event

    paths = known(container)
    updates = []

    def count_updates(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE MESSAGES"):
            updates.append(executemany)

    engine = container.engine
    event.listen(engine, "before_cursor_execute", count_updates)
    try:
        ingest_many(container.ctx, [msg("e0", "m0", "@steward help", addressed=True)]
                    + [msg(f"e{n}", f"m{n}", f"第{n}个问题？") for n in range(1, 7)])
    finally:
        event.remove(engine, "before_cursor_execute", count_updates)
    assert paths.taken == {"session": 1}
    assert [m for m, _ in jobs_on_messages(container)] == [f"m{n}" for n in range(1, 7)]
    assert len(updates) == 1


@pytest.mark.parametrize("stored", ["{not json", '["a list"]', '{"kind": "training.watch_message"}'])
def test_a_job_that_cannot_be_read_is_recorded_and_the_others_run(container, stored):
    """A damaged job (hand-edited, a bug) is kept as a failed scheduled job with its text; it never stops the
    worker (which would die on it at every start) nor the jobs after it."""
    known(container)
    ingest_many(container.ctx, [msg(f"e{n}", f"m{n}", f"第{n}个问题？") for n in range(1, 4)])
    with container.sessions.begin() as s:
        s.execute(update(ArchivedMessage).where(ArchivedMessage.message_id == "m2").values(job=stored))
    calls: list = []
    assert run_message_jobs(container.ctx, {WATCH: recorder(calls)}) == 3
    assert calls == ["m1", "m3"] and jobs_on_messages(container) == []
    with container.sessions() as s:
        failed = s.scalars(select(ScheduledJob).where(ScheduledJob.kind == "unreadable")).one()
    assert (failed.status, failed.payload["raw"]) == ("failed", stored)


def test_a_job_for_a_message_outside_the_plain_batch_begins_its_transaction(container):
    """on_message's guard: a message that is not among the plain batch's rows cannot have its job written
    with them; the batch's transaction begins, and write_deferred sets it before the commit."""
    from core.kernel import message_jobs

    known(container)
    ingest_many(container.ctx, [msg("e1", "m1", "thanks")])
    with container.sessions() as s:
        s.info[message_jobs.UNWRITTEN] = []
        assert not s.in_transaction()
        message_jobs.on_message(s, msg("e1", "m1"), WATCH, {"message": "m1"})
        assert s.in_transaction()
        message_jobs.write_deferred(s)
        s.commit()
    assert jobs_on_messages(container) == [("m1", WATCH)]
