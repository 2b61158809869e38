"""Socket Mode: the same payloads over a WebSocket, for companies without public ingress.

slack_sdk's built-in SocketModeClient opens the connection with the app-level token
(SLACK_APP_TOKEN, scope connections:write) through `apps.connections.open` on SLACK_API_URL, and
reconnects on its own. Each envelope goes through the same SlackParser as `POST /slack/events`
(events_api -> parse_envelope, slash_commands -> parse_command, interactive -> parse_interaction),
then to `handle(events)`, which is expected to store them (de-duplication on event_id, the outbox).
The envelope is acknowledged only after `handle` returned: if it raises, Slack sends it again.
There is no signature in this mode; the WebSocket itself is authenticated by the app token.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from connectors.slack.connector import SlackConnector
from core.errors import BadRequest, ConfigError
from core.events import Event

log = logging.getLogger(__name__)


class SocketModeRunner:
    def __init__(self, connector: SlackConnector, handle: Callable[[list[Event]], None]) -> None:
        if not connector.settings.app_token:
            raise ConfigError(["slack: SLACK_APP_TOKEN is not set (an app-level token, xapp-..., "
                               "with connections:write) and Socket Mode needs it"])
        self._connector = connector
        self._handle = handle
        self._parsers = {
            "events_api": connector.parser.parse_envelope,
            "slash_commands": connector.parser.parse_command,
            "interactive": connector.parser.parse_interaction,
        }
        self._client: SocketModeClient | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        """Connect and return; the SDK's threads receive and dispatch."""
        settings = self._connector.settings
        self._client = SocketModeClient(app_token=settings.app_token or "",
                                        web_client=WebClient(base_url=settings.api_url))
        self._client.socket_mode_request_listeners.append(self.on_request)
        self._client.connect()
        log.info("slack: Socket Mode connected")

    def run_forever(self) -> None:
        self.start()
        self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()
        if self._client is not None:
            self._client.close()
            self._client = None

    def on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        parse = self._parsers.get(request.type)
        if parse is None:
            log.warning("slack: unknown Socket Mode envelope type %r (id %s), acknowledged",
                        request.type, request.envelope_id)
        else:
            try:
                result = parse(request.payload)
            except BadRequest as exc:
                log.warning("slack: malformed Socket Mode envelope %s: %s", request.envelope_id, exc)
            else:
                self._handle(result.events)   # raises -> no ack -> Slack redelivers
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
