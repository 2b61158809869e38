"""The environment DingTalk reads (docs/design.md names), and the validated settings built from it. Secrets are
fields with repr=False: a logged or printed Settings never shows them."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Mapping

from connectors.base import EnvVar, read_env
from core.errors import ConfigError

API_URL = "https://api.dingtalk.com"
OAPI_URL = "https://oapi.dingtalk.com"

ENV: tuple[EnvVar, ...] = (
    EnvVar("DINGTALK_APP_KEY", True, False, "AppKey (Client ID) of the internal app (企业内部应用)"),
    EnvVar("DINGTALK_APP_SECRET", True, True, "AppSecret (Client Secret); also the robot's signing key"),
    EnvVar("DINGTALK_ROBOT_CODE", True, False, "robotCode of the app's robot (usually equal to the AppKey)"),
    EnvVar("DINGTALK_TOKEN", False, True,
           "event subscription Token; without it and the aes key, /dingtalk/events answers 403"),
    EnvVar("DINGTALK_ENCODING_AES_KEY", False, True, "event subscription aes_key (43 characters)"),
    EnvVar("DINGTALK_API_URL", False, False, "base URL of the new API host (专属钉钉, proxies, tests)",
           API_URL),
    EnvVar("DINGTALK_OAPI_URL", False, False, "base URL of the old API host (专属钉钉, proxies, tests)",
           OAPI_URL),
    EnvVar("DINGTALK_ROBOT_WINDOW_SECONDS", False, False,
           "freshness window for signed callbacks, in seconds (10..3600); each signature is also single-use, "
           "since the robot signature does not cover the body", "60"),
    EnvVar("DINGTALK_ROBOT_ALLOWED_IPS", False, False,
           "optional comma-separated CIDR allow-list for /dingtalk/robot (client address from the "
           "X-Steward-Remote-Addr header set by webhooks/)"),
)


@dataclass(frozen=True)
class Settings:
    app_key: str
    app_secret: str = field(repr=False)
    robot_code: str
    token: str | None = field(repr=False)
    aes_key: str | None = field(repr=False)
    api_url: str
    oapi_url: str
    window_seconds: int
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @property
    def events_enabled(self) -> bool:
        return bool(self.token and self.aes_key)


def load(env: Mapping[str, str]) -> Settings:
    """Validated settings; raises ConfigError naming every variable that is missing or wrong."""
    values = read_env(ENV, env, "dingtalk")
    problems: list[str] = []
    token, aes_key = values["DINGTALK_TOKEN"], values["DINGTALK_ENCODING_AES_KEY"]
    if bool(token) != bool(aes_key):
        problems.append("dingtalk: DINGTALK_TOKEN and DINGTALK_ENCODING_AES_KEY are set together or not at all")
    if aes_key and len(aes_key) != 43:
        problems.append("dingtalk: DINGTALK_ENCODING_AES_KEY must be the 43-character aes_key from the console")
    try:
        window = int(values["DINGTALK_ROBOT_WINDOW_SECONDS"] or "60")
        if not 10 <= window <= 3600:
            raise ValueError
    except ValueError:
        problems.append("dingtalk: DINGTALK_ROBOT_WINDOW_SECONDS must be a whole number of seconds, 10..3600")
        window = 60
    networks = []
    for item in (values["DINGTALK_ROBOT_ALLOWED_IPS"] or "").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                problems.append(f"dingtalk: DINGTALK_ROBOT_ALLOWED_IPS has an invalid network {item.strip()!r}")
    for name in ("DINGTALK_API_URL", "DINGTALK_OAPI_URL"):
        if not (values[name] or "").startswith(("https://", "http://")):
            problems.append(f"dingtalk: {name} must be an http(s) URL")
    if problems:
        raise ConfigError(problems)
    return Settings(
        app_key=values["DINGTALK_APP_KEY"] or "",
        app_secret=values["DINGTALK_APP_SECRET"] or "",
        robot_code=values["DINGTALK_ROBOT_CODE"] or "",
        token=token,
        aes_key=aes_key,
        api_url=(values["DINGTALK_API_URL"] or API_URL).rstrip("/"),
        oapi_url=(values["DINGTALK_OAPI_URL"] or OAPI_URL).rstrip("/"),
        window_seconds=window,
        allowed_networks=tuple(networks),
    )
