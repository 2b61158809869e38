"""One blueprint per platform: turn a Flask request into an InboundRequest and the result back.

Order at the edge: size limit -> verify on raw bytes -> parse -> hand events to the core.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, Response, request

from connectors.base import MAX_BODY_BYTES, Connector, Headers, InboundRequest
from core.errors import PayloadTooLarge
from core.events import Event

REMOTE_ADDR_HEADER = "X-Steward-Remote-Addr"


def read_body() -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge("body over 1 MiB")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("body over 1 MiB")
    return body


def inbound_request(endpoint: str) -> InboundRequest:
    body = read_body()
    headers = Headers({k: v for k, v in request.headers.items() if k.lower() != REMOTE_ADDR_HEADER.lower()})
    headers[REMOTE_ADDR_HEADER.lower()] = request.remote_addr or ""
    return InboundRequest(method=request.method, path=request.path, endpoint=endpoint, headers=headers,
                          query=request.args.to_dict(flat=True), body=body)


def blueprint(connector: Connector, ingest: Callable[[Event], object]) -> Blueprint:
    bp = Blueprint(connector.platform, __name__, url_prefix=f"/{connector.platform}")

    def make_view(endpoint: str):
        def view() -> Response:
            req = inbound_request(endpoint)
            connector.verify(req)
            result = connector.parse(req)
            for event in result.events:
                ingest(event)
            return Response(result.body, status=result.status, content_type=result.content_type)
        view.__name__ = f"{connector.platform}_{endpoint.replace('/', '_')}"
        return view

    for endpoint, methods in connector.endpoints.items():
        bp.add_url_rule(f"/{endpoint}", view_func=make_view(endpoint), methods=list(methods))
    return bp
