"""One blueprint per platform: turn a Flask request into an InboundRequest and the result back.

Order at the edge: size limit -> verify on raw bytes -> parse -> hand events to the core.
"""
from __future__ import annotations

import logging
import struct
from typing import Callable, Mapping

from flask import Blueprint, Response, request

from connectors.base import MAX_BODY_BYTES, Connector, Headers, InboundRequest
from core.errors import BadRequest, PayloadTooLarge
from core.events import Event

log = logging.getLogger("steward.webhooks")

#: what malformed input makes the checks before verification raise (nesting too deep, `int("²")`, 5,000 digits,
#: bytes that are not UTF-8, a field of the wrong type): nobody vouched for it, answered 400 and never 500
MALFORMED = (RecursionError, ValueError, OverflowError, TypeError, KeyError, IndexError, AttributeError,
             struct.error)

REMOTE_ADDR_HEADER = "X-Steward-Remote-Addr"


_REMOTE = REMOTE_ADDR_HEADER.lower()
_CONTENT = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def read_body() -> bytes:
    """The raw body, at most 1 MiB; a larger one is 413, whether its length was announced or it came chunked
    (Werkzeug's own stream would stop a chunked body at the limit and hand on the first MiB as if whole)."""
    if request.content_length is not None:
        if request.content_length > MAX_BODY_BYTES:
            raise PayloadTooLarge("body over 1 MiB")
        stream = request.stream
    elif request.environ.get("wsgi.input_terminated"):
        stream = request.environ["wsgi.input"]          # chunked: the server ends the stream at the last chunk
    else:
        stream = request.stream
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = stream.read(min(65536, MAX_BODY_BYTES + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge("body over 1 MiB")
    return b"".join(chunks)


def headers_of(environ: dict) -> Headers:
    """The request's headers, lower-cased, read straight from the WSGI environ (this runs on every
    webhook request); a client's own X-Steward-Remote-Addr is dropped, the socket's address put there."""
    headers = Headers()
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in _CONTENT:
            name = _CONTENT[key]
        else:
            continue
        if name != _REMOTE:
            dict.__setitem__(headers, name, value)
    dict.__setitem__(headers, _REMOTE, environ.get("REMOTE_ADDR") or "")
    return headers


def inbound_request(endpoint: str) -> InboundRequest:
    body = read_body()
    return InboundRequest(method=request.method, path=request.path, endpoint=endpoint,
                          headers=headers_of(request.environ), query=request.args.to_dict(flat=True), body=body)


def blueprint(platform: str, endpoints: Mapping[str, tuple[str, ...]], connector: Connector,
              ingest: Callable[[Event], object]) -> Blueprint:
    """`/<platform>/<endpoint>` for each of the manifest's endpoints."""
    bp = Blueprint(platform, __name__, url_prefix=f"/{platform}")

    def make_view(endpoint: str):
        def view() -> Response:
            req = inbound_request(endpoint)
            try:
                payload = connector.verify(req)        # raises before anything is parsed
            except MALFORMED as exc:
                log.warning("malformed %s request refused before verification: %s", endpoint, type(exc).__name__)
                raise BadRequest(f"malformed request ({type(exc).__name__})") from None
            try:
                result = connector.parse(req, payload)
            except (RecursionError, UnicodeError) as exc:
                # verified, yet nested too deep or not text: the same request will never parse (no retry);
                # any other error stays a 500, so the platform retries once the cause is fixed
                log.warning("unparseable verified %s request: %s", endpoint, type(exc).__name__)
                raise BadRequest(f"malformed request ({type(exc).__name__})") from None
            for event in result.events:
                ingest(event)
            return Response(result.body, status=result.status, content_type=result.content_type)
        view.__name__ = f"{platform}_{endpoint.replace('/', '_')}"
        return view

    for endpoint, methods in endpoints.items():
        bp.add_url_rule(f"/{endpoint}", view_func=make_view(endpoint), methods=list(methods))
    return bp
