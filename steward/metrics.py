"""Prometheus metrics, counted at the composition root (the core only sees the neutral `core.ports.Metrics`).

What is counted where:
- events received per messenger and type, and ingest latency: around `container.accept` (webhooks and
  streams hand every parsed event to it);
- verification failures and HTTP latency: the web layer (webhooks/observability.py), per request;
- deliveries by outcome and their latency: around each connector's `deliver`, as the worker calls it;
- rate-limit waits: around the connectors' rate limiter;
- detector hits: the moderation service, through `ctx.metrics`;
- events per group-commit transaction, and transactions rolled back: the group commit, per transaction;
- outbox depth and age, dead letters, events set aside, spool backlog: read from the database and the spool
  directory when `/metrics` is scraped (true for the whole cluster, whichever process answers).

Several processes: prometheus_client keeps each process's values in files under `PROMETHEUS_MULTIPROC_DIR`
and `/metrics` sums them. `steward serve` makes that directory itself (an empty temporary one per start)
unless the variable is set; plain gunicorn (`steward.wsgi:create()`) needs it set to an empty directory,
emptied at every start. The variable must be in the environment before prometheus_client is imported,
which is why it is imported here only when a metric is first used.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Callable

from core.errors import PermanentDeliveryError, RetryableDeliveryError, UnsupportedAction
from core.events import Event
from steward import logs

log = logging.getLogger("steward.delivery")
log_accept = logging.getLogger("steward.inbound")

_lock = threading.Lock()
_metrics: SimpleNamespace | None = None
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 16, 32, 64, 128, 256)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _remember_process_id() -> None:
    global _pid
    _pid = os.getpid()


_pid = os.getpid()
os.register_at_fork(after_in_child=_remember_process_id)     # a forked worker writes files of its own


def _process_id() -> int:
    """prometheus_client's process identifier in multiprocess mode: distinct in processes running at once, as
    it requires (a fork gets its own); it checks it on every value it writes."""
    return _pid


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def m() -> SimpleNamespace:
    """The metric objects, made on first use (after PROMETHEUS_MULTIPROC_DIR is settled)."""
    global _metrics
    if _metrics is not None:
        return _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import CollectorRegistry, Counter, Histogram, values

            # files under PROMETHEUS_MULTIPROC_DIR only if it was set when prometheus_client was imported
            shared = multiprocess() and values.ValueClass is not values.MutexValue
            if shared:     # the process's id as remembered (os.getpid() is a system call, on every inc)
                values.ValueClass = values.MultiProcessValue(process_identifier=_process_id)
            registry = None if shared else CollectorRegistry(auto_describe=True)
            kw = {"registry": registry}
            _metrics = SimpleNamespace(
                registry=registry, directory=os.environ.get("PROMETHEUS_MULTIPROC_DIR") if shared else None,
                events=Counter("steward_events_received_total", "Events received from the messengers",
                               ["messenger", "type"], **kw),
                ingest=Histogram("steward_ingest_seconds", "Time to accept one event (stored, or spooled)",
                                 ["messenger"], buckets=LATENCY_BUCKETS, **kw),
                ingest_errors=Counter("steward_ingest_errors_total", "Events whose acceptance failed (the "
                                      "platform is answered 5xx and retries)", ["messenger"], **kw),
                verify=Counter("steward_verification_failures_total", "Webhook requests refused by signature, "
                               "replay window or source checks", ["messenger", "status"], **kw),
                http=Histogram("steward_http_request_seconds", "Webhook and health request latency",
                               ["endpoint", "status"], buckets=LATENCY_BUCKETS, **kw),
                deliveries=Counter("steward_deliveries_total", "Delivery attempts by outcome: delivered, "
                                   "throttled (429, waits as told), retry (5xx, timeout), failed, unsupported, "
                                   "error", ["messenger", "outcome"], **kw),
                delivery_seconds=Histogram("steward_delivery_seconds", "Time of one delivery call",
                                           ["messenger"], buckets=LATENCY_BUCKETS, **kw),
                waits=Counter("steward_rate_limit_waits_total", "Calls held back by Steward's own pacing of a "
                              "platform's rate limits", ["messenger"], **kw),
                wait_seconds=Counter("steward_rate_limit_wait_seconds_total", "Seconds of those waits",
                                     ["messenger"], **kw),
                detector_hits=Counter("steward_detector_hits_total", "Moderation verdicts by detector",
                                      ["detector", "category"], **kw),
                ingest_batches=Counter("steward_ingest_batches_total", "Batches of events stored, by path: plain "
                                       "(one statement, its own transaction), session (a decision used the "
                                       "session), transaction (the full transaction), replayed (a plain batch "
                                       "whose rows were held already: a redelivery, or another process first; "
                                       "decided again in the full transaction)", ["path"],
                                       **kw),
                batch=Histogram("steward_group_commit_events", "Events per committed group-commit transaction "
                                "(under load requests share transactions; 1 when idle)", buckets=BATCH_BUCKETS, **kw),
                batch_failures=Counter("steward_group_commit_failed_total", "Group-commit transactions rolled "
                                       "back (a failing event's batch is split and committed again)", **kw),
            )
    return _metrics


class CoreMetrics:
    """core.ports.Metrics: what the core counts (detector hits, the paths batches of events take)."""

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        if name == "detector_hits":
            m().detector_hits.labels(labels.get("detector") or "-", labels.get("category") or "-").inc(amount)
        elif name == "ingest_batches":
            child(m().ingest_batches, labels["path"]).inc(amount)


def observe_batch(events: int | None) -> None:
    """One group-commit transaction: committed with `events` events, or (None) rolled back."""
    if events is None:
        m().batch_failures.inc()
    else:
        m().batch.observe(events)


def child(metric, *values: str):
    """`metric.labels(*values)`, remembered: prometheus_client's own lookup takes a lock and checks the
    values on every call, three times per webhook request. The label values are few (messengers, event
    types, endpoints, statuses)."""
    hit = _children.get((id(metric), values))
    if hit is None or hit[0] is not metric:
        hit = _children[(id(metric), values)] = (metric, metric.labels(*values))
    return hit[1]


_children: dict[tuple[int, tuple[str, ...]], tuple[object, object]] = {}


def instrument_accept(accept: Callable[[Event], object]) -> Callable[[Event], object]:
    """Count and time every event handed to the core, under its request id."""
    def counted(event: Event) -> object:
        metrics = m()
        child(metrics.events, event.platform, type(event).__name__).inc()
        rid = f"{event.platform}:{event.event_id}"
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            result = accept(event)
        except Exception:
            child(metrics.ingest_errors, event.platform).inc()
            raise
        finally:
            logs.request_id.reset(token)
        child(metrics.ingest, event.platform).observe(time.perf_counter() - started)
        if log_accept.isEnabledFor(logging.INFO):
            log_accept.info("accepted %s %s %s", event.platform, type(event).__name__, event.event_id,
                            extra={"request_id": rid})
        return result
    return counted


class CountingMessenger:
    """A connector as the Deliverer sees it (`deliver` only), counting each attempt's outcome."""

    def __init__(self, platform: str, messenger) -> None:
        self.platform, self.messenger = platform, messenger

    def deliver(self, action, idempotency_key: str) -> object:
        metrics = m()
        token = logs.request_id.set(logs.request_id_of_key(idempotency_key))
        started = time.perf_counter()
        outcome = "error"
        try:
            result = self.messenger.deliver(action, idempotency_key)
            outcome = "delivered"
            log.info("delivered %s %s (%s)", self.platform, action.kind, idempotency_key)
            return result
        except RetryableDeliveryError as exc:
            outcome = "throttled" if exc.retry_after is not None else "retry"
            log.info("delivery %s of %s will be retried: %s", idempotency_key, self.platform, outcome)
            raise
        except UnsupportedAction:
            outcome = "unsupported"
            raise
        except PermanentDeliveryError:
            outcome = "failed"
            raise
        finally:
            metrics.deliveries.labels(self.platform, outcome).inc()
            metrics.delivery_seconds.labels(self.platform).observe(time.perf_counter() - started)
            logs.request_id.reset(token)


class CountingRateLimiter:
    """core.ports.RateLimiter that counts the waits it hands out (by messenger: the key's first part)."""

    def __init__(self, limiter) -> None:
        self.limiter = limiter

    def acquire(self, key: str, rate: str) -> float:
        wait = self.limiter.acquire(key, rate)
        if wait > 0:
            messenger = key.split(":", 1)[0] if ":" in key else "-"
            m().waits.labels(messenger).inc()
            m().wait_seconds.labels(messenger).inc(wait)
        return wait


# --- read when scraped -----------------------------------------------------------------------------

class StateCollector:
    """Outbox depth and age, dead letters and the spool, read from where they live when /metrics is asked."""

    def __init__(self, container) -> None:
        self.container = container

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, select

        from core.db.models import ArchivedMessage, OutboxItem, ScheduledJob

        depth = GaugeMetricFamily("steward_outbox_depth", "Outbox rows by status (pending: waiting for "
                                  "delivery; dead and failed: given up, the admins were told)", labels=["status"])
        due = GaugeMetricFamily("steward_outbox_due", "Pending outbox rows due now")
        age = GaugeMetricFamily("steward_outbox_oldest_pending_seconds", "Age of the oldest pending outbox row")
        jobs_due = GaugeMetricFamily("steward_jobs_due", "Work the worker should be doing now: jobs on archived "
                                     "messages (queue=messages: the question watch) and scheduled jobs due "
                                     "(queue=scheduled: reminders, deadlines, retries)", labels=["queue"])
        jobs_age = GaugeMetricFamily("steward_jobs_oldest_due_seconds", "How long the oldest scheduled job due "
                                     "has waited (0 when none is due)")
        jobs_failed = GaugeMetricFamily("steward_jobs_failed", "Scheduled jobs given up (their attempts spent, or "
                                        "a job on a message that could not be read)")
        up = GaugeMetricFamily("steward_database_up", "1 when the database answered this scrape")
        container = self.container
        now = container.clock.now()
        try:
            with container.sessions() as s:
                rows = s.execute(select(OutboxItem.status, func.count()).where(
                    OutboxItem.status.in_(("pending", "dead", "failed"))).group_by(OutboxItem.status)).all()
                counts = {status: n for status, n in rows}
                due_now = s.scalar(select(func.count()).where(OutboxItem.status == "pending",
                                                               OutboxItem.next_attempt_at <= now))
                oldest = s.scalar(select(func.min(OutboxItem.created_at)).where(OutboxItem.status == "pending"))
                # a message's job is due once the message is archived; only pending ones are in the partial index.
                # Its age is not known: a message's time is the platform's, and an edit's job sits on the row of
                # the first version, which may be days old
                on_messages = s.scalar(select(func.count()).where(ArchivedMessage.job.is_not(None)))
                scheduled, first_scheduled = s.execute(select(func.count(), func.min(ScheduledJob.due_at)).where(
                    ScheduledJob.status == "pending", ScheduledJob.due_at <= now)).one()
                failed_jobs = s.scalar(select(func.count()).where(ScheduledJob.status == "failed"))
            jobs_due.add_metric(["messages"], on_messages)
            jobs_due.add_metric(["scheduled"], scheduled)
            jobs_age.add_metric([], _age(now, first_scheduled) if first_scheduled is not None else 0.0)
            jobs_failed.add_metric([], failed_jobs or 0)
            for status in ("pending", "dead", "failed"):
                depth.add_metric([status], counts.get(status, 0))
            due.add_metric([], due_now or 0)
            age.add_metric([], _age(now, oldest) if oldest is not None else 0.0)
            up.add_metric([], 1)
            yield from (depth, due, age, jobs_due, jobs_age, jobs_failed)
        except Exception as exc:   # the database is away: say so, never fail the scrape
            logging.getLogger("steward.metrics").warning("metrics: database unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
        yield up
        spool_dir = container.settings.spool_dir
        if spool_dir:
            try:
                from steward import spool
                state = spool.status(spool_dir)
            except Exception:
                return
            pending = GaugeMetricFamily("steward_spool_pending_bytes", "Spooled bytes not yet committed, "
                                        "all spool files on this host")
            pending.add_metric([], sum(f.get("pending_bytes", 0) for f in state.get("files", [])))
            aside = GaugeMetricFamily("steward_events_set_aside", "Events set aside after failing repeatedly "
                                      "(`steward spool status`, `steward spool replay-dead`)")
            aside.add_metric([], state.get("dead_letters", 0))
            yield pending
            yield aside


def _age(now: datetime, then: datetime) -> float:
    """Seconds from `then` (naive: UTC, as SQLite returns it) to `now`, never negative."""
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    return max(0.0, (now - then).total_seconds())


def exposition(container) -> tuple[bytes, str]:
    """The text exposition: this process's (or, under gunicorn, every process's) metrics and the state."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    metrics = m()
    registry = CollectorRegistry(auto_describe=False)
    if metrics.registry is None:      # counted in files: sum every process's
        from prometheus_client import multiprocess as mp
        mp.MultiProcessCollector(registry, path=metrics.directory)
    else:
        registry.register(_Forward(metrics.registry))
    registry.register(StateCollector(container))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward:
    def __init__(self, registry) -> None:
        self.registry = registry

    def describe(self):
        return []

    def collect(self):
        return self.registry.collect()


def process_dead(pid: int) -> None:
    """gunicorn's child_exit: a web process is gone (its counters stay summed, its live gauges go)."""
    if multiprocess():
        from prometheus_client import multiprocess as mp
        mp.mark_process_dead(pid)


def prepare_multiprocess_dir() -> tuple[str, bool]:
    """For `steward serve`, before gunicorn forks: PROMETHEUS_MULTIPROC_DIR, emptied of a previous run's
    values, or made (a fresh temporary directory; True: the caller removes it when the server ends)."""
    import glob
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="steward-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        return path, True
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):   # values of a previous run
        os.remove(stale)
    return path, False
