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
def connector(fake_slack: FakeSlack, deps: ConnectorDeps) -> SlackConnector:  # noqa: F811
    return SlackConnector.from_env(fake_slack.env(signing_secret=SECRET), deps)


@pytest.fixture
def receive(connector: SlackConnector, clock: FrozenClock):
    """Sign a fixture now, verify and parse it: the whole inbound path."""
    def run(name: str):
        body, content_type = fixture_wire(name)
        request = signed(body, content_type, clock)
        connector.verify(request)
        return connector.parse(request)
    return run
