"""Socket Mode: the real slack_sdk SocketModeClient against the fake's WebSocket, through the same parser."""
from __future__ import annotations

import json
import queue
import threading

import pytest

from connectors.slack.connector import SlackConnector
from connectors.slack.socket import SocketModeRunner
from core.errors import ConfigError
from core.events import CardActed, CommandInvoked, MessagePosted
from tests.connectors.slack.slack_helpers import FIXTURES, SECRET
from tests.fakes.slack_api import APP_TOKEN

TIMEOUT = 5.0


@pytest.fixture
def socket_connector(fake_slack, deps) -> SlackConnector:
    fake_slack.enable_socket_mode()
    return SlackConnector.from_env(fake_slack.env(signing_secret=SECRET, app=True), deps)


@pytest.fixture
def running(socket_connector, fake_slack):
    received: "queue.Queue[list]" = queue.Queue()
    failing = threading.Event()

    def handle(events):
        if failing.is_set():
            raise RuntimeError("database unavailable")
        received.put(events)

    runner = SocketModeRunner(socket_connector, handle)
    runner.start()
    assert fake_slack.enable_socket_mode().connected.wait(TIMEOUT)
    yield runner, received, failing
    runner.stop()


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_events_commands_and_clicks_arrive_through_the_same_parser_and_are_acked(running, fake_slack):
    runner, received, _ = running
    socket = fake_slack.enable_socket_mode()
    socket.send({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                 "retry_attempt": 0, "retry_reason": "", "payload": _fixture("socket__events_api.json")})
    [event] = received.get(timeout=TIMEOUT)
    assert isinstance(event, MessagePosted) and event.event_id == "Ev0SOCKET001" and event.text == "今天交作業嗎"
    assert socket.acks.get(timeout=TIMEOUT) == {"envelope_id": "env-1"}

    socket.send({"envelope_id": "env-2", "type": "slash_commands", "accepts_response_payload": True,
                 "payload": {"command": "/steward", "text": "record", "user_id": "U0MEMBER1",
                             "user_name": "li.lei", "channel_id": "C0TRAIN01", "channel_name": "2026-q4-new-hires",
                             "trigger_id": "1764073600.1.abc"}})
    assert received.get(timeout=TIMEOUT) == [CommandInvoked(
        platform="slack", event_id="cmd:1764073600.1.abc", user_id="U0MEMBER1", text="record",
        chat_id="C0TRAIN01", display_name="li.lei")]
    assert socket.acks.get(timeout=TIMEOUT) == {"envelope_id": "env-2"}

    socket.send({"envelope_id": "env-3", "type": "interactive", "accepts_response_payload": False,
                 "payload": _fixture("block_actions__case_approve.json")})
    [click] = received.get(timeout=TIMEOUT)
    assert isinstance(click, CardActed) and (click.action, click.value) == ("case.approve", "case-17")
    assert socket.acks.get(timeout=TIMEOUT) == {"envelope_id": "env-3"}

    opened = fake_slack.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == APP_TOKEN


def test_an_envelope_the_core_could_not_store_is_not_acked(running, fake_slack):
    runner, received, failing = running
    socket = fake_slack.enable_socket_mode()
    failing.set()
    socket.send({"envelope_id": "env-9", "type": "events_api", "payload": _fixture("socket__events_api.json")})
    with pytest.raises(queue.Empty):
        socket.acks.get(timeout=0.5)   # Slack will deliver it again


def test_socket_mode_needs_the_app_token(fake_slack, deps):
    connector = SlackConnector.from_env(fake_slack.env(signing_secret=SECRET), deps)
    with pytest.raises(ConfigError):
        SocketModeRunner(connector, lambda events: None)
