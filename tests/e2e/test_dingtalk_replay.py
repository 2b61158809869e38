"""DingTalk robot requests are single-use (issue 12, finding 5): the robot's `sign` covers only the timestamp,
so a captured (timestamp, sign) pair must not carry another body, in any process of the deployment."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from connectors.dingtalk.verify import robot_sign
from core.db.models import InboundEvent
from core.errors import VerificationFailed
from tests.conftest import build_container
from tests.connectors.dingtalk.dingtalk_support import APP_SECRET, base_env, fixture_bytes, ms, robot_request
from webhooks import create_app

DIRECT = fixture_bytes("robot__direct_text.json")


def forged(body: bytes) -> bytes:
    data = json.loads(body)
    data["msgId"] = "msgFORGED=="
    data["text"] = {"content": "remove @someone R8.1.2"}
    return json.dumps(data).encode()


def events(container) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundEvent))


@pytest.fixture
def two_processes(sqlite_url, clock, sandbox_config):
    """Two web processes of one deployment: one database, a connector (and its guard) each."""
    env = {"STEWARD_PLAYGROUND": "0", **base_env()}
    web = [build_container(sqlite_url, clock, sandbox_config, extra_env=env) for _ in range(2)]
    yield web, [create_app(c).test_client() for c in web]
    for c in web:
        c.engine.dispose()


def post(client, body: bytes, timestamp: str, sign: str):
    return client.post("/dingtalk/robot", data=body, content_type="application/json",
                       headers={"timestamp": timestamp, "sign": sign})


def test_a_captured_sign_with_another_body_is_refused_in_another_process(two_processes, clock):
    web, (first, second) = two_processes
    timestamp = ms(clock)
    sign = robot_sign(APP_SECRET, timestamp)
    assert post(first, DIRECT, timestamp, sign).status_code == 200
    stored = events(web[0])
    assert stored == 1
    replayed = post(second, forged(DIRECT), timestamp, sign)
    assert replayed.status_code == 401
    assert post(first, forged(DIRECT), timestamp, sign).status_code == 401
    assert events(web[0]) == stored
    # the very same request again (a retry) is answered and de-duplicated, whichever process gets it
    assert post(second, DIRECT, timestamp, sign).status_code == 200
    assert events(web[1]) == stored


def test_a_fresh_signature_is_accepted_and_the_window_is_short(two_processes, clock):
    web, (first, second) = two_processes
    assert web[0].connectors["dingtalk"].settings.window_seconds == 60
    old = str(int(ms(clock)) - 61_000)
    assert post(first, DIRECT, old, robot_sign(APP_SECRET, old)).status_code == 401
    fresh = str(int(ms(clock)) - 5)
    assert post(second, forged(DIRECT), fresh, robot_sign(APP_SECRET, fresh)).status_code == 200


def test_a_connector_without_a_shared_guard_still_refuses_a_replay_in_its_process(clock):
    from connectors.base import ConnectorDeps
    from connectors.dingtalk.connector import DingTalkConnector
    from core.ports import MemoryTokenStore, NoRateLimit

    connector = DingTalkConnector.from_env(base_env(), ConnectorDeps(clock, MemoryTokenStore(clock), NoRateLimit()))
    timestamp = ms(clock)
    connector.verify(robot_request(DIRECT, timestamp))
    connector.verify(robot_request(DIRECT, timestamp))           # the same request again
    with pytest.raises(VerificationFailed):
        connector.verify(robot_request(forged(DIRECT), timestamp))


def test_the_database_guard_keeps_a_signature_for_its_time_only(sqlite_url, clock):
    from core.db.session import make_engine, make_sessionmaker
    from steward.replay import DbReplayGuard

    engine = make_engine(sqlite_url)
    try:
        one, other = DbReplayGuard(make_sessionmaker(engine), clock), DbReplayGuard(make_sessionmaker(engine), clock)
        assert one.first_use("k", 121, "body-a")
        assert other.first_use("k", 121, "body-a")          # the same request again
        assert not other.first_use("k", 121, "body-b")      # another body
        clock.advance(seconds=122)
        assert other.first_use("k", 121, "body-b")          # expired: the timestamp is stale by now anyway
        assert not one.first_use("k", 121, "body-a")
    finally:
        engine.dispose()
