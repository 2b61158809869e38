"""The contract every connector keeps, run over every manifest the registry holds (connectors/registry.py).

For each messenger: tampered and stale requests are refused before anything is parsed; every recorded
fixture is parsed into events or explicitly ignored, and none is an orphan; every core action type is
translated, or declared unsupported exactly when the capability row says so; secrets never show in a
repr; its environment variables are unique and documented. The checks are plain functions taking a
manifest and its contract (tests/connectors/contract.py), so a messenger registered at run time goes
through the same ones (test_fifth_messenger.py).
"""
from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime, timezone

import pytest

from connectors import registry
from connectors.base import Connector, ConnectorDeps, Manifest, Unsupported, required_capabilities
from core import platforms
from core.actions import (
    ACTION_TYPES,
    Button,
    DeleteMessage,
    InviteMember,
    PinMessage,
    PostCard,
    PostFile,
    PostMessage,
    RemoveMember,
    SendEphemeral,
    SendPrivate,
)
from core.capabilities import Capabilities
from core.clock import FrozenClock
from core.errors import Forbidden, VerificationFailed
from core.ports import MemoryTokenStore, NoRateLimit
from tests.connectors.contract import Contract, contract_for

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
FIXTURE_NAME = re.compile(r"^(?:[a-z]+/)?[A-Za-z0-9_]+__[a-z0-9_]+\.[a-z]+$")   # <type>__<variant>.<ext>


def build(manifest: Manifest, contract: Contract) -> Connector:
    clock = FrozenClock(NOW)
    deps = ConnectorDeps(clock=clock, tokens=MemoryTokenStore(clock), limiter=NoRateLimit())
    return manifest.connector_class().from_env(dict(contract.env), deps)


def samples(platform: str) -> list:
    button = (Button("Approve", "case.approve", "C000001", "primary"),)
    return [
        PostMessage(platform, chat_id="chat1", text="hello"),
        SendPrivate(platform, user_id="user1", text="hello"),
        SendEphemeral(platform, chat_id="chat1", user_id="user1", text="only you"),
        RemoveMember(platform, chat_id="chat1", user_id="user1"),
        InviteMember(platform, chat_id="chat1", user_id="user1"),
        DeleteMessage(platform, chat_id="chat1", message_id="m1"),
        PinMessage(platform, chat_id="chat1", message_id="m1"),
        PostCard(platform, title="Case C000001", text="remove?", buttons=button, user_id="admin1"),
        PostCard(platform, title="Case C000001", text="remove?", buttons=button, chat_id="chat1"),
        PostCard(platform, title="Notice", text="no buttons", chat_id="chat1"),
        PostFile(platform, chat_id="chat1", sha256="0" * 64, name="notes.pdf", caption="shared by lily"),
    ]


# --- the checks --------------------------------------------------------------------------------------

def check_refuses_tampered_and_stale(manifest: Manifest, contract: Contract) -> None:
    connector = build(manifest, contract)
    assert set(contract.samples) == set(manifest.endpoints), "one sample body per endpoint"
    for endpoint, body in contract.samples.items():
        genuine = contract.sign(endpoint, body, NOW)
        connector.verify(genuine)                                        # the genuine request passes
        with pytest.raises((VerificationFailed, Forbidden)):
            connector.verify(contract.tamper(genuine))
        if contract.stale_by is not None:
            with pytest.raises(VerificationFailed):
                connector.verify(contract.sign(endpoint, body, NOW - contract.stale_by))


def check_fixtures(manifest: Manifest, contract: Contract) -> None:
    connector = build(manifest, contract)
    names = contract.fixture_names()
    assert set(contract.not_replayed) <= set(names), "a listed fixture does not exist"
    for name in names:
        assert FIXTURE_NAME.match(name), f"{name}: fixtures are named <type>__<variant>.<ext>"
        if name in contract.not_replayed:
            user = (contract.fixtures / ".." / contract.not_replayed[name]).resolve()   # type: ignore[operator]
            assert name.rsplit("/", 1)[-1] in user.read_text("utf-8"), f"{name} is not used by {user.name}"
            continue
        endpoint = contract.endpoint_of(name) if contract.fixture_request is None else None
        assert endpoint is None or endpoint in manifest.endpoints, f"{name}: no endpoint {endpoint!r}"
        result = connector.receive(contract.request_for(name, NOW))
        assert result.events or result.ignored, f"{name}: neither parsed into events nor explicitly ignored"
        assert all(e.platform == manifest.id for e in result.events), name


def check_translations(manifest: Manifest, contract: Contract) -> None:
    connector = build(manifest, contract)
    caps = connector.capabilities
    actions = samples(manifest.id)
    assert {type(a) for a in actions} == set(ACTION_TYPES.values()), "a core action type has no sample"
    for action in actions:
        missing = [flag for flag in required_capabilities(action) if not getattr(caps, flag)]
        plan = connector.translate(action)
        if missing:
            assert isinstance(plan, Unsupported), f"{action}: translated although {missing} is off"
            assert plan.reason
        else:
            assert not isinstance(plan, Unsupported), f"{action}: unsupported ({plan}) but the row allows it"


def check_capabilities_narrow_the_row(manifest: Manifest, contract: Contract) -> None:
    """A connector may narrow its manifest's row at run time (a missing token), never widen it."""
    caps, row = build(manifest, contract).capabilities, manifest.capabilities
    for f in fields(Capabilities):
        if isinstance(getattr(row, f.name), bool):
            assert getattr(row, f.name) or not getattr(caps, f.name), f"{f.name} wider than the manifest"
    assert platforms.get(manifest.id) == manifest.info


def check_secrets_hidden(manifest: Manifest, contract: Contract) -> None:
    connector = build(manifest, contract)
    secrets = [contract.env[v.name] for v in manifest.env if v.secret and contract.env.get(v.name)]
    assert secrets or not any(v.secret for v in manifest.env), "the contract sets none of the secrets"
    shown = repr(connector) + repr(getattr(connector, "settings", ""))
    for secret in secrets:
        assert secret not in shown


def check_environment(manifest: Manifest, contract: Contract) -> None:
    names = [v.name for v in manifest.env]
    assert len(names) == len(set(names)), "a variable is listed twice"
    others = {v.name for m in registry.manifests() if m.id != manifest.id for v in m.env}
    assert not set(names) & others, f"variables shared with another messenger: {set(names) & others}"
    readme = contract.readme.read_text("utf-8")
    assert not [n for n in names if f"`{n}`" not in readme], f"{contract.readme} lacks some variables"


CHECKS = (check_refuses_tampered_and_stale, check_fixtures, check_translations,
          check_capabilities_narrow_the_row, check_secrets_hidden, check_environment)


def run_contract(manifest: Manifest, contract: Contract) -> None:
    for check in CHECKS:
        check(manifest, contract)


# --- every registered messenger ----------------------------------------------------------------------

@pytest.fixture(params=[m.id for m in registry.manifests()])
def pair(request) -> tuple[Manifest, Contract]:
    manifest = registry.manifest(request.param)
    contract = contract_for(manifest.id)
    assert contract is not None, f"{manifest.id} has no contract (tests/connectors/{manifest.id}/contract.py)"
    return manifest, contract


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_contract(pair, check):
    check(*pair)


def test_the_registry_knows_the_four_built_in_messengers():
    assert [m.id for m in registry.BUILT_IN] == ["slack", "wecom", "dingtalk", "sandbox"]
    assert registry.messengers()[:3] == ("slack", "wecom", "dingtalk") and "sandbox" not in registry.messengers()
    for manifest in registry.BUILT_IN:
        assert platforms.get(manifest.id) == manifest.info
