"""The Flask app factory. The container (steward/container.py) is built by the caller.

Each configured messenger's endpoints are mounted from its manifest in the connector registry, at
`/<id>/<endpoint>`: a messenger registered before the app is created answers without a change here.
"""
from __future__ import annotations

from flask import Flask

from connectors import registry
from connectors.base import MAX_BODY_BYTES
from webhooks import errors, health, observability, platform, sandbox
from webhooks.console import views as console_views

#: pages a manifest may ask for next to its endpoints (its `page`), by name
PAGES = {"playground": sandbox.blueprint}


def create_app(container) -> Flask:
    app = Flask("steward")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_AS_ASCII"] = False
    app.extensions["steward"] = container
    errors.register(app)
    app.register_blueprint(health.blueprint(container))
    observability.register(app, container)     # /readyz, /metrics, request ids
    app.register_blueprint(console_views.blueprint(container))

    def handle(event) -> None:
        container.accept(event)

    fast = {}
    for name, connector in container.connectors.items():
        manifest = registry.manifest(name)
        if not manifest.real and not container.settings.playground:
            continue    # the playground only where it is asked for: STEWARD_PLAYGROUND (docs/security.md)
        app.register_blueprint(platform.blueprint(manifest.id, manifest.endpoints, connector, handle))
        for endpoint, methods in manifest.endpoints.items():
            if "POST" in methods:
                view = f"{manifest.id}_{endpoint.replace('/', '_')}"
                fast[f"/{manifest.id}/{endpoint}"] = (f"{manifest.id}.{view}", endpoint, connector, handle)
        page = manifest.page
        if page is not None:
            app.register_blueprint(PAGES[page](container, connector))
    app.wsgi_app = platform.FastPath(app.wsgi_app, fast)   # the platforms' POSTs without Flask's request
    return app
