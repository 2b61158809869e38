"""What the load balancer and the monitoring ask: GET /readyz, GET /metrics; request ids and request metrics.

- `/healthz` (webhooks/health.py) is liveness: the process answers.
- `/readyz` is readiness: the database answers, Redis answers (when `STEWARD_REDIS_URL` is set) and the
  schema is the one the code needs. 200 or 503 with each check named; nothing secret in the body.
- `/metrics` is Prometheus' text format (steward/metrics.py). It answers a client on the loopback
  interface, or anyone presenting `Authorization: Bearer <STEWARD_METRICS_TOKEN>`; when the token is set,
  only with it. Anything else gets 403 (and the proxy in front should not route it at all).
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from flask import Blueprint, Flask, Response, g, jsonify, request

from core.errors import StewardError
from steward import logs, metrics

log = logging.getLogger("steward.webhooks")

REQUEST_ID_HEADER = "X-Request-Id"
#: statuses with which a platform's request is refused at the edge (signature, replay window, source)
REFUSED = (401, 403)


def register(app: Flask, container) -> None:
    """Mount /readyz and /metrics, and give every request an id, a log context and a latency metric."""
    app.register_blueprint(blueprint(container))
    platforms = set(container.connectors)

    @app.before_request
    def _start() -> None:
        g.steward_request_id = logs.request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.steward_started = time.perf_counter()
        g.steward_token = logs.request_id.set(g.steward_request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.pop("steward_started", None)
        blueprint_name = request.blueprint or "-"
        if started is not None:
            endpoint = request.endpoint or "unrouted"
            metrics.m().http.labels(endpoint, str(response.status_code)).observe(time.perf_counter() - started)
        if blueprint_name in platforms and response.status_code in REFUSED:
            metrics.m().verify.labels(blueprint_name, str(response.status_code)).inc()
        rid = g.get("steward_request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        return response

    @app.teardown_request
    def _reset(_exc) -> None:
        token = g.pop("steward_token", None)
        if token is not None:
            try:
                logs.request_id.reset(token)
            except ValueError:   # set in another context (cannot happen under WSGI, harmless if it does)
                pass


def blueprint(container) -> Blueprint:
    bp = Blueprint("observability", __name__)

    @bp.get("/readyz")
    def readyz():
        checks: dict[str, str] = {}
        ok = True
        try:
            state = container.check_migrated()
            checks["database"] = "ok"
            checks["migrations"] = "current" if state == "current" else "ahead: a newer version has migrated"
        except StewardError as exc:
            ok = False
            text = str(exc)
            if "steward db upgrade" in text:
                checks["database"], checks["migrations"] = "ok", "behind: run `steward db upgrade`"
            else:
                checks["database"] = "unreachable"
        if container.settings.redis_url:
            checks["redis"] = _redis(container.settings.redis_url)
            ok = ok and checks["redis"] == "ok"
        return jsonify(status="ready" if ok else "unavailable", checks=checks), 200 if ok else 503

    @bp.get("/metrics")
    def prometheus():
        if not _may_scrape(container):
            return jsonify(error="forbidden"), 403
        body, content_type = metrics.exposition(container)
        return Response(body, status=200, content_type=content_type)

    return bp


def _redis(url: str) -> str:
    try:
        import redis
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:   # a readiness probe answers, whatever Redis does
        log.warning("readyz: redis unavailable: %s", type(exc).__name__)
        return "unreachable"


def _may_scrape(container) -> bool:
    token = container.settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        return given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())
    try:
        return ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False
