"""The delivery worker loop: `steward worker` runs it alone, `steward serve` embeds it in a thread."""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from core.kernel import audit_anchor
from core.kernel.dead_events import set_aside
from core.kernel.inbound import ingest, ingest_many
from core.kernel.jobs import KERNEL_JOBS
from core.kernel.message_jobs import run_message_jobs
from core.kernel.scheduler import JobHandler, run_due
from steward import reconcile_run
from steward.spool import ADOPT_EVERY_S, adopt_orphans

log = logging.getLogger("steward.worker")

def handlers_for(container) -> dict[str, JobHandler]:
    """The features' scheduled jobs plus those that call platforms through this container's connectors."""
    return {**KERNEL_JOBS, **container.ctx.features.jobs, reconcile_run.JOB: reconcile_run.job(container),
            reconcile_run.DISCOVER_JOB: reconcile_run.job(container, discovery=True),
            audit_anchor.JOB: audit_anchor.anchor}


def run_jobs(ctx, handlers: dict[str, JobHandler]) -> int:
    """The jobs on messages first (they are due as soon as stored), then the scheduler's due jobs."""
    return run_message_jobs(ctx, handlers) + run_due(ctx, handlers)


def run_worker(container, stop: threading.Event, idle_seconds: float = 0.5) -> None:
    deliverer = container.deliverer()
    handlers = handlers_for(container)
    reconcile_run.ensure_scheduled(container)     # R7.1.1: a reconciliation per period (membership settings)
    audit_anchor.ensure_scheduled(container.ctx)  # the audit log's head to the admins (audit.anchor_every_hours)
    log.info("worker %s started", deliverer.worker_id)
    next_adopt = 0.0
    while not stop.is_set():
        try:
            if container.settings.spool_dir and time.monotonic() >= next_adopt:
                adopt_spooled(container, stop)   # events a web process accepted before it died
                next_adopt = time.monotonic() + ADOPT_EVERY_S
            busy = deliverer.run_once() + run_jobs(container.ctx, handlers)
        except SQLAlchemyError as exc:   # database away: wait and try again, nothing is lost
            log.error("worker cannot reach the database: %s", type(exc).__name__)
            stop.wait(5)
            continue
        if not busy:
            stop.wait(idle_seconds)
    log.info("worker %s stopped", deliverer.worker_id)


def adopt_spooled(container, stop: threading.Event | None = None) -> int:
    ctx = container.ctx
    return adopt_orphans(container.settings.spool_dir, lambda events: ingest_many(ctx, events),
                         lambda event: ingest(ctx, event), stop=stop,
                         set_aside=lambda event, exc, attempts: set_aside(ctx, event, exc, attempts))


def start_embedded(container) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(container, stop), name="steward-worker", daemon=True)
    thread.start()
    return thread, stop


def drain(container, rounds: int = 20) -> int:
    """Deliver everything due now (the sandbox shell and tests); returns items attempted."""
    if container.spool is not None:
        container.spool.wait_empty()      # what the webhooks accepted is stored first
    deliverer = container.deliverer("drain")
    handlers, total = handlers_for(container), 0
    for _ in range(rounds):
        n = deliverer.run_once() + run_jobs(container.ctx, handlers)
        total += n
        if not n:
            break
    return total
