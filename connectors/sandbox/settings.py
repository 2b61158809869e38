"""The variables the sandbox reads: which real messenger to emulate, if any, and the playground's token."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Mapping

from connectors.base import EnvVar
from core import platforms
from core.errors import ConfigError

ENV: tuple[EnvVar, ...] = (
    EnvVar("STEWARD_SANDBOX_EMULATE", False, False,
           "make the sandbox behave like slack, wecom or dingtalk (capabilities)", None),
    EnvVar("STEWARD_PLAYGROUND_TOKEN", False, True,
           "one fixed anti-forgery token for the playground (X-Steward-CSRF on every POST), for scripts; "
           "unset: each page load gets its own, signed with a key made when the process starts", None),
)


def emulable() -> tuple[str, ...]:
    """The real messengers the registry knows (their capability rows can be emulated)."""
    return tuple(p for p in platforms.ids() if (info := platforms.get(p)) is not None and info.real)


@dataclass(frozen=True)
class SandboxSettings:
    emulate: str | None = None
    #: STEWARD_PLAYGROUND_TOKEN: one fixed token (for scripts); None: each page load gets its own (csrf_key)
    csrf_token: str | None = field(default=None, repr=False)
    #: signs the tokens the page hands out; new each time the process starts
    csrf_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def __post_init__(self) -> None:
        if self.emulate is not None and self.emulate not in emulable():
            raise ValueError(f"cannot emulate {self.emulate!r}")


def load(env: Mapping[str, str]) -> SandboxSettings:
    emulate = (env.get("STEWARD_SANDBOX_EMULATE") or "").strip() or None
    if emulate is not None and emulate not in emulable():
        raise ConfigError([f"STEWARD_SANDBOX_EMULATE: {emulate!r} is not {', '.join(emulable())}"])
    token = (env.get("STEWARD_PLAYGROUND_TOKEN") or "").strip()
    if token and len(token) < 16:
        raise ConfigError(["STEWARD_PLAYGROUND_TOKEN: at least 16 characters"])
    return SandboxSettings(emulate, token) if token else SandboxSettings(emulate)
