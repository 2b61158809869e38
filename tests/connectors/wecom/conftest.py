"""Fixtures for the WeCom connector tests."""
from __future__ import annotations

import pytest

from connectors.base import ConnectorDeps
from connectors.wecom.connector import WeComConnector
from core.clock import FrozenClock
from core.ports import MemoryTokenStore, NoRateLimit
from tests.connectors.wecom.wecom_helpers import BASE_ENV, NOW
from tests.fakes.wecom_api import fake_wecom  # noqa: F401  (the reusable fixture)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def deps(clock) -> ConnectorDeps:
    return ConnectorDeps(clock=clock, tokens=MemoryTokenStore(clock), limiter=NoRateLimit())


@pytest.fixture
def connector(deps) -> WeComConnector:
    """For inbound tests: no API server needed."""
    return WeComConnector.from_env(BASE_ENV, deps)
