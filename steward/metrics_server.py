"""`steward worker --metrics-port`: the worker's /metrics (and /healthz) on a port of its own, in a thread.

Same rule as the web app's /metrics: loopback clients, or the bearer token STEWARD_METRICS_TOKEN when set.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from steward import metrics

log = logging.getLogger("steward.metrics")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:   # scrapes are not news
        pass


class _ThreadingServer(WSGIServer):
    daemon_threads = True


def app(container):
    token = container.settings.metrics_token

    def allowed(environ) -> bool:
        if token:
            given = environ.get("HTTP_AUTHORIZATION", "")
            return given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())
        try:
            return ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback
        except ValueError:
            return False

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not allowed(environ):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"forbidden\n"]
        body, content_type = metrics.exposition(container)
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def serve_metrics(container, host: str, port: int) -> threading.Thread:
    server = make_server(host, port, app(container), server_class=_ThreadingServer, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="steward-metrics", daemon=True)
    thread.start()
    log.info("worker metrics on http://%s:%d/metrics", host, port)
    return thread
