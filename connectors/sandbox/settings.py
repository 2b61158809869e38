"""The one variable the sandbox reads: which real messenger to emulate, if any."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from connectors.base import EnvVar
from core import platforms
from core.errors import ConfigError

ENV: tuple[EnvVar, ...] = (
    EnvVar("STEWARD_SANDBOX_EMULATE", False, False,
           "make the sandbox behave like slack, wecom or dingtalk (capabilities)", None),
)


def emulable() -> tuple[str, ...]:
    """The real messengers the registry knows (their capability rows can be emulated)."""
    return tuple(p for p in platforms.ids() if (info := platforms.get(p)) is not None and info.real)


@dataclass(frozen=True)
class SandboxSettings:
    emulate: str | None = None       # no secret: the sandbox answers only this machine

    def __post_init__(self) -> None:
        if self.emulate is not None and self.emulate not in emulable():
            raise ValueError(f"cannot emulate {self.emulate!r}")


def load(env: Mapping[str, str]) -> SandboxSettings:
    emulate = (env.get("STEWARD_SANDBOX_EMULATE") or "").strip() or None
    if emulate is not None and emulate not in emulable():
        raise ConfigError([f"STEWARD_SANDBOX_EMULATE: {emulate!r} is not {', '.join(emulable())}"])
    return SandboxSettings(emulate)
