"""Shared fixtures for the moderation tests: one normaliser, one moderator per settings, an
injected clock (time is always passed in: nothing here reads the wall clock)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.moderation import ModerationSettings, Moderator, NoRecentMessages
from core.moderation.normalise import Normaliser

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
COMPANY = ("acme-corp.com", "acme.cn")


@pytest.fixture(scope="session")
def normaliser() -> Normaliser:
    return Normaliser()


@pytest.fixture(scope="session")
def moderator() -> Moderator:
    """A stateless moderator: each message on its own (no flood state between tests)."""
    return Moderator(ModerationSettings(company_domains=COMPANY, code_names=("Falcon", "天鹰")),
                     NoRecentMessages())


def check(moderator: Moderator, text: str, **kw):
    return moderator.check(text, sender=kw.pop("sender", "U1"), chat=kw.pop("chat", "C1"),
                           at=kw.pop("at", T0), **kw)


def categories(moderator: Moderator, text: str) -> set[str]:
    return {v.category for v in check(moderator, text) if not v.nudge}
