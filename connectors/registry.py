"""The explicit table of connectors: the only place that knows which messengers exist.

Importing this module imports the manifests (no SDK) and registers each one's PlatformInfo into
core.platforms, so the core can plan with the platforms' capability rows. Connector classes, and
with them the SDKs, are imported when a platform is used (`connector_class`).

A test may `register()` one more messenger (before the container and the app are built) and
`unregister()` it again.
"""
from __future__ import annotations

import threading

from connectors.base import Connector, Manifest
from connectors.dingtalk.manifest import MANIFEST as DINGTALK
from connectors.sandbox.manifest import MANIFEST as SANDBOX
from connectors.slack.manifest import MANIFEST as SLACK
from connectors.wecom.manifest import MANIFEST as WECOM
from core import platforms

BUILT_IN: tuple[Manifest, ...] = (SLACK, WECOM, DINGTALK, SANDBOX)

_lock = threading.Lock()
_manifests: dict[str, Manifest] = {}


def register(manifest: Manifest) -> None:
    """Add (or replace) a messenger; its PlatformInfo goes into core.platforms too."""
    platforms.register(manifest.info)        # validates the id first
    with _lock:
        _manifests[manifest.id] = manifest


def unregister(platform: str) -> None:
    with _lock:
        _manifests.pop(platform, None)
    platforms.unregister(platform)


def manifests() -> tuple[Manifest, ...]:
    """Every registered messenger, built-in ones first, in registration order."""
    with _lock:
        return tuple(_manifests.values())


def manifest(platform: str) -> Manifest:
    try:
        return _manifests[platform]
    except KeyError:
        raise KeyError(f"no connector for platform {platform!r}") from None


def ids() -> tuple[str, ...]:
    return tuple(m.id for m in manifests())


def messengers() -> tuple[str, ...]:
    """The real messengers (the sandbox left out)."""
    return tuple(m.id for m in manifests() if m.real)


def connector_class(platform: str) -> type[Connector]:
    return manifest(platform).connector_class()


for _manifest in BUILT_IN:
    register(_manifest)
