"""`steward serve`: the web app under gunicorn, or Werkzeug's development server with `--dev`.

Under gunicorn (worker class gthread) each web process builds its own container after the fork: its own
database engine, connectors, rate limiter and spool file, nothing shared across a fork. A request may
take `--timeout` seconds; a connection that says nothing, before its first request or between two, is
closed after `--keep-alive` seconds without holding a request thread meanwhile; request lines and headers
are bounded (LIMITS). The embedded delivery worker runs in exactly one web process at a time (see
`_deliver_when_elected`).
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import selectors
import shutil
import socket
import struct
import tempfile
import threading
import time
from functools import partial

import click
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

from connectors import registry
from steward.cli.common import friendly, synced_container

DEFAULT_THREADS = 4
DEFAULT_TIMEOUT = 30      # seconds a request may take, and the longest a client may stall while sending one
DEFAULT_KEEP_ALIVE = 5    # seconds an idle connection stays open
#: gunicorn's own bounds, stated here so they never depend on its version: request line (bytes), header
#: count, header size (bytes). Webhooks carry their data in the body; their URLs and headers are short.
LIMITS = {"limit_request_line": 4094, "limit_request_fields": 100, "limit_request_field_size": 8190}


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
    @click.option("--workers", type=click.IntRange(1, 64),
                  help="Web processes.  [default: 2 with STEWARD_REDIS_URL and no sandbox, else 1]")
    @click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1, 256),
                  help="Request threads per web process.")
    @click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=click.IntRange(1, 3600),
                  help="Seconds a request may take, and a client may stall while sending one.")
    @click.option("--keep-alive", default=DEFAULT_KEEP_ALIVE, show_default=True, type=click.IntRange(1, 300),
                  help="Seconds an idle connection stays open, before its first request and between requests.")
    @click.option("--no-worker", is_flag=True, help="Do not run the embedded delivery worker.")
    @click.option("--dev", is_flag=True,
                  help="Werkzeug's development server instead (one process, a thread per connection, no timeouts).")
    @friendly
    def serve(host: str, port: int, workers: int | None, threads: int, timeout: int, keep_alive: int,
              no_worker: bool, dev: bool) -> None:
        """Run the web app (webhooks, /healthz, the sandbox playground) with an embedded worker."""
        container = synced_container()
        if dev:
            _serve_dev(container, host, port, no_worker)
            return
        single = _one_process_only(container)
        if workers is None:
            workers = 1 if single else 2
        elif workers > 1:
            for reason in single:
                click.secho(f"warning: {workers} web processes: {reason}", fg="yellow", err=True)
        _banner(container, host, port, no_worker)
        click.echo(f"  server:     gunicorn, {workers} process(es) × {threads} thread(s), request timeout "
                   f"{timeout} s, idle connections closed after {keep_alive} s")
        import steward.worker  # noqa: F401  (imported here once, before the fork: the processes boot fast)
        import webhooks  # noqa: F401

        container.engine.dispose()    # each web process opens its own connections
        lock_dir = None if no_worker else tempfile.mkdtemp(prefix="steward-serve-")
        from steward import metrics
        metrics_dir, made = metrics.prepare_multiprocess_dir()   # before any metric exists: /metrics sums all
        try:
            WebServer(_bind(host, port), workers=workers, threads=threads, timeout=timeout, keep_alive=keep_alive,
                      delivery_lock=os.path.join(lock_dir, "delivery.lock") if lock_dir else None).run()
        finally:
            if lock_dir:
                shutil.rmtree(lock_dir, ignore_errors=True)
            if made:
                shutil.rmtree(metrics_dir, ignore_errors=True)


def _banner(container, host: str, port: int, no_worker: bool) -> None:
    base = f"http://{host}:{port}"
    click.echo(f"Steward is listening on {base}")
    click.echo(f"  health:     {base}/healthz")
    for platform in container.connectors:
        manifest = registry.manifest(platform)
        if not manifest.real and not container.settings.playground:
            continue
        for endpoint in manifest.endpoints:
            click.echo(f"  {platform:<10}  {base}/{platform}/{endpoint}")
        if manifest.page is not None:
            click.echo(f"  playground: {base}/{platform}/")
    click.echo(f"  worker:     {'embedded' if not no_worker else 'off (run `steward worker`)'}")


def _serve_dev(container, host: str, port: int, no_worker: bool) -> None:
    from werkzeug.serving import run_simple

    from steward.worker import start_embedded
    from webhooks import create_app

    app = create_app(container)
    container.warm()
    if not no_worker:
        start_embedded(container)
    _banner(container, host, port, no_worker)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if container.spool is not None:
            container.spool.stop()     # commit what the webhooks accepted before exiting


def _one_process_only(container) -> list[str]:
    """Why this deployment is right with a single web process (none: several are fine)."""
    reasons = []
    if not container.settings.redis_url:
        reasons.append("without STEWARD_REDIS_URL each counts floods and the platforms' rate limits on its own")
    if "sandbox" in container.connectors:
        reasons.append("the sandbox keeps its transcript in the process that delivers, the playground may ask "
                       "another one")
    return reasons


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- gunicorn ------------------------------------------------------------------------------------

class WebServer(BaseApplication):
    """gunicorn, configured from code: no config file, no command line of its own, no control socket."""

    def __init__(self, bind: str, *, workers: int, threads: int, timeout: int, keep_alive: int,
                 delivery_lock: str | None) -> None:
        level = os.environ.get("STEWARD_LOG_LEVEL", "INFO").lower()
        self.options = {
            "bind": bind, "workers": workers, "worker_class": f"{__name__}.IdleBoundThreadWorker", "threads": threads,
            "timeout": timeout, "keepalive": keep_alive, **LIMITS,
            "proc_name": "steward", "loglevel": level if level in ("debug", "info", "warning", "error") else "info",
            "worker_exit": _worker_exit, "child_exit": _child_exit,
            # recent gunicorn opens a control socket at one fixed path per user; Steward has no use for it
            "control_socket_disable": True,
        }
        self.delivery_lock = delivery_lock
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:      # a setting this gunicorn version does not know is left out
                self.cfg.set(key, value)

    def load(self):
        """Runs in each web process after the fork."""
        from steward.container import build
        from webhooks import create_app

        _process.container = build()
        _process.container.warm()
        if self.delivery_lock:
            _process.stop = threading.Event()
            _process.delivery = threading.Thread(target=_deliver_when_elected, name="steward-worker-election",
                                                 args=(_process.container, self.delivery_lock, _process.stop),
                                                 daemon=True)
            _process.delivery.start()
        return create_app(_process.container)


class _Process:
    """What this web process built in WebServer.load (one per process: set after the fork)."""
    container = None
    delivery: threading.Thread | None = None
    delivering = False      # this process holds the lock and runs the delivery loop
    stop: threading.Event | None = None


_process = _Process()


def _deliver_when_elected(container, lock_path: str, stop: threading.Event) -> None:
    """The embedded delivery worker, in one web process of this server at a time.

    Every web process waits for an exclusive lock on a file of this server (a temporary directory made by
    `steward serve`); the one holding it delivers, as `steward serve --dev` does in its only process. When
    that process ends (restarted by gunicorn after a timeout, or crashed) the kernel releases its lock and
    another process takes over. One delivery loop per server, as before gunicorn: never one per process
    unless asked for with `steward worker`, which may run side by side anyway.
    """
    from steward.worker import run_worker

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)   # blocks (without the GIL) while another process delivers
        if not stop.is_set():
            _process.delivering = True
            run_worker(container, stop)
    finally:
        os.close(fd)


def _worker_exit(_server, _worker) -> None:
    """A web process ends: stop its delivery loop, then commit what its spool accepted."""
    if _process.stop is not None:
        _process.stop.set()
        if _process.delivering and _process.delivery is not None:
            _process.delivery.join(timeout=10)     # the delivery in hand ends; a thread still waiting is left
    container = _process.container
    if container is not None and container.spool is not None:
        container.spool.stop()


def _child_exit(_server, worker) -> None:
    """In gunicorn's master: a web process ended; /metrics forgets its live values."""
    from steward import metrics
    metrics.process_dead(worker.pid)


def _stall_limit(sock: socket.socket, seconds: int) -> None:
    """A blocking read or write on `sock` that waits `seconds` fails instead of holding its thread."""
    limit = struct.pack("ll", seconds, 0)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
    except (OSError, struct.error):   # a platform without these options: gunicorn's own behaviour
        pass


class _StalledClients(logging.Filter):
    """One debug line, not a traceback, for each client cut off by `_stall_limit`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.exc_info and isinstance(record.exc_info[1], BlockingIOError)):
            return True
        record.msg, record.args, record.exc_info, record.exc_text = \
            "closed a connection whose client stalled for --timeout seconds", (), None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class IdleBoundThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, with new connections handled like kept-alive ones.

    The stock worker hands a new connection to a request thread at once and the thread waits there for
    the first bytes; fifty silent connections then queue ahead of a real request. Here a new connection
    waits in the worker's poller until it is readable, closed after `keepalive` seconds if it stays
    silent, and a client that stalls in the middle of a request is cut off after `timeout` seconds.
    With a gunicorn without deferred connections (before 25) the stock behaviour applies.
    """

    def init_process(self) -> None:
        logging.getLogger("gunicorn.error").addFilter(_StalledClients())
        super().init_process()

    def accept(self, *args) -> None:
        listener = args[-1]
        if not hasattr(self, "pending_conns") or not hasattr(self, "on_pending_socket_readable"):
            return super().accept(*args)
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        _stall_limit(client, self.cfg.timeout)
        conn = TConn(self.cfg, client, address, listener.getsockname())   # non-blocking until readable
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(client, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))
