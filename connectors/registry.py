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


def _register_platforms() -> None:
    """What the core knows of each messenger (core/platforms.py)."""
    from core import platforms
    from core.capabilities import BY_PLATFORM, FULL
    aliases = {
        "slack": ("slack id", "slack user id"),
        "wecom": ("wecom id", "企业微信", "企業微信", "企业微信账号", "企業微信帳號"),
        "dingtalk": ("dingtalk id", "钉钉", "釘釘", "钉钉账号", "釘釘帳號"),
    }
    names = {"slack": "Slack", "wecom": "WeCom", "dingtalk": "DingTalk", "sandbox": "Sandbox"}
    for pid in CONNECTORS:
        caps = BY_PLATFORM.get(pid, FULL)
        platforms.register(platforms.PlatformInfo(pid, names[pid], caps, aliases.get(pid, ()),
                                                  real=pid in MESSENGERS))


_register_platforms()
