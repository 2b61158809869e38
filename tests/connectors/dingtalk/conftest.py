"""Fixtures for the DingTalk connector tests: a frozen clock, deps, a configured connector."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connectors.base import ConnectorDeps
from connectors.dingtalk.connector import DingTalkConnector
from core.clock import FrozenClock
from core.ports import MemoryTokenStore, NoRateLimit
from tests.connectors.dingtalk.dingtalk_support import base_env
from tests.fakes.dingtalk_api import fake_dingtalk  # noqa: F401  (the fixture)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc))


@pytest.fixture
def deps(clock: FrozenClock) -> ConnectorDeps:
    return ConnectorDeps(clock=clock, tokens=MemoryTokenStore(clock), limiter=NoRateLimit())


@pytest.fixture
def connector(deps: ConnectorDeps) -> DingTalkConnector:
    return DingTalkConnector.from_env(base_env(), deps)
