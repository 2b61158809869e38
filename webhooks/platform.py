"""One blueprint per platform: turn a Flask request into an InboundRequest and the result back.

Order at the edge: size limit -> verify on raw bytes -> parse -> hand events to the core.
"""
from __future__ import annotations

import io
import logging
import struct
import time
from typing import Callable, Mapping
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" codec error handler _query uses)
from flask import Blueprint, Response, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.sansio.utils import get_content_length

from connectors.base import MAX_BODY_BYTES, Connector, Headers, InboundRequest, InboundResult
from core.errors import BadRequest, PayloadTooLarge
from core.events import Event
from steward import logs, metrics
from webhooks.observability import REQUEST_ID_HEADER

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


def _header_name(key: str) -> str:
    """The header an environ key carries ("" for none), remembered for the few hundred keys seen first."""
    name = key[5:].replace("_", "-").lower() if key.startswith("HTTP_") else _CONTENT.get(key, "")
    if len(_NAMES) < 512:
        _NAMES[key] = name
    return name


_NAMES: dict[str, str] = {}


def headers_of(environ: dict) -> Headers:
    """The request's headers, lower-cased, read straight from the WSGI environ (this runs on every
    webhook request); a client's own X-Steward-Remote-Addr is dropped, the socket's address put there."""
    headers, names = Headers(), _NAMES
    for key, value in environ.items():
        name = names.get(key)
        if name is None:
            name = _header_name(key)
        if name and name != _REMOTE:
            dict.__setitem__(headers, name, value)
    dict.__setitem__(headers, _REMOTE, environ.get("REMOTE_ADDR") or "")
    return headers


def inbound_request(endpoint: str) -> InboundRequest:
    body = read_body()
    return InboundRequest(method=request.method, path=request.path, endpoint=endpoint,
                          headers=headers_of(request.environ), query=_query(request.environ.get("QUERY_STRING")),
                          body=body)


def handle(connector: Connector, ingest: Callable[[Event], object], req: InboundRequest) -> InboundResult:
    """Verify, parse, hand each event to the core: the webhook's whole work, with or without Flask."""
    try:
        payload = connector.verify(req)        # raises before anything is parsed
    except MALFORMED as exc:
        log.warning("malformed %s request refused before verification: %s", req.endpoint, type(exc).__name__)
        raise BadRequest(f"malformed request ({type(exc).__name__})") from None
    try:
        result = connector.parse(req, payload)
    except (RecursionError, UnicodeError) as exc:
        # verified, yet nested too deep or not text: the same request will never parse (no retry);
        # any other error stays a 500, so the platform retries once the cause is fixed
        log.warning("unparseable verified %s request: %s", req.endpoint, type(exc).__name__)
        raise BadRequest(f"malformed request ({type(exc).__name__})") from None
    for event in result.events:
        ingest(event)
    return result


#: set by FastPath on a request it could not answer itself: the view raises it again inside Flask
FAILED = "steward.webhook_failed"


def blueprint(platform: str, endpoints: Mapping[str, tuple[str, ...]], connector: Connector,
              ingest: Callable[[Event], object]) -> Blueprint:
    """`/<platform>/<endpoint>` for each of the manifest's endpoints."""
    bp = Blueprint(platform, __name__, url_prefix=f"/{platform}")

    def make_view(endpoint: str):
        def view() -> Response:
            failed = request.environ.pop(FAILED, None)
            if failed is not None:
                raise failed
            result = handle(connector, ingest, inbound_request(endpoint))
            return Response(result.body, status=result.status, content_type=result.content_type)
        view.__name__ = f"{platform}_{endpoint.replace('/', '_')}"
        return view

    for endpoint, methods in endpoints.items():
        bp.add_url_rule(f"/{endpoint}", view_func=make_view(endpoint), methods=list(methods))
    return bp


class FastPath:
    """WSGI middleware in front of Flask for the platforms' POSTs, the path of every inbound event.

    A POST to `/<platform>/<endpoint>` with a Content-Length within the limit is read, verified, parsed
    and handed to the core here, with the request id, its log context and the latency metric the Flask
    app would give it, and answered without building a Flask request: Flask's request context, URL
    matching, hooks and response object cost more than Steward's own work for a chat message. Anything
    else — another path or method, a chunked or oversized body — goes to Flask untouched; a request
    that fails goes to Flask with its body and its exception (FAILED), which the view raises again, so
    every refusal is answered, logged and counted by the one error mapping (webhooks/errors.py).
    """

    def __init__(self, app, routes: Mapping[str, tuple[str, str, Connector, Callable[[Event], object]]]) -> None:
        self.app, self.routes = app, dict(routes)     # path -> (endpoint name for metrics, endpoint, ...)

    def __call__(self, environ: dict, start_response):
        route = self.routes.get(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "POST" else None
        if route is None:
            return self.app(environ, start_response)
        # the length exactly as Flask's request reads it (Werkzeug's own function: "+12", "1_2" or other
        # scripts' digits are 0, not what int() makes of them; chunked is a stream, left to Flask). Up to 9 plain
        # ASCII digits and no Transfer-Encoding, as every platform sends, read the same by int() at a tenth of
        # the cost; longer ones go to Werkzeug too (int() refuses 4,301 digits and more, Werkzeug reads them as 0)
        declared, coding = environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING")
        length = int(declared) if coding is None and declared and len(declared) <= 9 and declared.isascii() \
            and declared.isdigit() else get_content_length(declared, coding)
        if length is None or length > MAX_BODY_BYTES:
            return self.app(environ, start_response)
        name, endpoint, connector, ingest = route
        stream, chunks, size = environ["wsgi.input"], [], 0
        while size < length:
            chunk = stream.read(length - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        environ["wsgi.input"] = io.BytesIO(body)        # for Flask, should it answer after all
        if size < length:
            return self.app(environ, start_response)    # the client went away: Flask answers as ever
        started = time.perf_counter()
        rid = logs.request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ["HTTP_X_REQUEST_ID"] = rid      # should Flask answer after all: the same id in its logs and answer
        token = logs.request_id.set(rid)
        try:
            req = InboundRequest(method="POST", path=environ["PATH_INFO"], endpoint=endpoint,
                                 headers=headers_of(environ), query=_query(environ.get("QUERY_STRING")), body=body)
            result = handle(connector, ingest, req)
        except Exception as exc:
            environ[FAILED] = exc
            return self.app(environ, start_response)
        finally:
            logs.request_id.reset(token)
        answer = result.body.encode() if isinstance(result.body, str) else result.body
        start_response(f"{result.status} {HTTP_STATUS_CODES.get(result.status, 'UNKNOWN')}", [
            ("Content-Type", result.content_type or "text/plain; charset=utf-8"),
            ("Content-Length", str(len(answer))), (REQUEST_ID_HEADER, rid)])
        metrics.child(metrics.m().http, name, str(result.status)).observe(time.perf_counter() - started)
        return [answer]


def _query(query_string: str | None) -> dict[str, str]:
    """The query's first value of each name, decoded as Werkzeug's `request.args` decodes it (the WSGI string's
    bytes as UTF-8; a percent-escape that is not UTF-8 stays escaped), for the fast path and Flask alike. Raw
    bytes that are not UTF-8 are a malformed request (400: the platform does not retry), where `request.args`
    would have raised (500: retried for nothing)."""
    if not query_string:
        return {}
    try:
        text = query_string.encode("latin-1").decode()
    except UnicodeError:
        raise BadRequest("malformed request (query not UTF-8)") from None
    out: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"):
        out.setdefault(key, value)
    return out
