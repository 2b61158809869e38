"""Fixtures the end-to-end modules share."""
from __future__ import annotations

import pytest

from tests.e2e.platform_support import SIDES, open_side


@pytest.fixture(params=list(SIDES))
def side(request, clock):
    """Each real messenger in turn, talking to a running fake of its Web API (a module may narrow it)."""
    with open_side(request.param, clock) as side:
        yield side
