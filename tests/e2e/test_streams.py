"""`steward stream`: Socket Mode events reach the same ingest path as the webhooks (Slack fake)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from core.config import parse_config
from core.db.models import ArchivedMessage
from steward.streams import start_streams
from tests.conftest import build_container
from tests.fakes.slack_api import FakeSlack

CONFIG = """
groups:
  - platform: slack
    chat_id: C0TRAIN01
    name: New hires
    kind: new-hire
    lead: slack:U0LEAD01
    admins: [slack:U0ADMIN1]
"""


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        fake.enable_socket_mode()
        yield fake


def test_socket_mode_feeds_the_core(sqlite_url, clock, slack):
    container = build_container(sqlite_url, clock, parse_config(CONFIG), slack.env(app=True))
    assert start_streams(container, ["slack"]) == ["slack"]
    socket = slack.enable_socket_mode()
    assert socket.connected.wait(5)
    socket.send({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                 "payload": {"type": "event_callback", "event_id": "Ev0STREAM1", "team_id": "T1",
                             "authorizations": [{"user_id": "U0BOT", "is_bot": True}],
                             "event": {"type": "message", "channel": "C0TRAIN01", "channel_type": "channel",
                                       "user": "U0MEMBER1", "text": "今天几点上课？", "ts": "1764070000.000100"}}})
    assert socket.acks.get(timeout=5) == {"envelope_id": "env-1"}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with container.sessions() as s:
            archived = s.scalar(select(ArchivedMessage))
        if archived is not None:
            break
        time.sleep(0.05)
    assert archived is not None and archived.text == "今天几点上课？" and archived.group_id is not None


def test_no_stream_configured_starts_nothing(sqlite_url, clock, sandbox_config):
    assert start_streams(build_container(sqlite_url, clock, sandbox_config)) == []


def test_a_messenger_that_cannot_stream_is_skipped_unless_asked_for(sqlite_url, clock, slack):
    """Slack without SLACK_APP_TOKEN has no Socket Mode: skipped when every stream is started, an error naming
    the variable when Slack's stream is asked for by name."""
    from core.errors import ConfigError

    container = build_container(sqlite_url, clock, parse_config(CONFIG), slack.env(app=False))
    assert start_streams(container) == []
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        start_streams(container, ["slack"])


def test_a_stream_that_cannot_connect_is_reported_not_left_silent(sqlite_url, clock):
    """Slack answers apps.connections.open with an error (no Socket Mode for this app): the stream's thread
    reports it, and `steward stream` exits with it rather than running on with nothing to stream."""
    import threading

    with FakeSlack() as fake:               # Socket Mode not enabled: the fake refuses the connection
        container = build_container(sqlite_url, clock, parse_config(CONFIG), fake.env(app=True))
        failed, reported = threading.Event(), []
        assert start_streams(container, ["slack"],
                             lambda platform, error: (reported.append(platform), failed.set())) == ["slack"]
        assert failed.wait(10) and reported == ["slack"]
