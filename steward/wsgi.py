"""WSGI entry for gunicorn: `gunicorn 'steward.wsgi:create()'`. Delivery runs in `steward worker`."""
from __future__ import annotations

from flask import Flask


def create() -> Flask:
    from core.kernel.config_sync import sync_config
    from steward.container import build
    from webhooks import create_app

    container = build()
    container.check_migrated()
    with container.sessions.begin() as s:
        sync_config(s, container.config, container.clock.now())
    return create_app(container)
