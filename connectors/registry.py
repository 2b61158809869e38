"""The explicit table of connectors. Imports happen when a platform is used, never at import time."""
from __future__ import annotations

from typing import Callable

from connectors.base import Connector


def _slack() -> type[Connector]:
    from connectors.slack.connector import SlackConnector
    return SlackConnector


def _wecom() -> type[Connector]:
    from connectors.wecom.connector import WeComConnector
    return WeComConnector


def _dingtalk() -> type[Connector]:
    from connectors.dingtalk.connector import DingTalkConnector
    return DingTalkConnector


def _sandbox() -> type[Connector]:
    from connectors.sandbox.connector import SandboxConnector
    return SandboxConnector


CONNECTORS: dict[str, Callable[[], type[Connector]]] = {
    "slack": _slack,
    "wecom": _wecom,
    "dingtalk": _dingtalk,
    "sandbox": _sandbox,
}

MESSENGERS = ("slack", "wecom", "dingtalk")


def connector_class(platform: str) -> type[Connector]:
    try:
        return CONNECTORS[platform]()
    except KeyError:
        raise KeyError(f"no connector for platform {platform!r}") from None
