"""Inbound connections that need no public URL (Slack Socket Mode, DingTalk Stream mode, ...).

A messenger offers one with the manifest extra "stream": a runner class taking (connector, sink) whose
constructor raises ConfigError when the connection cannot be made (e.g. no app-level token), and whose
`run_forever()` blocks. Every runner hands parsed events to the same place as the webhooks
(`container.accept`: ingest, or the spool), so de-duplication, the archive, the policy and the outbox
behave identically.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable

from connectors import registry
from core.errors import ConfigError

log = logging.getLogger("steward.streams")


def stream_platforms() -> tuple[str, ...]:
    """The messengers that offer a connection without a public URL."""
    return tuple(m.id for m in registry.manifests() if "stream" in m.extras)


def start_streams(container, only: Iterable[str] = (),
                  stopped: Callable[[str, BaseException], None] | None = None) -> list[str]:
    """Start a daemon thread per available stream; returns the platforms started.

    A platform named in `only` that cannot stream is an error; otherwise unusable ones are skipped. A
    stream whose `run_forever` raises (a token the platform refuses, a connection that cannot be made) is
    logged and handed to `stopped(platform, error)`: `steward stream` then exits with it instead of
    running on with nothing to stream."""
    asked = set(only)

    def sink(events) -> None:
        for event in events:
            container.accept(event)

    started = []
    for platform in stream_platforms():
        connector = container.connectors.get(platform)
        if (asked and platform not in asked) or connector is None:
            continue
        try:
            runner = registry.manifest(platform).extra("stream")(connector, sink)
        except ConfigError:
            if platform in asked:
                raise
            log.info("%s: no stream (not configured for it)", platform)
            continue
        threading.Thread(target=_run, args=(platform, runner, stopped), name=f"{platform}-stream",
                         daemon=True).start()
        started.append(platform)
    return started


def _run(platform: str, runner, stopped: Callable[[str, BaseException], None] | None) -> None:
    try:
        runner.run_forever()
    except Exception as exc:
        log.error("%s: the stream stopped: %s", platform, exc, exc_info=True)
        if stopped is not None:
            stopped(platform, exc)
