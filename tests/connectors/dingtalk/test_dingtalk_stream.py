"""Stream mode: frames routed by the real dingtalk-stream client reach the same parsers."""
from __future__ import annotations

import asyncio
import json

import pytest

from connectors.dingtalk.stream import ROBOT_TOPIC, StreamRunner
from core.events import MessagePosted, UserDeparted
from tests.connectors.dingtalk.dingtalk_support import fixture_bytes


@pytest.fixture(autouse=True)
def _restore_stream_endpoint(monkeypatch):
    """StreamRunner points dingtalk-stream's class-level URL at DINGTALK_API_URL; undo it afterwards."""
    import dingtalk_stream
    monkeypatch.setattr(dingtalk_stream.DingTalkStreamClient, "OPEN_CONNECTION_API",
                        dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API)


class _Socket:
    """Collects the acks the SDK sends back over the WebSocket."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


def _route(client, frame: dict) -> dict:
    client.websocket = _Socket()
    asyncio.run(client.route_message(frame))
    return client.websocket.sent[0]


def _callback_frame(payload: bytes, message_id: str = "stream-msg-1") -> dict:
    return {"specVersion": "1.0", "type": "CALLBACK", "data": payload.decode("utf-8"),
            "headers": {"topic": ROBOT_TOPIC, "messageId": message_id, "contentType": "application/json",
                        "appId": "app", "connectionId": "conn", "time": "1764071400000"}}


def _event_frame(event_type: str, event_id: str, data: dict) -> dict:
    return {"specVersion": "1.0", "type": "EVENT", "data": json.dumps(data),
            "headers": {"topic": "*", "messageId": "stream-evt-1", "eventType": event_type, "eventId": event_id,
                        "eventBornTime": "1764071400000", "eventCorpId": "dingcorp", "contentType": "application/json"}}


def test_robot_message_over_stream(connector):
    received: list = []
    client = StreamRunner(connector, received.extend).client()
    ack = _route(client, _callback_frame(fixture_bytes("robot__direct_text.json")))
    assert ack["code"] == 200 and ack["headers"]["messageId"] == "stream-msg-1"
    assert [type(e) for e in received] == [MessagePosted]
    assert received[0].event_id == "msgDirect0001xxxxxxxxxxxxxxx==" and received[0].is_direct


def test_event_over_stream(connector):
    received: list = []
    client = StreamRunner(connector, received.extend).client()
    ack = _route(client, _event_frame("user_leave_org", "evt-stream-1", {"userId": ["u_zhang"]}))
    assert ack["code"] == 200
    assert received == [UserDeparted(platform="dingtalk", event_id="evt-stream-1:u_zhang", user_id="u_zhang")]


def test_ignored_event_is_acked_without_events(connector):
    received: list = []
    client = StreamRunner(connector, received.extend).client()
    assert _route(client, _event_frame("chat_disband", "evt-2", {"chatId": "c"}))["code"] == 200
    assert received == []


def test_sink_failure_is_reported_to_dingtalk(connector):
    def broken(events):
        raise RuntimeError("database down")
    client = StreamRunner(connector, broken).client()
    assert _route(client, _callback_frame(fixture_bytes("robot__direct_text.json")))["code"] == 500


def test_stream_uses_the_configured_api_url(deps, fake_dingtalk):
    import dingtalk_stream

    from connectors.dingtalk.connector import DingTalkConnector
    from tests.connectors.dingtalk.dingtalk_support import base_env
    env = base_env(**fake_dingtalk.env())
    del env["DINGTALK_TOKEN"], env["DINGTALK_ENCODING_AES_KEY"]
    connector = DingTalkConnector.from_env(env, deps)
    assert connector.capabilities.departure_events is False
    StreamRunner(connector, lambda events: None).client()
    assert dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API == fake_dingtalk.url + "/v1.0/gateway/connections/open"
    assert connector.capabilities.departure_events is True      # events arrive over the stream
