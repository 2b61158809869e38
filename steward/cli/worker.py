"""`steward worker` and `steward stream`: processes that deliver, and that receive events without a public URL."""
from __future__ import annotations

import signal
import threading

import click

from core.errors import ConfigError, StewardError
from steward.cli.common import Platforms, build_container, friendly, synced_container
from steward.streams import stream_platforms


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    @click.option("--metrics-port", type=click.IntRange(1, 65535),
                  help="Serve this worker's Prometheus metrics (deliveries, rate-limit waits) on this port.")
    @click.option("--metrics-host", default="127.0.0.1", show_default=True,
                  help="Interface for --metrics-port.")
    @friendly
    def worker(once: bool, metrics_port: int | None, metrics_host: str) -> None:
        """Run a delivery worker on its own (several may run side by side)."""
        from steward.worker import drain, run_worker

        container = build_container()
        container.check_migrated()
        if once:
            click.echo(f"delivered {drain(container)} item(s)")
            return
        if metrics_port:
            from steward.metrics_server import serve_metrics
            serve_metrics(container, metrics_host, metrics_port)
        run_worker(container, _stop_on_signals())

    @main.command()
    @click.option("--platform", "platforms", multiple=True, type=Platforms(stream_platforms),
                  help="Only this platform (repeatable). Default: every platform configured for it.")
    @click.option("--no-worker", is_flag=True, help="Do not run the embedded delivery worker.")
    @friendly
    def stream(platforms: tuple[str, ...], no_worker: bool) -> None:
        """Receive events without a public URL: Slack Socket Mode (SLACK_APP_TOKEN) and DingTalk Stream mode."""
        from steward.streams import start_streams
        from steward.worker import start_embedded

        container = synced_container()
        stop, failures = _stop_on_signals(), []

        def stopped(platform: str, error: BaseException) -> None:
            failures.append(f"the {platform} stream stopped: {type(error).__name__}: {error}")
            stop.set()

        started = start_streams(container, platforms, stopped)
        if not started:
            raise ConfigError([f"no stream to start: none of {', '.join(platforms or stream_platforms())} is configured "
                               "for a connection without a public URL (see README, `steward stream`)"])
        if not no_worker:
            start_embedded(container)
        click.echo(f"streaming from {', '.join(started)}; worker {'embedded' if not no_worker else 'off'}")
        stop.wait()
        if failures:
            raise StewardError("; ".join(failures))
