"""Stream mode (DingTalk's recommended transport): Steward opens an outbound WebSocket with
dingtalk-stream and DingTalk pushes robot messages and event subscriptions over it, so no public
URL, signature or AES layer is involved (TLS and the app credentials authenticate the channel).

The frames carry the same JSON as the HTTP callbacks, so the handlers feed the same parse
functions; the resulting events go to `sink` (the composition root hands them to the core, which
de-duplicates on event_id exactly as for HTTP deliveries). Run it as its own process:

    StreamRunner(connector, sink).run_forever()
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

from connectors.dingtalk.parse import Parsed, parse_event, parse_robot_message
from core.events import Event

log = logging.getLogger(__name__)

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
Sink = Callable[[list[Event]], None]


def event_payload(event_type: str | None, event_id: str | None, data: dict) -> dict:
    """A Stream EVENT frame as the HTTP-push JSON: type and id travel in the frame headers."""
    payload = dict(data) if isinstance(data, dict) else {}
    if event_type:
        payload["EventType"] = event_type
    if event_id:
        payload["eventId"] = event_id
    return payload


class StreamRunner:
    def __init__(self, connector, sink: Sink) -> None:
        self.connector = connector
        self.sink = sink

    def client(self):
        """A DingTalkStreamClient subscribed to robot messages and all events."""
        import dingtalk_stream
        from dingtalk_stream import AckMessage

        runner = self

        async def deliver(parsed: Parsed, what: str) -> tuple[int, str]:
            if parsed.ignored:
                log.info("dingtalk stream: %s ignored (%s)", what, parsed.ignored)
            try:
                if parsed.events:
                    await asyncio.to_thread(runner.sink, parsed.events)
            except Exception:                       # noqa: BLE001 - tell DingTalk it failed
                log.exception("dingtalk stream: handing %s to the core failed", what)
                return AckMessage.STATUS_SYSTEM_EXCEPTION, "error"
            return AckMessage.STATUS_OK, "OK"

        class RobotMessages(dingtalk_stream.CallbackHandler):
            async def process(self, message):     # CallbackMessage
                return await deliver(parse_robot_message(message.data),
                                     f"robot message {message.headers.message_id}")

        class Events(dingtalk_stream.EventHandler):
            async def process(self, event):       # EventMessage
                headers = event.headers
                payload = event_payload(headers.event_type, headers.event_id, event.data)
                return await deliver(parse_event(payload), f"event {headers.event_id}")

        settings = self.connector.settings
        # dingtalk-stream reads its base URL once, at import; point it at DINGTALK_API_URL
        # (one DingTalk app per Steward deployment, so the class attribute is ours to set).
        dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API = (
            settings.api_url + "/v1.0/gateway/connections/open")
        client = dingtalk_stream.DingTalkStreamClient(
            dingtalk_stream.Credential(settings.app_key, settings.app_secret))
        client.register_callback_handler(ROBOT_TOPIC, RobotMessages())
        client.register_all_event_handler(Events())
        self.connector.stream_mode = True
        return client

    def run_forever(self) -> None:
        self.client().start_forever()
