"""The fast path answers the platforms' POSTs as Flask alone would (webhooks/platform.py FastPath), on the real
wire formats of Slack, WeCom and DingTalk: each request below goes once through the whole app (the fast path
first) and once, fresh, through the Flask app beneath it, and the two answers must agree — status, content
type and body — for a good event and for every way a request can be wrong: a body changed after signing, a
signature missing, a Content-Length written the way `int()` reads but HTTP does not ("+N", "N_0", other
scripts' digits, spaces around), a Transfer-Encoding, an empty body, a query that is not UTF-8."""
from __future__ import annotations

import io
import json

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from core.config import parse_config
from tests.conftest import build_container
from tests.e2e.platform_support import SlackSide, WeComSide, Wire, group_yaml
from webhooks import create_app
from webhooks.platform import FastPath


@pytest.fixture
def app(db_url, clock, side):
    config = parse_config("locale: en\ngroups:\n" + group_yaml(side) + "\n")
    container = build_container(db_url, clock, config, side.env())
    yield create_app(container)
    container.engine.dispose()


def good(side) -> Wire:
    """A member's ordinary message, as this platform sends it to Steward."""
    if isinstance(side, SlackSide):
        ts = f"{int(side.clock.now().timestamp())}.{side.next_id():06d}"
        return side.event({"type": "message", "user": side.users["bob"], "text": "hello", "ts": ts,
                           "team": "T0STEWARD", "channel": side.chat, "event_ts": ts, "channel_type": "channel"})
    if isinstance(side, WeComSide):
        return side.app_text(side.users["bob"], "hello")
    return side.robot_message(side.users["bob"], "hello")


def environ_of(wire: Wire, **change) -> dict:
    builder = EnvironBuilder(path=wire.path, method=wire.method, data=wire.body, headers=wire.headers,
                             query_string=wire.query, content_type=wire.content_type)
    environ = builder.get_environ()
    body = change.pop("body", wire.body)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["REMOTE_ADDR"] = "127.0.0.1"
    for key, value in change.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


def answer(wsgi, environ: dict) -> tuple[str, str, object]:
    environ = {**environ, "wsgi.input": io.BytesIO(environ["wsgi.input"].getvalue())}
    iterable, status, headers = run_wsgi_app(wsgi, environ)
    body = b"".join(iterable)
    getattr(iterable, "close", lambda: None)()
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        return status, content_type, json.loads(body)
    return status, content_type, body


def variants(side, wire: Wire) -> dict[str, dict]:
    length = str(len(wire.body))
    signed = {k.upper().replace("-", "_") for k in wire.headers}
    out = {
        "changed after signing": environ_of(wire, body=wire.body.replace(b"hello", b"hellO") if b"hello" in wire.body
                                            else wire.body[:-2] + b"==" if len(wire.body) > 2 else b"x"),
        "empty body": environ_of(wire, body=b""),
        "plus sign": environ_of(wire, CONTENT_LENGTH="+" + length),
        "underscore": environ_of(wire, CONTENT_LENGTH=length[:-1] + "_" + length[-1]),
        "other digits": environ_of(wire, CONTENT_LENGTH="".join(chr(0x0660 + int(d)) for d in length)),
        "spaces around": environ_of(wire, CONTENT_LENGTH=f" {length}\t"),
        "not a number": environ_of(wire, CONTENT_LENGTH="twelve"),
        "leading zeros": environ_of(wire, CONTENT_LENGTH="00" + length),
        "superscript digits": environ_of(wire, CONTENT_LENGTH="".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in length)),
        "negative": environ_of(wire, CONTENT_LENGTH="-" + length),
        "over the body limit": environ_of(wire, CONTENT_LENGTH="9" * 12),
        "5,000 digits": environ_of(wire, CONTENT_LENGTH="9" * 5000),
        "transfer-encoding identity": environ_of(wire, HTTP_TRANSFER_ENCODING="identity"),
        "transfer-encoding": environ_of(wire, HTTP_TRANSFER_ENCODING="chunked"),
        "query not utf-8": environ_of(wire, QUERY_STRING=(environ_of(wire)["QUERY_STRING"] + "&x=%ff%fe\u00e9")
                                      .lstrip("&")),
    }
    for header in signed:
        out[f"without {header}"] = environ_of(wire, **{f"HTTP_{header}": None})
    return out


def test_a_good_event_is_answered_alike(side, app):
    fast, flask_only = app.wsgi_app, app.wsgi_app.app
    assert isinstance(fast, FastPath)
    first, second = good(side), good(side)        # two events: the second is no duplicate of the first
    assert answer(fast, environ_of(first))[0] == answer(flask_only, environ_of(second))[0] == "200 OK"


def test_every_wrong_request_is_answered_as_flask_answers_it(side, app):
    fast, flask_only = app.wsgi_app, app.wsgi_app.app
    seen = set()
    for name, environ in variants(side, good(side)).items():
        by_fast, by_flask = answer(fast, environ), answer(flask_only, environ)
        assert by_fast == by_flask, name
        seen.add(by_fast[0])
    assert any(not status.startswith("2") for status in seen)    # the table does reach the refusals
    assert not any(status.startswith("5") for status in seen)    # and none of them is retried for nothing


def test_a_query_that_is_not_utf_8_is_a_bad_request_not_a_retry(side, app):
    wire = good(side)
    query = (environ_of(wire)["QUERY_STRING"] + "&x=\u00ff\u00fe").lstrip("&")   # raw bytes 0xff 0xfe
    for wsgi in (app.wsgi_app, app.wsgi_app.app):
        assert answer(wsgi, environ_of(wire, QUERY_STRING=query))[0] == "400 BAD REQUEST"
