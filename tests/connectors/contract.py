"""What every connector's contract test needs to know about it, and the table of those contracts.

Each connector's test folder has a `contract.py` defining `CONTRACT`: how to sign a genuine request for
one of its endpoints (`sign(endpoint, body, now)`, with the platform's own algorithm), how to tamper
with one, which endpoint each of its fixtures is sent to, and which fixtures other tests replay another
way. `tests/connectors/test_contract.py` runs every registered manifest through the same checks; a test
that registers one more messenger adds its contract with `add()`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Mapping

from connectors.base import InboundRequest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@dataclass(frozen=True)
class Contract:
    platform: str
    env: Mapping[str, str]                                   # a complete environment (no API is reachable)
    sign: Callable[[str, bytes, datetime], InboundRequest]   # a genuine request: sign(endpoint, body, now)
    tamper: Callable[[InboundRequest], InboundRequest]       # the same request, no longer genuine
    samples: Mapping[str, bytes]                             # endpoint -> a body it accepts (for tamper/stale)
    readme: Path                                             # where its environment is documented
    fixtures: Path | None = None                             # the folder of recorded payloads
    endpoint_of: Callable[[str], str] = lambda name: ""      # fixture (relative path) -> endpoint
    #: fixture (relative path) -> how to send it; default: sign(endpoint_of(name), bytes, now)
    fixture_request: Callable[[str, datetime], InboundRequest] | None = None
    not_replayed: Mapping[str, str] = field(default_factory=dict)   # fixture -> the test file that uses it
    stale_by: timedelta | None = timedelta(hours=1)          # None: the platform signs no time (sandbox)

    def request_for(self, name: str, now: datetime) -> InboundRequest:
        if self.fixture_request is not None:
            return self.fixture_request(name, now)
        assert self.fixtures is not None
        return self.sign(self.endpoint_of(name), (self.fixtures / name).read_bytes(), now)

    def fixture_names(self) -> list[str]:
        if self.fixtures is None or not self.fixtures.is_dir():
            return []
        return sorted(str(p.relative_to(self.fixtures)) for p in self.fixtures.rglob("*") if p.is_file())


# The built-in connectors' contracts, by platform id: an explicit table, like connectors/registry.py.
BUILT_IN = {
    "slack": "tests.connectors.slack.contract",
    "wecom": "tests.connectors.wecom.contract",
    "dingtalk": "tests.connectors.dingtalk.contract",
    "sandbox": "tests.connectors.sandbox.contract",
}
_added: dict[str, Contract] = {}


def add(contract: Contract) -> None:
    _added[contract.platform] = contract


def remove(platform: str) -> None:
    _added.pop(platform, None)


def contract_for(platform: str) -> Contract | None:
    if platform in _added:
        return _added[platform]
    module = BUILT_IN.get(platform)
    return importlib.import_module(module).CONTRACT if module else None
