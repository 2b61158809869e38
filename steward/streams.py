"""Inbound connections that need no public URL: Slack Socket Mode and DingTalk Stream mode.

Both runners hand parsed events to the same place as the webhooks (`container.accept`: ingest, or the
spool), so de-duplication, the archive, the policy and the outbox behave identically.
"""
from __future__ import annotations

import logging
import threading
from typing import Iterable

log = logging.getLogger("steward.streams")


def start_streams(container, only: Iterable[str] = ()) -> list[str]:
    """Start a daemon thread per available stream; returns the platforms started."""
    wanted = set(only) or {"slack", "dingtalk"}

    def sink(events) -> None:
        for event in events:
            container.accept(event)

    started = []
    slack = container.connectors.get("slack")
    if "slack" in wanted and slack is not None and slack.settings.app_token:
        from connectors.slack.socket import SocketModeRunner
        SocketModeRunner(slack, sink).start()
        started.append("slack")
    dingtalk = container.connectors.get("dingtalk")
    if "dingtalk" in wanted and dingtalk is not None:
        from connectors.dingtalk.stream import StreamRunner
        runner = StreamRunner(dingtalk, sink)
        threading.Thread(target=runner.run_forever, name="dingtalk-stream", daemon=True).start()
        started.append("dingtalk")
    return started
