"""The sandbox: an in-memory messenger for the playground and the tests (not a real messenger)."""
from __future__ import annotations

from connectors.base import Manifest
from connectors.sandbox.settings import ENV
from core.capabilities import FULL

# Everything, except a member list (`steward reconcile` skips its groups). `STEWARD_SANDBOX_EMULATE`
# narrows it to a real messenger's row at run time.
CAPABILITIES = FULL.with_(list_members=False)



MANIFEST = Manifest(
    id="sandbox",
    display_name="Sandbox",
    env=ENV,
    endpoints={"messages": ("POST",), "cards": ("POST",)},
    capabilities=CAPABILITIES,
    connector="connectors.sandbox.connector:SandboxConnector",
    real=False,
    page="playground",
)
