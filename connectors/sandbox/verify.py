"""The sandbox has no secret, so it answers only the machine it runs on (webhooks/ puts the socket's
address into X-Steward-Remote-Addr, dropping any client-sent value)."""
from __future__ import annotations

import ipaddress

from connectors.base import InboundRequest, Payload
from core.errors import Forbidden

REMOTE_ADDR_HEADER = "X-Steward-Remote-Addr"


def verify(request: InboundRequest) -> Payload:
    addr = request.headers.get(REMOTE_ADDR_HEADER) or ""
    try:
        if ipaddress.ip_address(addr).is_loopback:
            return Payload(request.body)
    except ValueError:
        pass
    raise Forbidden("the sandbox only accepts requests from this machine")
