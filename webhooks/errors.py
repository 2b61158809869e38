"""The one mapping from Steward's errors to HTTP answers. Bodies never echo input or secrets."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from core.errors import InboundError

log = logging.getLogger("steward.webhooks")

MESSAGES = {400: "bad request", 401: "signature check failed", 403: "forbidden", 404: "not found",
            413: "payload too large", 503: "temporarily unavailable"}


def register(app: Flask) -> None:
    @app.errorhandler(InboundError)
    def inbound(exc: InboundError):
        log.info("refused %s: %s", exc.status, type(exc).__name__)
        return jsonify(error=MESSAGES.get(exc.status, "error"), detail=str(exc)[:200]), exc.status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        return jsonify(error=MESSAGES[413]), 413

    @app.errorhandler(OperationalError)
    def database_down(exc):
        # The platform retries on 5xx: nothing is lost, nothing half-written (one transaction).
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else "?")
        return jsonify(error=MESSAGES[503]), 503

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException):
        return jsonify(error=exc.name.lower()), exc.code or 500
