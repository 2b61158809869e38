"""A messenger registered at run time (tests/connectors/pager/) goes through the same contract as the
built-in ones, reaches the core's view of platforms, and answers on /<id>/<endpoint> of an app created
after it was registered: nothing in webhooks/, the container or the core names it."""
from __future__ import annotations

import pytest

from connectors import registry
from core import platforms
from tests.conftest import SANDBOX_CONFIG, build_container
from tests.connectors import contract as contracts
from tests.connectors.pager.connector import MANIFEST
from tests.connectors.pager.contract import CONTRACT, sign_for_test
from tests.connectors.test_contract import CHECKS, NOW


@pytest.fixture
def pager():
    registry.register(MANIFEST)
    contracts.add(CONTRACT)
    yield MANIFEST
    contracts.remove(MANIFEST.id)
    registry.unregister(MANIFEST.id)


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_the_pager_keeps_the_contract(pager, check):
    check(pager, CONTRACT)


def test_registering_reaches_the_core_and_unregistering_removes_it(pager):
    assert platforms.get("pager").column_aliases == ("pager id",)
    assert "pager" in registry.messengers() and registry.connector_class("pager").__name__ == "PagerConnector"
    registry.unregister("pager")
    assert platforms.get("pager") is None and "pager" not in registry.ids()
    registry.register(MANIFEST)


def test_the_app_mounts_its_endpoint(pager, sqlite_url):
    from core.clock import FrozenClock
    from core.config import parse_config
    from webhooks import create_app

    container = build_container(sqlite_url, FrozenClock(NOW), parse_config(SANDBOX_CONFIG),
                                {"PAGER_SECRET": CONTRACT.env["PAGER_SECRET"]})
    try:
        assert "pager" in container.connectors
        client = create_app(container).test_client()
        body = (CONTRACT.fixtures / "message__plain.json").read_bytes()
        signed = sign_for_test("hook", body, NOW)
        answer = client.post("/pager/hook", data=body, headers=dict(signed.headers))
        assert (answer.status_code, answer.data) == (200, b"ok")
        assert client.post("/pager/hook", data=body.replace(b"hello", b"HELLO"),
                           headers=dict(signed.headers)).status_code == 401
    finally:
        container.engine.dispose()
