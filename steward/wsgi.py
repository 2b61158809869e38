"""WSGI entry for gunicorn: `gunicorn 'steward.wsgi:create()'`. Delivery runs in `steward worker`.

Logging is set up here (STEWARD_LOG_LEVEL, STEWARD_LOG_FORMAT), so INFO lines appear under plain gunicorn
too. With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR to an empty directory (emptied at every
start) so that /metrics sums them all (steward/metrics.py).
"""
from __future__ import annotations

from flask import Flask


def create() -> Flask:
    from core.kernel.config_sync import sync_config
    from steward import logs
    from steward.container import build
    from webhooks import create_app

    logs.configure()
    container = build()
    container.check_migrated()
    with container.sessions.begin() as s:
        sync_config(s, container.config, container.clock.now())
    container.warm()
    return create_app(container)
