"""The Flask app factory. The container (steward/container.py) is built by the caller."""
from __future__ import annotations

from flask import Flask

from connectors.base import MAX_BODY_BYTES
from webhooks import errors, health, platform, sandbox


def create_app(container) -> Flask:
    app = Flask("steward")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_AS_ASCII"] = False
    app.extensions["steward"] = container
    errors.register(app)
    app.register_blueprint(health.blueprint(container))

    def handle(event) -> None:
        container.accept(event)

    for name, connector in container.connectors.items():
        app.register_blueprint(platform.blueprint(connector, handle))
        if name == "sandbox":
            app.register_blueprint(sandbox.blueprint(container, connector))
    return app
