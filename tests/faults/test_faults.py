"""Fault injection on the production topology (tests/faults/cluster.py): processes killed with SIGKILL mid-burst,
PostgreSQL and Redis gone for 20 s, the platform answering 429 and 5xx for 60 s.

For each fault: every acknowledged event has its effect exactly once (its inbound row, its archived
message, its answer queued once), and every delivery arrives. Slack's chat.postMessage has no idempotency
key, so a worker killed between the platform's answer and the outbox commit may post twice: such
duplicates are counted and reported, never hidden. The figures are printed (`-s`, or the end of the run).

Needs STEWARD_TEST_POSTGRES_URL and STEWARD_TEST_REDIS_URL (skipped without them; a failure in CI, where
STEWARD_TEST_REQUIRE_SERVICES=1). Works in a database of its own, created on that server and dropped after.
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from core.db.models import ArchivedMessage, InboundEvent, OutboxItem
from core.db.session import make_engine
from tests.faults.cluster import (
    CONFIG,
    FIGURES,
    SIGNING_SECRET,
    FlakySlack,
    Sender,
    SendResult,
    TcpProxy,
    Web,
    Worker,
    make_events,
    run_steward,
)

# One drill for the module: under `pytest -n N` (with addopts' --dist loadgroup) every test here runs in
# the same process, so the metrics test sees the traffic the others sent.
pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.xdist_group("faults")]

PG_URL = os.environ.get("STEWARD_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("STEWARD_TEST_REDIS_URL")
REQUIRE = os.environ.get("STEWARD_TEST_REQUIRE_SERVICES") == "1"
LEASE = 10          # STEWARD_LEASE_SECONDS: a killed worker's rows go to the others after this long
OUTAGE = 20         # seconds PostgreSQL and Redis are away
PLATFORM_OUTAGE = 60


def _services() -> tuple[str, str]:
    missing = [n for n, v in (("STEWARD_TEST_POSTGRES_URL", PG_URL), ("STEWARD_TEST_REDIS_URL", REDIS_URL)) if not v]
    if missing:
        if REQUIRE:
            pytest.fail(f"the fault suite needs {', '.join(missing)} in CI")
        pytest.skip(f"the fault suite needs {', '.join(missing)}")
    try:
        import redis
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        if REQUIRE:
            pytest.fail(f"PostgreSQL or Redis unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL or Redis unreachable: {exc}")
    return PG_URL, REDIS_URL


def _own_database(url: str):
    """A database of the suite's own on the given server (a schema of its own if it may not create one)."""
    name = f"steward_faults_{uuid.uuid4().hex[:10]}"
    base = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        own = base.set(database=name)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        return own, drop
    except Exception:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        own = base.update_query_dict({"options": f"-csearch_path={name}"})

        def drop_schema() -> None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
            admin.dispose()
        return own, drop_schema


def _through(url_string: str, port: int) -> str:
    parts = urlsplit(url_string)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@dataclass
class Drill:
    engine: object           # straight to the suite's database (never through the proxy)
    slack: FlakySlack
    pg: TcpProxy
    redis: TcpProxy
    webs: list[Web]
    workers: list[Worker]
    sender: Sender


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    pg_url, redis_url = _services()
    tmp = tmp_path_factory.mktemp("faults")
    own, drop = _own_database(pg_url)
    own_string = own.render_as_string(hide_password=False)
    pg_target = make_url(own_string)
    pg = TcpProxy(pg_target.host or "127.0.0.1", pg_target.port or 5432)
    redis_parts = urlsplit(redis_url)
    rproxy = TcpProxy(redis_parts.hostname or "127.0.0.1", redis_parts.port or 6379)
    slack = FlakySlack().start()
    (tmp / "steward.yaml").write_text(CONFIG, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "DATABASE_URL", "SLACK_", "WECOM_",
                                                                     "DINGTALK_", "PROMETHEUS_"))}
    env.update(slack.env(signing_secret=SIGNING_SECRET, admin=False))
    env.update({"DATABASE_URL": _through(own_string, pg.port), "STEWARD_REDIS_URL": _through(redis_url, rproxy.port),
                "STEWARD_CONFIG": str(tmp / "steward.yaml"), "STEWARD_FILES_DIR": str(tmp / "files"),
                "STEWARD_LOG_LEVEL": "WARNING", "STEWARD_LEASE_SECONDS": str(LEASE)})
    engine = make_engine(own_string)
    webs: list[Web] = []
    workers: list[Worker] = []
    try:
        # every node runs the migration on start, at once (compose: the `migrate` service and each node)
        upgrades = [run_steward(["db", "upgrade"], env, tmp) for _ in range(2)]
        outs = [(p.wait(timeout=120), p.stdout.read().decode()) for p in upgrades]
        assert all(code == 0 for code, _ in outs), outs
        webs = [Web(f"web{i}", env, tmp) for i in (1, 2)]
        for web in webs:
            web.start()
        for web in webs:
            web.wait_ready()
        workers = [Worker(f"worker{i}", {**env, "STEWARD_WORKER_ID": f"worker{i}"}, tmp).start() for i in (1, 2)]
        yield Drill(engine, slack, pg, rproxy, webs, workers, Sender([w.port for w in webs]))
    finally:
        for p in [*webs, *workers]:
            p.terminate()
        for p in [*webs, *workers]:
            p.stop()
        for name in ("web1", "web2", "worker1", "worker2"):
            log = tmp / f"{name}.log"
            if log.exists():
                errors = [line for line in log.read_text("utf-8", "replace").splitlines() if " ERROR " in line]
                FIGURES.append(f"  {name}: {len(errors)} ERROR line(s) logged" + (f", first: {errors[0][:160]}"
                                                                                 if errors else ""))
        engine.dispose()
        slack.stop()
        pg.close()
        rproxy.close()
        drop()


# --- checking ------------------------------------------------------------------------------------

def settle(drill: Drill, sent, result: SendResult, timeout: float) -> None:
    """Wait until every acknowledged direct message's answer is no longer pending."""
    keys = [f"reply:slack:{s.event_id}:1" for s in sent if s.direct and s.event_id in result.acknowledged]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with drill.engine.connect() as conn:
            done = conn.execute(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.idempotency_key.in_(keys), OutboxItem.status != "pending")).scalar()
        if done == len(keys):
            return
        time.sleep(0.5)


def verify(drill: Drill, name: str, sent, result: SendResult, started: float) -> dict:
    ids = [s.event_id for s in sent]
    with drill.engine.connect() as conn:
        inbound = dict(conn.execute(select(InboundEvent.event_id, func.count()).where(
            InboundEvent.platform == "slack", InboundEvent.event_id.in_(ids)).group_by(InboundEvent.event_id)).all())
        archived = dict(conn.execute(select(ArchivedMessage.message_id, func.count()).where(
            ArchivedMessage.platform == "slack", ArchivedMessage.message_id.in_([s.ts for s in sent])).group_by(
            ArchivedMessage.message_id)).all())
        tag = sent[0].event_id[2:4]
        outbox = {k: (status, attempts) for k, status, attempts in conn.execute(select(
            OutboxItem.idempotency_key, OutboxItem.status, OutboxItem.attempts).where(
            OutboxItem.idempotency_key.like(f"reply:slack:Ev{tag}%")))}
    acked = [s for s in sent if s.event_id in result.acknowledged]
    lost = [s.event_id for s in acked if inbound.get(s.event_id, 0) != 1 or archived.get(s.ts, 0) != 1]
    doubled = [s.event_id for s in sent if inbound.get(s.event_id, 0) > 1 or archived.get(s.ts, 0) > 1]
    expected = [s for s in acked if s.direct]
    unanswered_dm = [s.event_id for s in expected if f"reply:slack:{s.event_id}:1" not in outbox]
    posts = {s.event_id: drill.slack.posts_to(s.channel) for s in expected}
    undelivered = [e for e, n in posts.items() if n == 0]
    duplicates = sum(n - 1 for n in posts.values() if n > 1)
    extra_replies = [k for k in outbox if not k.endswith(":1")]
    stored_unacked = [s.event_id for s in sent if s.event_id not in result.acknowledged and inbound.get(s.event_id)]
    figures = {
        "sent": len(sent), "acknowledged": len(acked), "gave up": len(result.unanswered),
        "stored but unacknowledged": len(stored_unacked), "lost": len(lost), "doubled inbound": len(doubled),
        "deliveries expected": len(expected), "delivered": len(expected) - len(undelivered),
        "duplicate deliveries": duplicates, "not queued": len(unanswered_dm), "extra replies": len(extra_replies),
        "platform retries": result.retries, "answers": dict(sorted(result.answers.items())),
        "delivery attempts": sum(a for _, a in outbox.values()),
        "outbox": {st: sum(1 for s, _ in outbox.values() if s == st) for st in {s for s, _ in outbox.values()}},
        "seconds": round(time.monotonic() - started, 1),
    }
    FIGURES.append(f"  {name:<22} " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    print(FIGURES[-1])
    assert not lost, f"{name}: acknowledged events without their effect: {lost[:10]}"
    assert not doubled, f"{name}: events with a doubled effect: {doubled[:10]}"
    assert not unanswered_dm and not extra_replies, (unanswered_dm[:10], extra_replies[:10])
    assert not undelivered, f"{name}: deliveries that never arrived: {undelivered[:10]}"
    assert len(result.unanswered) == 0, f"{name}: the platform gave up on {len(result.unanswered)} events"
    return figures


def burst_with(drill: Drill, tag: str, count: int, fault, settle_for: float = 60.0, pace: float = 0.01) -> tuple:
    """Send `count` events; `fault(result)` runs alongside (in this thread) while they go."""
    import threading

    events = make_events(tag, count)
    sent = [s for s, _ in events]
    result = SendResult()
    started = time.monotonic()
    sending = threading.Thread(target=drill.sender.send, args=(events, result, pace), daemon=True)
    sending.start()
    fault(result)
    sending.join(timeout=300)
    assert not sending.is_alive(), "the sender did not finish"
    settle(drill, sent, result, settle_for)
    return sent, result, started


def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


# --- the faults ----------------------------------------------------------------------------------

def test_kill9_a_web_process_mid_burst(drill):
    web = drill.webs[0]

    def fault(result: SendResult) -> None:
        wait_for(lambda: len(result.acknowledged) >= 80, 60)
        web.kill9()                      # the node is gone: its processes, its connections
        time.sleep(2)
        web.start()                      # the orchestrator starts it again
        web.wait_ready()

    sent, result, started = burst_with(drill, "W1", 300, fault)
    figures = verify(drill, "kill -9 web", sent, result, started)
    assert figures["acknowledged"] == 300


def test_kill9_a_worker_mid_delivery(drill):
    worker = drill.workers[0]
    drill.slack.delay = 0.05            # deliveries take a moment: the kill lands in the middle of some

    def fault(result: SendResult) -> None:
        def delivered() -> int:
            with drill.engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(OutboxItem).where(
                    OutboxItem.idempotency_key.like("reply:slack:EvK1%"), OutboxItem.status == "done")).scalar()
        wait_for(lambda: delivered() >= 10, 60)
        worker.kill9()
        time.sleep(1)
        worker.start()                   # same STEWARD_WORKER_ID; the dead one's leases expire after LEASE s

    try:
        sent, result, started = burst_with(drill, "K1", 240, fault, settle_for=LEASE + 60)
    finally:
        drill.slack.delay = 0.0
    verify(drill, "kill -9 worker", sent, result, started)


def test_database_away_for_20_seconds(drill):
    def fault(result: SendResult) -> None:
        wait_for(lambda: len(result.acknowledged) >= 40, 60)
        drill.pg.cut()
        time.sleep(OUTAGE)
        drill.pg.restore()

    sent, result, started = burst_with(drill, "D1", 300, fault, pace=0.08, settle_for=90)
    figures = verify(drill, "database away 20 s", sent, result, started)
    assert figures["platform retries"] > 0, "the outage was not felt: the fault did not happen"
    status, _ = drill.webs[0].get("/readyz")
    assert status == 200


def test_redis_away_for_20_seconds(drill):
    def fault(result: SendResult) -> None:
        wait_for(lambda: len(result.acknowledged) >= 40, 60)
        drill.redis.cut()
        time.sleep(OUTAGE)
        drill.redis.restore()

    sent, result, started = burst_with(drill, "R1", 300, fault, pace=0.08, settle_for=90)
    verify(drill, "Redis away 20 s", sent, result, started)


def test_platform_answers_5xx_then_429_for_60_seconds(drill):
    half = PLATFORM_OUTAGE / 2

    def fault(result: SendResult) -> None:
        drill.slack.outage = (time.monotonic() + half, 503, None)    # the API fails outright
        time.sleep(half)
        drill.slack.outage = (time.monotonic() + half, 429, 3.0)     # then throttles: Retry-After 3
        time.sleep(half)
        drill.slack.outage = None

    refused_before = dict(drill.slack.refused)
    sent, result, started = burst_with(drill, "P1", 120, fault, pace=0.05, settle_for=90)
    figures = verify(drill, "platform 429/5xx 60 s", sent, result, started)
    refused = {k: v - refused_before.get(k, 0) for k, v in drill.slack.refused.items()}
    FIGURES.append(f"  {'':<22} platform refused: 429 × {refused[429]}, 503 × {refused[503]}")
    assert refused[429] > 0 and refused[503] > 0
    assert figures["outbox"].get("dead", 0) == 0


def test_metrics_saw_it_all(drill):
    """/metrics of either web process sums both of its gunicorn processes; the worker counts are its own."""
    from tests.e2e.test_observability import sample

    def pending() -> int:
        with drill.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.status == "pending")).scalar()

    before = pending()      # rows still retrying (e.g. welcomes that met the platform's outage) move meanwhile
    status, body = drill.webs[1].get("/metrics")
    after = pending()
    assert status == 200
    exposition = body.decode()
    assert sample(exposition, "steward_events_received_total", messenger="slack", type="MessagePosted") > 0
    assert min(before, after) <= sample(exposition, "steward_outbox_depth", status="pending") <= max(before, after)
    assert sample(exposition, "steward_database_up") == 1
    import http.client
    delivered = 0.0
    for worker in drill.workers:
        conn = http.client.HTTPConnection("127.0.0.1", worker.metrics_port, timeout=10)
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        assert response.status == 200
        delivered += sample(response.read().decode(), "steward_deliveries_total", messenger="slack",
                            outcome="delivered")
        conn.close()
    assert delivered > 0
    FIGURES.append(f"  {'':<22} /metrics: events received "
                   f"{sample(exposition, 'steward_events_received_total', messenger='slack', type='MessagePosted'):g} "
                   f"(web2's two processes), deliveries by the workers since their last start {delivered:g}")
