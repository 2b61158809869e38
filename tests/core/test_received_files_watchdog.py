"""A file whose last download never finished (its worker died mid-way) does not stay "pending" for ever:
the watchdog job after the last attempt marks it failed and tells the member (R5.2.1)."""
from __future__ import annotations

from sqlalchemy import select

from core.actions import action_from_dict
from core.db.models import OutboxItem, ScheduledJob
from core.events import FileRef, MessagePosted
from core.files.received import MAX_ATTEMPTS, _job_key
from core.kernel.files import ReceivedFile
from core.kernel.inbound import ingest
from core.kernel.scheduler import schedule
from steward.worker import drain


def test_the_watchdog_after_the_last_attempt_fails_a_fetch_that_never_finished(container, clock):
    ingest(container.ctx, MessagePosted(platform="sandbox", event_id="f1", chat_id="dm:alice", user_id="alice",
                                        message_id="m1", text="", kind="file", addressed=True, is_direct=True,
                                        files=(FileRef("h1", "report.pdf", 10),)))
    with container.sessions.begin() as s:      # as a dead worker leaves it: the last attempt taken, never done
        s.execute(ReceivedFile.__table__.update().values(attempts=MAX_ATTEMPTS))
        s.execute(ScheduledJob.__table__.update().where(ScheduledJob.key == _job_key("sandbox", "m1", 1))
                  .values(status="done"))
        schedule(s, key=_job_key("sandbox", "m1", MAX_ATTEMPTS + 1), kind="files.fetch", due_at=clock.now(),
                 now=clock.now(), payload={"platform": "sandbox", "message_id": "m1"})
    drain(container)
    with container.sessions() as s:
        row = s.scalar(select(ReceivedFile))
        assert (row.status, row.error) == ("failed", f"not fetched after {MAX_ATTEMPTS} attempts")
        texts = [action_from_dict(a).text for a in s.scalars(select(OutboxItem.action))]
    assert any("report.pdf" in t and "R5.2.1" in t for t in texts)
