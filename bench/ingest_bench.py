"""Ingest benchmark: how fast Steward acknowledges Slack events, against two baselines in the same run.

The target: Steward's full path for a signed `message` event — verify the signature on the
raw bytes, parse, de-duplicate on event_id, archive, decide (the policy; the detectors when wired) and
queue actions, in one transaction — should run at >= 0.5x the rate of a bare Flask endpoint (or cost at
most 2x its CPU per request), and acknowledge within 50 ms (p99) at a steady 500 events/s, on SQLite
and on PostgreSQL. `python -m bench.ingest_bench` runs this part of `make bench` alone.

Each app (bench/apps.py) runs under gunicorn (2 gthread workers, keep-alive) and receives the same
correctly signed requests (bench/slack_load.py) from this process:
- closed loop: CONNECTIONS connections for BURST_S seconds -> requests/s, p50, p99, and the server's
  CPU per request: the gunicorn workers' user + system CPU from /proc (the PostgreSQL server's and the
  load generator's are not counted), less sensitive than requests/s to what shares the machine's cores;
  those two are printed under each row (Others): requests/s feels them;
- paced: PACED_RATE events/s for PACED_S seconds -> p50/p99 ack, counted from when each was due.
Keep-alive connections stay on the worker that accepted them, so both modes spread theirs evenly
over the workers (Balancer) before the clock starts.
The targets are judged against bare Flask measured beside each Steward burst (a second gunicorn, idle
meanwhile: Beside), not only against the bare Flask row measured first: on a shared machine the speed
drifts within a run, and from one second to the next (bare Flask's CPU per request, measured in
consecutive 1.25 s slices on this machine: 0.54 to 0.87 ms). So the default mode's burst runs in SLICES
slices with bare Flask loaded before each and after the last (2 x BESIDE_S in all); a spool's burst stays
whole (its spool commits between slices), bare Flask loaded for BESIDE_S just before and just after it.
Steward runs on a temporary SQLite file and, when STEWARD_TEST_POSTGRES_URL is reachable, on
PostgreSQL in a schema of its own (dropped afterwards), so tests using that database are not disturbed;
each both ways: answering after the group commit (the default: concurrent requests share a transaction,
each answered once it committed) and with a spool (STEWARD_SPOOL_DIR: answered once written, committed
in batches). A spool's rate is what was also committed in the burst, counted in the archive, so
answering faster than the database keeps up does not count. Each runs with the uniform events and with
a realistic mix (bench/slack_load.py MixedEvents); bench/stages.py then splits one event's CPU into its
stages. PostgreSQL: STEWARD_BENCH_POSTGRES_URL (a database of the bench's own), else
STEWARD_TEST_POSTGRES_URL. BENCH_ONLY=bare,sqlite,... runs only those rows.
Targets print PASS or MISS; nothing fails on them.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from bench.slack_load import MixedEvents, Result, SignedEvents, closed_loop, paced

ROOT = Path(__file__).resolve().parent.parent
WORKERS, THREADS = 2, 4
CONNECTIONS, WARMUP_S, BURST_S = 8, 2.0, 5.0
BESIDE_S = 2.5            # bare Flask beside each Steward burst, twice this long in all
SLICES = 5                # the default mode's burst in this many slices, bare Flask before each and after the last
PACED_RATE, PACED_S, PACED_CONNECTIONS = 500, 5.0, 16
TARGET_RATIO, TARGET_P99_MS = 0.5, 50.0
PG_SCHEMA = "steward_bench"


@dataclass
class Figures:
    label: str
    burst: Result
    paced: Result
    cpu_ms: float            # server CPU (all workers) per answered request, closed loop
    split: str               # how that CPU fell on the workers: uneven means uneven connections
    stored_rate: float | None = None   # fast acknowledgement: messages committed per second in the burst
    drain_s: float | None = None       # ... and how long the backlog took to commit after the paced run
    beside: "Beside | None" = None     # bare Flask measured between the burst's slices (or before and after it)
    per_txn: float | None = None       # Steward: events per group-commit transaction in the burst (/metrics)
    others: "Others | None" = None     # what else spent the machine's CPU per answered request in the burst

    @property
    def rate(self) -> float:
        """What the deployment sustains: answered, and (with a spool) also committed."""
        return self.burst.rate if self.stored_rate is None else min(self.burst.rate, self.stored_rate)


@dataclass
class Beside:
    """Bare Flask's closed loop between the slices of a Steward burst (a spool's: just before and just after
    it), together: what bare Flask did on the machine as it was while Steward was measured. A shared
    machine's speed drifts within a run (seen here: the same code 1.7x slower from one minute to the next,
    and up to 1.6x from one second to the next), so a ratio against the bare Flask row measured minutes
    earlier says as much about the drift as about Steward; bracketing each second of Steward's cancels a
    drift that is steady over a few seconds."""
    rate: float
    cpu_ms: float


@dataclass
class Others:
    """CPU per answered request in the closed loop outside the workers, on the same cores: the load generator
    (this process) and a PostgreSQL server on this machine (its processes in /proc; None when it runs
    elsewhere). Requests/s feels them; CPU per request leaves them out."""
    load_ms: float
    postgres_ms: float | None


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _processes():
    """(pid, name, fields after the name) of every process in /proc (nothing where /proc is missing); a field's
    index here is its number in proc(5) less 3: 1 the parent, 11-14 utime, stime, cutime, cstime in ticks."""
    if not os.path.isdir("/proc"):
        return
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            head, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
        except OSError:
            continue            # ended meanwhile
        yield int(pid), head.rpartition("(")[2], rest.split()


def _postgres_cpu() -> float | None:
    """CPU seconds of this machine's PostgreSQL processes, from /proc; None if none. Each process's own CPU
    and that of its children that ended (the server's cutime and cstime: a backend that exits mid-burst is
    still counted), so the difference over a burst is what PostgreSQL spent in it."""
    ticks = [sum(int(fields[i]) for i in (11, 12, 13, 14))
             for _, name, fields in _processes() if name in ("postgres", "postmaster")]
    return sum(ticks) / os.sysconf("SC_CLK_TCK") if ticks else None


def _on_this_machine(url: str) -> bool:
    """A database URL whose server runs here (loopback, or a Unix socket): its CPU shares these cores."""
    from sqlalchemy.engine import make_url

    if not url:
        return False
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or ""
    return parsed.get_backend_name() == "postgresql" and (not host or host.startswith("/")
                                                          or host in ("localhost", "127.0.0.1", "::1"))


class StoredMessages:
    """Counts the archive's rows from outside the server: what the spool's threads have committed."""

    def __init__(self, url: str) -> None:
        from core.db.session import make_engine
        self.engine = make_engine(url)

    def __call__(self) -> int:
        from sqlalchemy import text
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM messages")).scalar()

    def settle(self, timeout: float = 60.0) -> float:
        """Wait until the count stops growing; returns the seconds waited."""
        started, last, still = time.monotonic(), -1, 0
        while time.monotonic() - started < timeout and still < 3:
            now = self()
            still = still + 1 if now == last else 0
            last = now
            time.sleep(0.1)
        return max(0.0, time.monotonic() - started - 0.3)


class Gunicorn:
    """`gunicorn 'bench.apps:<factory>()'` on a free port; killed with its process group on exit."""

    def __init__(self, factory: str, env: dict[str, str] | None = None) -> None:
        self.factory, self.env = factory, {**os.environ, **(env or {})}
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    def __enter__(self) -> "Gunicorn":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "gthread",
             "--threads", str(THREADS), "--keep-alive", "10", "--bind", f"127.0.0.1:{self.port}",
             "--chdir", str(ROOT), "--log-level", "warning", *_no_control_socket(), f"bench.apps:{self.factory}()"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {self.factory}() exited:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/slack/events")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn {self.factory}() did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds (user + system) of each worker, from /proc (empty where /proc is missing)."""
        tick = os.sysconf("SC_CLK_TCK")
        return {pid: (int(fields[11]) + int(fields[12])) / tick
                for pid, _, fields in _processes() if int(fields[1]) == self.proc.pid}

    def log_tail(self, lines: int = 15) -> str:
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").splitlines()[-lines:])

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(wait)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
        self.log.close()


class Balancer:
    """Keep-alive connections stay with the worker that accepted them, and gunicorn's workers race to
    accept: left alone, all 8 connections sometimes land on one worker (seen: a 100/0 CPU split). This
    keeps a new connection only while its worker holds less than its share, finding the worker from
    /proc/net/tcp and the workers' file descriptors (Linux; elsewhere every connection is kept)."""

    def __init__(self, server: Gunicorn, connections: int) -> None:
        self.server, self.workers = server, list(server.worker_cpu())
        self.share = -(-connections // max(1, len(self.workers)))
        self.held: dict[int, int] = {}
        self.lock = threading.Lock()

    def __call__(self, client_port: int) -> bool:
        pid = self._owner(client_port)
        with self.lock:
            if pid is not None and self.held.get(pid, 0) >= self.share:
                return False
            self.held[pid] = self.held.get(pid, 0) + 1
            return True

    def _owner(self, client_port: int) -> int | None:
        try:
            inode = next(f[9] for f in (line.split() for line in open("/proc/net/tcp").readlines()[1:])
                         if int(f[1].split(":")[1], 16) == self.server.port
                         and int(f[2].split(":")[1], 16) == client_port)
            for pid in self.workers:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
        except (OSError, StopIteration, ValueError, IndexError):
            pass
        return None


def _no_control_socket() -> list[str]:
    """recent gunicorn opens a control socket at one fixed path per user: keep clear of other servers."""
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS) else []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(label: str, factory: str, env: dict[str, str] | None = None,
            stored: StoredMessages | None = None, source=SignedEvents, beside: bool = False) -> Figures:
    """`beside`: bare Flask runs beside it and is measured between the burst's slices (Beside).
    With `stored` (a spool), the burst starts with nothing queued and its rate counts as committed only
    what the archive holds when it ends; what the paced run left queued is timed until committed."""
    metrics_dir = tempfile.TemporaryDirectory(prefix="steward-bench-metrics-") if factory == "steward" else None
    if metrics_dir is not None:   # as production runs several gunicorn workers: /metrics sums them
        env = {**(env or {}), "PROMETHEUS_MULTIPROC_DIR": metrics_dir.name}
    with Gunicorn(factory, env) as server, (Gunicorn("bare") if beside else nullcontext()) as bare, \
            metrics_dir or nullcontext():
        events = source()
        # spread as the timed runs are: unbalanced, one worker may first see a request inside the clock
        closed_loop(server.port, events, connections=CONNECTIONS, seconds=WARMUP_S, keep=Balancer(server, CONNECTIONS))
        if bare is not None:
            closed_loop(bare.port, SignedEvents(), connections=CONNECTIONS, seconds=WARMUP_S / 2,
                        keep=Balancer(bare, CONNECTIONS))
        if stored is not None:
            stored.settle()
        # beside bare Flask, the default mode's burst is cut in slices, bare Flask measured before each and
        # after the last; a spool's burst stays whole (it commits between slices)
        slices = SLICES if bare is not None and stored is None else 1
        bare_runs = [_bare_burst(bare, 2 * BESIDE_S / (slices + 1))] if bare is not None else []
        txns = _transactions(server.port) if metrics_dir is not None else None
        burst, used, own, pg_used = Result(), {}, 0.0, 0.0
        committed = 0 if stored is not None else None
        for _ in range(slices):
            marks: dict = {}

            def start() -> None:
                marks["cpu"] = server.worker_cpu()
                marks["stored"] = stored() if stored is not None else 0
                marks["own"], marks["postgres"] = _own_cpu(), _postgres_cpu()

            part = closed_loop(server.port, events, connections=CONNECTIONS, seconds=BURST_S / slices,
                               keep=Balancer(server, CONNECTIONS), on_start=start)
            own += _own_cpu() - marks["own"]
            postgres = _postgres_cpu()
            if committed is not None:
                committed += stored() - marks["stored"]
            for pid, cpu in server.worker_cpu().items():
                used[pid] = used.get(pid, 0.0) + cpu - marks["cpu"].get(pid, 0.0)
            pg_used = pg_used + postgres - marks["postgres"] if None not in (postgres, marks["postgres"], pg_used) \
                else None
            burst.seconds += part.seconds
            burst.latencies += part.latencies
            burst.errors += part.errors
            for status, n in part.statuses.items():
                burst.statuses[status] = burst.statuses.get(status, 0) + n
            if stored is None and bare is not None:
                bare_runs.append(_bare_burst(bare, 2 * BESIDE_S / (slices + 1)))
        answered = max(1, len(burst.latencies))
        others = Others(1000 * own / answered, 1000 * pg_used / answered
                        if pg_used is not None and _on_this_machine((env or {}).get("DATABASE_URL", "")) else None)
        if txns is not None:
            committed_events, count = (b - a for a, b in zip(txns, _transactions(server.port)))
            per_txn = committed_events / count if count else None
        else:
            per_txn = None
        if stored is not None:
            stored.settle()          # a spool's backlog commits before bare Flask is measured beside it
        if bare is not None and stored is not None:
            bare_runs.append(_bare_burst(bare, BESIDE_S))
        steady = paced(server.port, events, rate=PACED_RATE, seconds=PACED_S, connections=PACED_CONNECTIONS,
                       keep=Balancer(server, PACED_CONNECTIONS))
        drain_s = stored.settle() if stored is not None else None
        if burst.errors or steady.errors:
            print(f"  {label}: non-200 answers {burst.statuses | steady.statuses}\n{server.log_tail()}")
    total = sum(used.values())
    split = "/".join(f"{100 * c / total:.0f}" for c in sorted(used.values(), reverse=True)) if total else "?"
    cpu_ms = 1000 * total / len(burst.latencies) if burst.latencies and total else float("nan")
    near = None
    if bare_runs:
        answered, seconds, cpu = (sum(x) for x in zip(*bare_runs))
        near = Beside(answered / seconds, 1000 * cpu / answered if answered else float("nan"))
    return Figures(label, burst, steady, cpu_ms, split,
                   committed / burst.seconds if committed is not None else None, drain_s, near, per_txn, others)


def _transactions(port: int) -> tuple[float, float]:
    """(events, transactions) the group commit has committed so far, summed over the workers (/metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    found = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
             if s.name in ("steward_group_commit_events_sum", "steward_group_commit_events_count")}
    return found.get("steward_group_commit_events_sum", 0.0), found.get("steward_group_commit_events_count", 0.0)


def _bare_burst(bare: Gunicorn, seconds: float) -> tuple[int, float, float]:
    """Bare Flask's closed loop for `seconds`: (answered, seconds, workers' CPU seconds)."""
    marks: dict[str, dict[int, float]] = {}
    result = closed_loop(bare.port, SignedEvents(), connections=CONNECTIONS, seconds=seconds,
                         keep=Balancer(bare, CONNECTIONS), on_start=lambda: marks.setdefault("cpu", bare.worker_cpu()))
    cpu = sum(c - marks["cpu"].get(pid, 0.0) for pid, c in bare.worker_cpu().items())
    return len(result.latencies), result.seconds, cpu


def postgres_url() -> str | None:
    """STEWARD_BENCH_POSTGRES_URL (else STEWARD_TEST_POSTGRES_URL) with a fresh schema of our own first on the
    search_path, or None."""
    url = os.environ.get("STEWARD_BENCH_POSTGRES_URL") or os.environ.get("STEWARD_TEST_POSTGRES_URL")
    if not url:
        print("PostgreSQL: neither STEWARD_BENCH_POSTGRES_URL nor STEWARD_TEST_POSTGRES_URL set, skipped")
        return None
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from core.db.session import make_engine

    bench_url = make_url(url).update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"})
    try:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}"))
        engine.dispose()
    except SQLAlchemyError as exc:
        print(f"PostgreSQL at {make_url(url).render_as_string()} unreachable, skipped: "
              f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}")
        return None
    return bench_url.render_as_string(hide_password=False)


def drop_postgres_schema(url: str) -> None:
    from sqlalchemy import text

    from core.db.session import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    engine.dispose()


def stored_rows(url: str) -> str:
    """What Steward wrote: proof that the measured requests went the whole way."""
    from sqlalchemy import text

    from core.db.session import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return ", ".join(f"{table} {conn.execute(text(f'SELECT count(*) FROM {table}')).scalar()}"
                             for table in ("inbound_events", "messages", "outbox"))
    finally:
        engine.dispose()


def report(fig: Figures) -> None:
    b, p = fig.burst, fig.paced
    per_txn = f"{fig.per_txn:.1f}" if fig.per_txn else "-"
    print(f"{fig.label:<32}{b.rate:>8.0f}{b.pct(50):>8.1f}{b.pct(99):>8.1f}{fig.cpu_ms:>11.2f}{fig.split:>9}{per_txn:>7}"
          f" |{p.rate:>8.0f}{p.pct(50):>8.1f}{p.pct(99):>8.1f}{p.pct(100):>8.1f}{b.errors + p.errors:>7}",
          flush=True)
    if fig.others is not None:
        server = f"the PostgreSQL server {fig.others.postgres_ms:.2f} ms, " if fig.others.postgres_ms is not None else ""
        print(f"{'':<32}CPU besides the workers, per request: {server}the load generator {fig.others.load_ms:.2f} ms",
              flush=True)
    if fig.stored_rate is not None:
        print(f"{'':<32}committed during the burst: {fig.stored_rate:.0f}/s; after the paced run the last "
              f"committed {fig.drain_s:.1f} s later", flush=True)


def verdicts(figs: dict[str, Figures]) -> None:
    bare, bolt = figs.get("bare"), figs.get("bolt")
    if bare and bolt:
        print(f"slack-bolt / bare Flask: {bolt.burst.rate / bare.burst.rate:.2f}x requests/s "
              f"(expected: about 0.6x), {bare.cpu_ms / bolt.cpu_ms:.2f}x by CPU per request")
    for key, fig in figs.items():
        if key in ("bare", "bolt"):
            continue
        name = f"Steward ({fig.label.removeprefix('Steward, ')})"
        if bare:
            print(f"{name} / the bare Flask row: {fig.rate / bare.burst.rate:.2f}x requests/s, "
                  f"{fig.cpu_ms / bare.cpu_ms:.2f}x its CPU per request")
        if fig.beside:
            near = fig.beside
            ratio, cpu_ratio = fig.rate / near.rate, fig.cpu_ms / near.cpu_ms
            ok = ratio >= TARGET_RATIO or cpu_ratio <= 1 / TARGET_RATIO
            print(f"{name} / bare Flask beside it ({near.rate:.0f} req/s, {near.cpu_ms:.2f} ms): {ratio:.2f}x "
                  f"requests/s, {cpu_ratio:.2f}x its CPU per request   target >= {TARGET_RATIO}x requests/s or "
                  f"<= {1 / TARGET_RATIO:.0f}x CPU: {'PASS' if ok else 'MISS'}")
        if bolt:
            print(f"{name} / slack-bolt: {fig.rate / bolt.burst.rate:.2f}x requests/s, "
                  f"{bolt.cpu_ms / fig.cpu_ms:.2f}x by CPU per request")
        p99 = fig.paced.pct(99)
        ok = p99 < TARGET_P99_MS and not fig.paced.errors and fig.paced.rate >= 0.95 * PACED_RATE
        print(f"{name} p99 ack at {PACED_RATE}/s: {p99:.1f} ms   target < {TARGET_P99_MS:.0f} ms: "
              f"{'PASS' if ok else 'MISS'}")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


RUNS = (  # key, label, database, spool, mix
    ("sqlite", "Steward, SQLite", "sqlite", False, False),
    ("sqlite-mix", "Steward, SQLite, mix", "sqlite", False, True),
    ("sqlite-spool", "Steward, SQLite, spool", "sqlite", True, False),
    ("sqlite-spool-mix", "Steward, SQLite, spool, mix", "sqlite", True, True),
    ("postgres", "Steward, PostgreSQL", "postgres", False, False),
    ("postgres-mix", "Steward, PostgreSQL, mix", "postgres", False, True),
    ("postgres-spool", "Steward, PostgreSQL, spool", "postgres", True, False),
    ("postgres-spool-mix", "Steward, PostgreSQL, spool, mix", "postgres", True, True),
)


def _wanted(key: str) -> bool:
    """BENCH_ONLY=bare,sqlite,... narrows a run (by key prefix); unset, everything runs."""
    only = [k for k in os.environ.get("BENCH_ONLY", "").split(",") if k]
    return not only or key in only


def main() -> None:
    size = len(SignedEvents().next()[0])
    print(f"POST /slack/events: signed event_callback message events (~{size} B, unique event_id) under gunicorn "
          f"({WORKERS} gthread workers x {THREADS} threads, keep-alive), {os.cpu_count()} CPUs\n"
          f"closed loop: {CONNECTIONS} connections for {BURST_S:.0f} s after {WARMUP_S:.0f} s warm-up; "
          f"paced: {PACED_RATE}/s for {PACED_S:.0f} s on {PACED_CONNECTIONS} connections; "
          f"load average before: {_load()}\n"
          "uniform: four ordinary chat messages in turn; mix: of every 100, 85 chat and 5 violations from the "
          "moderation corpus, 7 commands to Steward in the channel, 3 in a 1:1 chat\n")
    print(f"{'':<32}{'closed loop':-^51} | {f'paced {PACED_RATE}/s':-^39}")
    print(f"{'app':<32}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/req':>11}{'split %':>9}{'ev/txn':>7}"
          f" |{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'errors':>7}")
    figs: dict[str, Figures] = {}
    stored: dict[str, str] = {}
    failed: list[str] = []

    def run(key: str, label: str, factory: str, database_url: str | None = None, spool: str | None = None,
            mix: bool = False) -> None:
        env = {"DATABASE_URL": database_url} if database_url else {}
        counter = None
        if spool:
            env["STEWARD_SPOOL_DIR"] = spool
            counter = StoredMessages(database_url)
        try:
            figs[key] = measure(label, factory, env or None, counter, MixedEvents if mix else SignedEvents,
                                beside=factory == "steward")
            report(figs[key])
            if database_url:
                stored[key] = stored_rows(database_url)
        except RuntimeError as exc:
            failed.append(label)
            print(f"{label}: {exc}")
        finally:
            if counter is not None:
                counter.engine.dispose()

    for key, label, factory in (("bare", "bare Flask", "bare"), ("bolt", "slack-bolt no-op", "bolt")):
        if _wanted(key):
            run(key, label, factory)
    pg_url = postgres_url() if any(_wanted(k) for k, _, db, _, _ in RUNS if db == "postgres") else None
    for key, label, database, spool, mix in RUNS:
        if not _wanted(key) or (database == "postgres" and not pg_url):
            continue
        with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
            try:
                if database == "postgres":
                    url = postgres_url()      # a fresh schema for each run
                else:
                    url = f"sqlite:///{tmp}/steward.db"
                run(key, label, "steward", url, f"{tmp}/spool" if spool else None, mix)
            finally:
                if database == "postgres":
                    drop_postgres_schema(pg_url)
    print()
    for key, rows in stored.items():
        f = figs[key]
        print(f"Steward {key} stored: {rows} (answered 200: {len(f.burst.latencies) + len(f.paced.latencies)}"
              f" measured, plus warm-up and connection set-up)")
    verdicts(figs)
    print("default: answered after the group commit in the shared database; spool: STEWARD_SPOOL_DIR set (answered "
          "once written to the spool file, committed in batches by a thread of each worker); a spool's rate is the "
          "lower of answered and committed per second")
    print("CPU ms/req: the gunicorn workers' CPU (user + system, from /proc, all their threads) per answered "
          "request in the closed loop; the load generator's and the PostgreSQL server's CPU are not in it (they "
          "share the machine's cores, which is what requests/s feels)")
    print("ev/txn: events per group-commit transaction in the closed loop (steward_group_commit_events from "
          "/metrics, PROMETHEUS_MULTIPROC_DIR set as for production's several workers); with a spool only the "
          "events that found it full and waited for their own commit go through the group commit (the spool's "
          "own batches are not counted)")
    print(f"split: the CPU's share per worker. Load average after: "
          f"{_load()} on {os.cpu_count()} CPUs (other processes on the machine make every figure noisier)")
    if _wanted("stages"):
        from bench import stages

        print("\nWhere one event's CPU goes (Steward's app in one process, events posted one after another, "
              "SQLite, default mode; each stage timed with the thread's CPU clock; python -m bench.stages):")
        stages.report(stages.measure({"uniform": SignedEvents, "realistic mix": MixedEvents}))
    if failed:
        raise RuntimeError(f"could not run: {', '.join(failed)}")


if __name__ == "__main__":
    main()
