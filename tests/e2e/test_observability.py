"""/metrics, /readyz, request ids and JSON logs: what the load balancer, the monitoring and the log collector see."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from steward import logs
from steward.worker import drain
from tests.conftest import SANDBOX_CONFIG, build_container
from tests.e2e.test_sandbox_ladder import LOCAL, say
from tests.e2e.test_serve import _free_port, _get
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)
from webhooks import create_app

REMOTE = {"REMOTE_ADDR": "203.0.113.7"}


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def scrape(client, **kw) -> str:
    r = client.get("/metrics", environ_base=LOCAL, **kw)
    assert r.status_code == 200, r.data
    assert r.content_type.startswith("text/plain")
    return r.get_data(as_text=True)


def test_metrics_count_events_detector_hits_deliveries_and_the_outbox(client, container):
    before = scrape(client)
    say(client, container, "bob", "加 我 微 信 zhang_888，课程资料免费送")    # an ad: a warning, delivered
    say(client, container, "alice", "The session moves to room 3B at 2pm")
    after = scrape(client)

    def grew(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("steward_events_received_total", messenger="sandbox", type="MessagePosted") == 2
    assert grew("steward_ingest_seconds_count", messenger="sandbox") == 2
    assert grew("steward_detector_hits_total", category="ads") >= 1
    assert grew("steward_deliveries_total", messenger="sandbox", outcome="delivered") >= 2   # group post + private
    assert sample(after, "steward_outbox_depth", status="pending") == 0       # all delivered
    assert sample(after, "steward_database_up") == 1
    assert grew("steward_http_request_seconds_count", endpoint="sandbox.sandbox_messages", status="200") == 2
    # each message its own transaction here (one after the other); under load they share
    assert grew("steward_group_commit_events_count") == 2 and grew("steward_group_commit_events_sum") == 2


def test_outbox_depth_and_age_show_what_waits(client, container, clock):
    client.post("/sandbox/messages", json={"user_id": "adam", "chat_id": "new-hires",
                                           "text": "@steward warn @bob R8.1.2 posting ads"}, environ_base=LOCAL)
    clock.advance(seconds=90)
    text = scrape(client)
    assert sample(text, "steward_outbox_depth", status="pending") >= 2
    assert sample(text, "steward_outbox_due") >= 2
    assert sample(text, "steward_outbox_oldest_pending_seconds") >= 90
    drain(container)
    assert sample(scrape(client), "steward_outbox_depth", status="pending") == 0


def test_jobs_due_and_failed_show_a_worker_that_is_behind(client, container, clock):
    """No worker runs: a question's watch job waits on its message (queue=messages), a scheduled job falls due
    (queue=scheduled; one due later is not counted), one was given up; the oldest scheduled job's wait grows (a
    message's job has no time of its own: the platform's time, or an edit's first version's). Once a worker
    runs, the message's job is gone from the gauge."""
    from datetime import timedelta

    from sqlalchemy import update

    from core.db.models import ScheduledJob

    r = client.post("/sandbox/messages", json={"user_id": "alice", "chat_id": "new-hires", "text": "作业什么时候交？"},
                    environ_base=LOCAL)
    assert r.status_code == 200, r.data
    now = clock.now()
    with container.sessions.begin() as s:
        s.add_all([ScheduledJob(key="metrics:due", kind="metrics.test", payload={}, due_at=now - timedelta(seconds=30),
                                created_at=now),
                   ScheduledJob(key="metrics:later", kind="metrics.test", payload={}, due_at=now + timedelta(hours=1),
                                created_at=now),
                   ScheduledJob(key="metrics:failed", kind="metrics.test", payload={}, due_at=now, status="failed",
                                created_at=now, attempts=5)])
    clock.advance(seconds=120)
    text = scrape(client)
    assert sample(text, "steward_jobs_due", queue="messages") == 1
    assert sample(text, "steward_jobs_due", queue="scheduled") == 1
    assert 150 <= sample(text, "steward_jobs_oldest_due_seconds") < 160
    assert sample(text, "steward_jobs_failed") == 1
    with container.sessions.begin() as s:      # the scheduled job ran: the message's job alone has no age to tell
        s.execute(update(ScheduledJob).where(ScheduledJob.key == "metrics:due").values(status="done"))
    text = scrape(client)
    assert sample(text, "steward_jobs_due", queue="messages") == 1 and sample(text, "steward_jobs_due", queue="scheduled") == 0
    assert sample(text, "steward_jobs_oldest_due_seconds") == 0
    drain(container)
    assert sample(scrape(client), "steward_jobs_due", queue="messages") == 0


def test_metrics_answer_loopback_or_the_token_only(db_url, clock, sandbox_config):
    open_container = build_container(db_url, clock, sandbox_config)
    app = create_app(open_container)
    assert app.test_client().get("/metrics", environ_base=REMOTE).status_code == 403
    assert app.test_client().get("/metrics", environ_base=LOCAL).status_code == 200

    guarded = build_container(db_url, clock, sandbox_config, {"STEWARD_METRICS_TOKEN": "s3cret-scrape"})
    assert "s3cret-scrape" not in repr(guarded.settings)
    c = create_app(guarded).test_client()
    assert c.get("/metrics", environ_base=LOCAL).status_code == 403            # the token is asked of everyone
    assert c.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer wrong"}).status_code == 403
    r = c.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer s3cret-scrape"})
    assert r.status_code == 200 and b"steward_outbox_depth" in r.data


def test_verification_failures_are_counted_per_messenger(db_url, clock, sandbox_config, fake_slack):
    container = build_container(db_url, clock, sandbox_config, fake_slack.env())
    client = create_app(container).test_client()
    before = scrape(client)
    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}})
    r = client.post("/slack/events", data=body, content_type="application/json",
                    headers={"X-Slack-Request-Timestamp": str(int(clock.now().timestamp())),
                             "X-Slack-Signature": "v0=" + "0" * 64})
    assert r.status_code in (401, 403)
    after = scrape(client)
    status = str(r.status_code)
    assert sample(after, "steward_verification_failures_total", messenger="slack", status=status) - \
        sample(before, "steward_verification_failures_total", messenger="slack", status=status) == 1
    assert sample(after, "steward_events_received_total", messenger="slack", type="MessagePosted") == \
        sample(before, "steward_events_received_total", messenger="slack", type="MessagePosted")


def test_readyz_names_database_migrations_and_redis(client, container, tmp_path, clock, sandbox_config):
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json == {"status": "ready",
                                               "checks": {"database": "ok", "migrations": "current"}}

    from steward.container import build
    empty = build({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "STEWARD_FILES_DIR": str(tmp_path / "f")},
                  clock=clock, config=sandbox_config)
    r = create_app(empty).test_client().get("/readyz")
    assert r.status_code == 503 and r.json["checks"]["migrations"].startswith("behind")

    # a newer version has migrated (a revision these migrations do not know): this one keeps serving, as a
    # rolling upgrade needs; a revision it knows but is past is behind
    from sqlalchemy import text
    with container.engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_a_newer_version_01'"))
    try:
        r = client.get("/readyz")
        assert r.status_code == 200 and r.json["checks"]["migrations"].startswith("ahead")
        with container.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'sqlite_whole_seconds_01'"))
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json["checks"]["migrations"].startswith("behind")
    finally:
        with container.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})

    no_redis = build({"DATABASE_URL": str(container.engine.url.render_as_string(hide_password=False)),
                      "STEWARD_REDIS_URL": "redis://127.0.0.1:1/0", "STEWARD_FILES_DIR": str(tmp_path / "f")},
                     clock=clock, config=sandbox_config)
    r = create_app(no_redis).test_client().get("/readyz")
    assert r.status_code == 503 and r.json["checks"]["redis"] == "unreachable"
    assert "127.0.0.1:1" not in r.get_data(as_text=True)


def test_every_request_gets_an_id_and_the_callers_is_kept(client):
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32
    assert client.get("/healthz", headers={"X-Request-Id": "lb-4711"}).headers["X-Request-Id"] == "lb-4711"


def test_webhook_answers_carry_the_request_id_whether_accepted_or_refused(client):
    """The platforms' POSTs are answered outside Flask's request (webhooks/platform.py FastPath) unless they
    fail; either way the answer carries the caller's request id, or a fresh one."""
    ok = client.post("/sandbox/messages", json={"user_id": "alice", "text": "hello", "id": "rid-1"},
                     environ_base=LOCAL, headers={"X-Request-Id": "lb-1"})
    assert ok.status_code == 200 and ok.headers["X-Request-Id"] == "lb-1"
    fresh = client.post("/sandbox/messages", json={"user_id": "alice", "text": "hello", "id": "rid-2"},
                        environ_base=LOCAL)
    assert fresh.status_code == 200 and len(fresh.headers["X-Request-Id"]) == 32
    refused = client.post("/sandbox/messages", data=b"{not json", content_type="application/json",
                          environ_base=LOCAL, headers={"X-Request-Id": "lb-2"})
    assert refused.status_code == 400 and refused.headers["X-Request-Id"] == "lb-2"
    assert refused.get_json()["error"] == "bad request"


def test_json_logs_carry_the_request_id():
    record = logging.LogRecord("steward.inbound", logging.INFO, __file__, 1, "stored %s", ("Ev1",), None)
    token = logs.request_id.set("slack:Ev1")
    try:
        logs._RequestId().filter(record)
    finally:
        logs.request_id.reset(token)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "stored Ev1" and line["level"] == "INFO" and line["request_id"] == "slack:Ev1"
    assert logs.request_id_of_key("reply:slack:Ev1:2") == "slack:Ev1"
    assert logs.request_id_of_key("forget:reply:wecom:m-9:1") == "wecom:m-9"
    assert logs.request_id_of_key("alert:12:U1") is None
    assert logs.request_id_of_key("reply:sandbox:msg:x:1") == "sandbox:msg:x"
    assert logs.request_id_of_key("nudge:slack:Ev7") == "slack:Ev7"


def test_the_request_id_follows_an_event_from_webhook_to_delivery(client, container, caplog):
    caplog.handler.addFilter(logs._RequestId())
    with caplog.at_level(logging.INFO):
        client.post("/sandbox/messages", json={"user_id": "alice", "text": "help", "id": "trace-1"},
                    environ_base=LOCAL)
        drain(container)
    ids = {(r.name, r.request_id) for r in caplog.records if r.name in ("steward.inbound", "steward.delivery")}
    assert ("steward.inbound", "sandbox:msg:trace-1") in ids      # the sandbox's event ids are msg:<id>
    assert ("steward.delivery", "sandbox:msg:trace-1") in ids, ids


def _clean_env(tmp_path, db) -> dict[str, str]:
    config = tmp_path / "steward.yaml"
    config.write_text(SANDBOX_CONFIG, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "DATABASE_URL", "SLACK_", "WECOM_",
                                                                     "DINGTALK_", "PROMETHEUS_"))}
    env.update({"DATABASE_URL": f"sqlite:///{db}", "STEWARD_CONFIG": str(config),
                "STEWARD_FILES_DIR": str(tmp_path / "files")})
    return env


def test_the_gunicorn_entry_point_sets_up_logging(tmp_path, sqlite_template):
    """`gunicorn 'steward.wsgi:create()'` imports create() and calls it: INFO lines must appear, as JSON if asked."""
    db = tmp_path / "steward.db"
    shutil.copy(sqlite_template, db)
    env = {**_clean_env(tmp_path, db), "STEWARD_LOG_FORMAT": "json"}
    code = ("from steward.wsgi import create; create(); import logging; "
            "logging.getLogger('steward.check').info('ready to serve')")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    assert {"logger": "steward.check", "level": "INFO", "message": "ready to serve"}.items() <= \
        next(li for li in lines if li["logger"] == "steward.check").items()


def test_serve_sums_metrics_over_its_web_processes(tmp_path, sqlite_template):
    """Two gunicorn processes, each counting the events it took: /metrics (from either) shows them all."""
    db = tmp_path / "steward.db"
    shutil.copy(sqlite_template, db)
    env = {**_clean_env(tmp_path, db), "STEWARD_LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "STEWARD_PLAYGROUND": "1",
           "STEWARD_PLAYGROUND_TOKEN": "observability-token"}
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from steward.cli import main; main()", "serve", "--port",
                             str(port), "--workers", "2", "--threads", "2"],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "steward serve did not start"
            try:
                if _get(port, "/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        import http.client
        sent = 12
        for n in range(sent):     # a fresh connection each: gunicorn hands them to either process
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/sandbox/messages", json.dumps({"user_id": "alice", "chat_id": "new-hires",
                                                                  "text": f"note {n}", "id": f"m{n}"}),
                         {"Content-Type": "application/json", "X-Steward-CSRF": "observability-token"})
            assert conn.getresponse().status == 200
            conn.close()
        status, _, body = _get(port, "/metrics")
        assert status == 200
        text = body.decode()
        assert sample(text, "steward_events_received_total", messenger="sandbox", type="MessagePosted") == sent
        pids = {f.split("_")[-1] for f in os.listdir(tmp_path / "metrics") if f.startswith("counter_")}
        assert len(pids) >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_refused_webhook_is_logged_and_answered_under_one_request_id():
    """FastPath (webhooks/platform.py) hands a request it cannot answer to Flask's error mapping; the id its
    own log lines carried goes along, so the refusal's log lines and answer share it."""
    import io

    from steward import logs
    from webhooks.platform import FAILED, FastPath

    seen = {}

    class Refusing:
        def verify(self, request):
            seen["verify"] = logs.request_id.get()
            raise PermissionError("bad signature")

    def flask(environ, start_response):
        seen["flask"] = environ["HTTP_X_REQUEST_ID"]
        assert isinstance(environ[FAILED], PermissionError)
        start_response("401 UNAUTHORIZED", [])
        return [b""]

    app = FastPath(flask, {"/x/events": ("x.events", "events", Refusing(), lambda event: None)})
    body = b"{}"
    app({"REQUEST_METHOD": "POST", "PATH_INFO": "/x/events", "CONTENT_LENGTH": str(len(body)),
         "wsgi.input": io.BytesIO(body)}, lambda *a: None)
    assert len(seen["verify"]) == 32 and seen["flask"] == seen["verify"]


_FORKED = """
import os, sys
from steward.metrics import child, m
events = child(m().events, "slack", "MessagePosted")
events.inc()                                   # the parent's value, in the parent's file
pid = os.fork()
if pid == 0:
    events.inc(5)
    os._exit(0)
os.waitpid(pid, 0)
events.inc()
print(pid)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork: POSIX only")
def test_a_forked_process_counts_in_files_of_its_own(tmp_path):
    """The process id prometheus_client checks on every value it writes is remembered, and a fork gets its
    own: a worker forked after the parent counted must not write into the parent's files."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", _FORKED], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    child_pid = done.stdout.split()[-1]
    assert f"counter_{child_pid}.db" in os.listdir(tmp_path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("steward_events_received_total",
                                     {"messenger": "slack", "type": "MessagePosted"}) == 7
