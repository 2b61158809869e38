"""Where the CPU of one event goes: Steward's WSGI app in this process, signed Slack events handed to it one
after another as the WSGI environ a server builds (no test client: Werkzeug's EnvironBuilder costs more
than the app's own request handling), each stage timed with the thread's CPU clock.

    python -m bench.stages                 # the stage table, uniform and realistic mix, SQLite
    python -m bench.stages --profile 2000  # cProfile of 2,000 events (top functions by own time)
    python -m bench.stages --postgres      # the same on PostgreSQL (STEWARD_BENCH_POSTGRES_URL)

Stages: verify (signature on the raw bytes), parse (payload to events), read (what the database holds of
the batch: deliveries, archive, the senders' accounts; core/kernel/held.py), decide (membership, commands,
moderation, observers: the policy), of which moderation (the detectors, core/moderation), write (the
batch's deliveries, archive and jobs in one statement; core/db/upsert.py insert_all), the rest of the
ingest (connections, the session when a decision uses it, rows, the full transaction for a batch that needs
it), and the rest of the request (reading the body, headers, request id, metrics, the answer). Timing
wrappers are installed on the module attributes the request path looks up
at call time, so the production code runs unchanged; the wrappers cost about a microsecond each.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager

STAGES = ("verify", "parse", "read", "decide", "  of which moderation", "write", "rest of the ingest",
          "rest of the request")


def build_app(database_url: str):
    os.environ["DATABASE_URL"] = database_url
    from bench.apps import steward

    return steward()


def _timed(totals: dict[str, float], stage: str, fn, apart: list[float] | None = None):
    """`fn` timed into `totals[stage]`. Wrappers sharing an `apart` list are counted apart: one called
    inside another (the batch's rows written as a decision's transaction begins) is not counted twice."""
    def wrapper(*args, **kw):
        start = time.thread_time()
        if apart is not None:
            apart.append(0.0)
        try:
            return fn(*args, **kw)
        finally:
            spent = time.thread_time() - start
            if apart is not None:
                inner = apart.pop()
                if apart:
                    apart[-1] += spent
                spent -= inner
            totals[stage] += spent
    wrapper.__wrapped__ = fn
    return wrapper


@contextmanager
def stage_clocks(app):
    """Install the timing wrappers; yields the totals (CPU seconds per stage, nested stages subtracted)."""
    from core.kernel import inbound

    container = app.extensions["steward"]
    connector = container.connectors["slack"]
    totals: dict[str, float] = defaultdict(float)
    saved = {name: getattr(inbound, name) for name in ("read_held", "_decide", "insert_all")}
    apart: list[float] = []
    for name, stage in (("read_held", "read"), ("_decide", "decide"), ("insert_all", "write")):
        setattr(inbound, name, _timed(totals, stage, saved[name], apart))
    commit = getattr(container, "group_commit", None)
    owner, attr = (commit, "handle_batch") if commit is not None else (inbound, "ingest_many")  # older trees
    ingest_many = getattr(owner, attr)
    setattr(owner, attr, _timed(totals, "transaction", ingest_many))
    verify, parse = connector.verify, connector.parse
    connector.verify = _timed(totals, "verify", verify)
    connector.parse = _timed(totals, "parse", parse)
    ctx = container.ctx
    detectors = ctx.detectors
    if detectors is not None:
        ctx.detectors = _timed(totals, "moderation", detectors)
    try:
        yield totals
    finally:
        for name, fn in saved.items():
            setattr(inbound, name, fn)
        setattr(owner, attr, ingest_many)
        connector.verify, connector.parse = verify, parse
        ctx.detectors = detectors


def environ(body: bytes, headers: dict[str, str]) -> dict:
    """The WSGI environ of POST /slack/events as a server (gunicorn) hands it to the app."""
    env = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/slack/events", "QUERY_STRING": "",
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
           "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1:8000",
           "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
           "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.multithread": True,
           "wsgi.multiprocess": True, "wsgi.run_once": False}
    for name, value in headers.items():
        if name.lower() == "content-type":
            env["CONTENT_TYPE"] = value
        else:
            env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def post_all(app, requests) -> float:
    """Hand every (body, headers) to the app as a server would; returns the thread's CPU seconds spent
    in the app (building the environs is not counted)."""
    environs = [environ(body, headers) for body, headers in requests]
    status: list[str] = []

    def start_response(line, _headers, _exc_info=None):
        status.append(line)

    start = time.thread_time()
    for env in environs:
        status.clear()
        answer = app(env, start_response)
        data = b"".join(answer)
        getattr(answer, "close", lambda: None)()
        if not status or not status[0].startswith("200"):
            raise RuntimeError(f"answered {status[:1]}: {data[:200]!r}")
    return time.thread_time() - start


def split(app, requests) -> dict[str, float]:
    """CPU ms per event by stage."""
    with stage_clocks(app) as t:
        total = post_all(app, requests)
    n = len(requests)
    out = {"verify": t["verify"], "parse": t["parse"], "read": t["read"], "decide": t["decide"],
           "  of which moderation": t["moderation"], "write": t["write"],
           "rest of the ingest": t["transaction"] - t["read"] - t["decide"] - t["write"],
           "rest of the request": total - t["verify"] - t["parse"] - t["transaction"]}
    out = {k: 1000 * v / n for k, v in out.items()}
    out["total"] = 1000 * total / n
    return out


@contextmanager
def database(postgres: bool):
    """A fresh database URL: a temporary SQLite file, or a fresh schema of the bench's PostgreSQL database
    (bench/ingest_bench.py postgres_url; None when unreachable), dropped afterwards."""
    if not postgres:
        with tempfile.TemporaryDirectory(prefix="steward-stages-") as tmp:
            yield f"sqlite:///{tmp}/steward.db"
        return
    from bench.ingest_bench import drop_postgres_schema, postgres_url

    url = postgres_url()
    try:
        yield url
    finally:
        if url:
            drop_postgres_schema(url)


def measure(mixes: dict[str, object], events: int = 1500, warmup: int = 300,
            postgres: bool = False) -> dict[str, dict[str, float]] | None:
    """The split for each mix (a SignedEvents-like factory), each on a fresh database (None: PostgreSQL
    unreachable)."""
    from bench.slack_load import SignedEvents

    out = {}
    for label, make in mixes.items():
        with database(postgres) as url:
            if url is None:
                return None
            app = build_app(url)
            source: SignedEvents = make()
            post_all(app, [source.next() for _ in range(warmup)])
            out[label] = split(app, [source.next() for _ in range(events)])
            app.extensions["steward"].engine.dispose()
    return out


def report(results: dict[str, dict[str, float]]) -> None:
    labels = list(results)
    print(f"{'CPU ms per event (in-process)':<30}" + "".join(f"{label:>16}" for label in labels))
    for stage in (*STAGES, "total"):
        print(f"{stage:<30}" + "".join(f"{results[label][stage]:>16.3f}" for label in labels))


def profile(n: int, sort: str = "tottime", top: int = 35, mix: bool = False, postgres: bool = False) -> None:
    from bench.slack_load import MixedEvents, SignedEvents

    with database(postgres) as url:
        if url is None:
            return
        app = build_app(url)
        source = MixedEvents() if mix else SignedEvents()
        post_all(app, [source.next() for _ in range(300)])
        requests = [source.next() for _ in range(n)]
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        cpu = post_all(app, requests)
        profiler.disable()
        calls = sum(row[1] for row in pstats.Stats(profiler).stats.values())
        print(f"{n} events, {1000 * cpu / n:.3f} CPU ms per event under the profiler, {calls / n:.0f} Python "
              "function calls per event")
        pstats.Stats(profiler).sort_stats(sort).print_stats(top)


def main() -> None:
    from bench.slack_load import MixedEvents, SignedEvents

    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", type=int, default=0, help="cProfile this many events instead")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--mix", action="store_true", help="the realistic mix instead of the uniform events")
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL (STEWARD_BENCH_POSTGRES_URL, else STEWARD_TEST_POSTGRES_URL) instead of SQLite")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, args.sort, mix=args.mix, postgres=args.postgres)
        return
    results = measure({"uniform": SignedEvents, "realistic mix": MixedEvents}, postgres=args.postgres)
    if results:
        report(results)


if __name__ == "__main__":
    main()
