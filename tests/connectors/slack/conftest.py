"""Fixtures for the Slack connector tests: a frozen clock, the fake Web API, a connector pointed at it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connectors.base import ConnectorDeps
from connectors.slack.connector import SlackConnector
from core.clock import FrozenClock
from core.ports import MemoryTokenStore, NoRateLimit
from tests.connectors.slack.slack_helpers import SECRET, fixture_wire, signed
from tests.fakes.slack_api import FakeSlack, fake_slack  # noqa: F401  (the reusable fixture)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
def deps(clock: FrozenClock) -> ConnectorDeps:
    return ConnectorDeps(clock=clock, tokens=MemoryTokenStore(clock), limiter=NoRateLimit())


@pytest.fixture
def connector(deps: ConnectorDeps) -> SlackConnector:
    """For inbound tests: nothing listens at the API URL, and nothing should call it."""
    return SlackConnector.from_env({"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-inbound-only",
                                    "SLACK_API_URL": "http://127.0.0.1:9/api/"}, deps)


@pytest.fixture
def live(fake_slack: FakeSlack, deps: ConnectorDeps) -> SlackConnector:  # noqa: F811
    """A connector whose Web API is the fake (bot and admin tokens)."""
    return SlackConnector.from_env(fake_slack.env(signing_secret=SECRET), deps)


def _receiver(connector: SlackConnector, clock: FrozenClock):
    def run(name: str):
        body, content_type = fixture_wire(name)
        request = signed(body, content_type, clock)
        connector.verify(request)
        return connector.receive(request)
    return run


@pytest.fixture
def receive(connector: SlackConnector, clock: FrozenClock):
    """Sign a fixture now, verify and parse it: the whole inbound path."""
    return _receiver(connector, clock)


@pytest.fixture
def live_receive(live: SlackConnector, clock: FrozenClock):
    """The same, into the connector wired to the fake Web API."""
    return _receiver(live, clock)
