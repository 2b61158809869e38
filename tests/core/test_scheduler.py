"""Scheduled work is stored in the database, runs once when due, and survives failures."""
from datetime import timedelta

from sqlalchemy import select

from core.db.models import ScheduledJob
from core.kernel.scheduler import run_due, schedule


def test_job_runs_once_when_due(container, clock):
    ran = []
    with container.sessions.begin() as s:
        schedule(s, key="remind:1", kind="remind", due_at=clock.now() + timedelta(hours=1), now=clock.now(),
                 payload={"who": "bob"})
        schedule(s, key="remind:1", kind="remind", due_at=clock.now(), now=clock.now())  # same key: kept once
    handlers = {"remind": lambda ctx, s, payload: ran.append(payload["who"])}
    assert run_due(container.ctx, handlers) == 0
    clock.advance(hours=1)
    assert run_due(container.ctx, handlers) == 1
    assert run_due(container.ctx, handlers) == 0
    assert ran == ["bob"]


def test_failing_job_is_retried_then_marked_failed(container, clock):
    with container.sessions.begin() as s:
        schedule(s, key="x", kind="boom", due_at=clock.now(), now=clock.now())

    def boom(ctx, s, payload):
        raise ValueError("nope")

    for _ in range(3):
        run_due(container.ctx, {"boom": boom}, max_attempts=3)
        clock.advance(hours=1)
    with container.sessions() as s:
        job = s.scalar(select(ScheduledJob).where(ScheduledJob.key == "x"))
        assert (job.status, job.attempts) == ("failed", 3) and "nope" in job.last_error
