"""The playground only where it is asked for (issue 12, finding 1): off without STEWARD_PLAYGROUND, refused
next to a real messenger, and its POSTs only from its own page on this machine (token, Origin, Host)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.db.models import InboundEvent
from core.errors import ConfigError
from tests.conftest import LOCAL, PLAYGROUND_TOKEN, build_container
from webhooks import create_app

BODY = {"user_id": "adam", "chat_id": "new-hires", "text": "@steward warn @bob R8.1.2 ads"}


def events(container) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundEvent))


@pytest.fixture
def playground(sqlite_url, clock, sandbox_config):
    container = build_container(sqlite_url, clock, sandbox_config)
    yield container, create_app(container).test_client()
    container.engine.dispose()


def test_without_the_flag_there_is_no_playground(sqlite_url, clock, sandbox_config):
    container = build_container(sqlite_url, clock, sandbox_config, extra_env={"STEWARD_PLAYGROUND": "0"})
    try:
        client = create_app(container).test_client()
        assert client.get("/sandbox/", environ_base=LOCAL).status_code == 404
        assert client.get("/sandbox/state", environ_base=LOCAL).status_code == 404
        assert client.post("/sandbox/messages", json=BODY, environ_base=LOCAL).status_code == 404
        assert client.post("/sandbox/cards", json={"user_id": "adam", "action": "case.approve", "value": "C1"},
                           environ_base=LOCAL).status_code == 404
        assert events(container) == 0
    finally:
        container.engine.dispose()


@pytest.mark.parametrize("real", [
    {"SLACK_SIGNING_SECRET": "s" * 32, "SLACK_BOT_TOKEN": "xoxb-1"},
    {"WECOM_CORP_ID": "ww1"},
    {"DINGTALK_APP_KEY": "ding1"},
])
def test_the_playground_is_refused_next_to_a_real_messenger(sqlite_url, clock, sandbox_config, real):
    with pytest.raises(ConfigError) as refused:
        build_container(sqlite_url, clock, sandbox_config, extra_env={"STEWARD_PLAYGROUND": "1", **real})
    assert "STEWARD_PLAYGROUND" in str(refused.value.problems)


def test_a_cross_site_text_plain_post_is_refused(playground):
    container, client = playground
    r = client.post("/sandbox/messages", data=json.dumps(BODY), content_type="text/plain",
                    headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, environ_base=LOCAL)
    assert r.status_code == 403
    r = client.post("/sandbox/messages", data=json.dumps(BODY), content_type="text/plain", environ_base=LOCAL)
    assert r.status_code == 403
    assert events(container) == 0


def test_a_foreign_origin_is_refused_even_with_the_token(playground):
    container, client = playground
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "http://localhost.evil.example"}):
        assert client.post("/sandbox/messages", json=BODY, headers=headers, environ_base=LOCAL).status_code == 403
    assert events(container) == 0


def test_a_post_without_the_token_is_refused(playground):
    container, client = playground
    plain = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.post("/sandbox/messages", json=BODY, environ_base=plain).status_code == 403
    assert client.post("/sandbox/messages", json=BODY, environ_base={**plain, "HTTP_X_STEWARD_CSRF": "guess"}
                       ).status_code == 403
    assert client.post("/sandbox/cards", json={"user_id": "adam", "action": "case.approve", "value": "C1"},
                       environ_base=plain).status_code == 403
    assert events(container) == 0


def test_a_proxied_or_rebound_request_is_not_local(playground):
    container, client = playground
    relayed = {**LOCAL, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.post("/sandbox/messages", json=BODY, environ_base=relayed).status_code == 403
    assert client.get("/sandbox/state", environ_base=relayed).status_code == 403
    rebound = "http://evil.example:8000"        # DNS rebinding: the attacking page's own host name
    assert client.get("/sandbox/", base_url=rebound, environ_base=LOCAL).status_code == 403
    assert client.post("/sandbox/messages", json=BODY, base_url=rebound, environ_base=LOCAL).status_code == 403
    remote = {**LOCAL, "REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/sandbox/", environ_base=remote).status_code == 403
    assert client.post("/sandbox/messages", json=BODY, environ_base=remote).status_code == 403
    assert events(container) == 0


def test_the_page_hands_out_the_token_and_a_same_origin_post_is_accepted(playground):
    container, client = playground
    page = client.get("/sandbox/", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert page.status_code == 200 and page.headers["X-Frame-Options"] == "DENY"
    assert f'content="{PLAYGROUND_TOKEN}"' in page.get_data(as_text=True)
    r = client.post("/sandbox/messages", json=BODY, environ_base=LOCAL,
                    headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200
    assert events(container) == 1


def test_without_a_configured_token_each_page_gets_its_own(sqlite_url, clock, sandbox_config):
    pages = []
    for _ in range(2):
        container = build_container(sqlite_url, clock, sandbox_config, extra_env={"STEWARD_PLAYGROUND": "1"})
        client = create_app(container).test_client()
        tokens = [_token(client.get("/sandbox/").get_data(as_text=True)) for _ in range(2)]
        assert tokens[0] != tokens[1] and all(len(t) >= 40 for t in tokens)
        for token in tokens:                                   # each page's token works in this process
            assert client.post("/sandbox/messages", json=BODY, headers={"X-Steward-CSRF": token}).status_code == 200
        assert client.post("/sandbox/messages", json=BODY, environ_base=LOCAL).status_code == 403
        forged = tokens[0].split(".")[0] + "." + "0" * 40
        assert client.post("/sandbox/messages", json=BODY, headers={"X-Steward-CSRF": forged}).status_code == 403
        if pages:                                              # another process's token is worthless here
            assert client.post("/sandbox/messages", json=BODY,
                               headers={"X-Steward-CSRF": pages[0]}).status_code == 403
        pages.append(tokens[0])
        container.engine.dispose()


def _token(page: str) -> str:
    return page.split('name="steward-csrf" content="', 1)[1].split('"', 1)[0]
