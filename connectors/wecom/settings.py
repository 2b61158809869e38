"""The environment WeCom reads (docs/design.md names) and its validation at start-up. Secrets are fields with
repr=False: a logged or printed WeComSettings never shows them."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Mapping

from connectors.base import EnvVar, read_env
from core.errors import ConfigError

DEFAULT_API_URL = "https://qyapi.weixin.qq.com/cgi-bin/"

ENV: tuple[EnvVar, ...] = (
    EnvVar("WECOM_CORP_ID", True, False, "the corp id (企业ID), 我的企业 → 企业信息"),
    EnvVar("WECOM_AGENT_ID", True, False, "the self-built app's AgentId"),
    EnvVar("WECOM_SECRET", True, True, "the self-built app's Secret"),
    EnvVar("WECOM_TOKEN", True, True, "the app's API receive-message Token"),
    EnvVar("WECOM_ENCODING_AES_KEY", True, True, "the app's API receive-message EncodingAESKey (43 characters)"),
    EnvVar("WECOM_CONTACT_TOKEN", False, True, "the 通讯录同步 callback Token (departures)"),
    EnvVar("WECOM_CONTACT_ENCODING_AES_KEY", False, True, "the 通讯录同步 callback EncodingAESKey (43 characters)"),
    EnvVar("WECOM_AIBOT_TOKEN", False, True, "the AI bot (智能机器人) API-mode callback Token (group @-mentions)"),
    EnvVar("WECOM_AIBOT_ENCODING_AES_KEY", False, True,
           "the AI bot (智能机器人) API-mode callback EncodingAESKey (43 characters)"),
    EnvVar("WECOM_AIBOT_NAME", False, False, "the AI bot's name as members @-mention it (stripped from commands)"),
    EnvVar("WECOM_API_URL", False, False, "the API base URL (私有化 deployments and tests)", DEFAULT_API_URL),
)

_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")


@dataclass(frozen=True)
class WeComSettings:
    corp_id: str
    agent_id: int
    secret: str = field(repr=False)
    token: str = field(repr=False)
    aes_key: str = field(repr=False)
    contact_token: str | None = field(repr=False)
    contact_aes_key: str | None = field(repr=False)
    api_url: str
    aibot_token: str | None = field(default=None, repr=False)
    aibot_aes_key: str | None = field(default=None, repr=False)
    aibot_name: str | None = None

    @property
    def contacts_configured(self) -> bool:
        return bool(self.contact_token and self.contact_aes_key)

    @property
    def aibot_configured(self) -> bool:
        return bool(self.aibot_token and self.aibot_aes_key)


def _aes_key_problem(name: str, value: str) -> str | None:
    """EncodingAESKey is 43 characters of base64 that decode (with a trailing '=') to 32 bytes."""
    if not _AES_KEY.fullmatch(value):
        return f"wecom: {name} must be the 43-character EncodingAESKey (base64 letters, digits, + and /)"
    try:
        if len(base64.b64decode(value + "=", validate=True)) != 32:
            raise ValueError
    except (binascii.Error, ValueError):
        return f"wecom: {name} is not valid base64 for a 32-byte AES key"
    return None


def load_settings(env: Mapping[str, str]) -> WeComSettings:
    """Read and validate the environment; ConfigError names every variable that is wrong."""
    values = read_env(ENV, env, "wecom")
    problems: list[str] = []

    agent_raw = values["WECOM_AGENT_ID"] or ""
    agent_id = int(agent_raw) if agent_raw.isdigit() else 0
    if not agent_id:
        problems.append("wecom: WECOM_AGENT_ID must be the app's numeric AgentId")

    for name in ("WECOM_ENCODING_AES_KEY", "WECOM_CONTACT_ENCODING_AES_KEY", "WECOM_AIBOT_ENCODING_AES_KEY"):
        if values[name]:
            problem = _aes_key_problem(name, values[name] or "")
            if problem:
                problems.append(problem)

    for prefix, what in (("WECOM_CONTACT", "the contact-sync callback"), ("WECOM_AIBOT", "the AI bot callback")):
        token, key = values[f"{prefix}_TOKEN"], values[f"{prefix}_ENCODING_AES_KEY"]
        if bool(token) != bool(key):
            missing = f"{prefix}_ENCODING_AES_KEY" if token else f"{prefix}_TOKEN"
            problems.append(f"wecom: {missing} is not set; {what} needs both its token and key")
    contact_token, contact_key = values["WECOM_CONTACT_TOKEN"], values["WECOM_CONTACT_ENCODING_AES_KEY"]

    api_url = values["WECOM_API_URL"] or DEFAULT_API_URL
    if not api_url.startswith(("https://", "http://")):
        problems.append("wecom: WECOM_API_URL must be an http(s) URL such as " + DEFAULT_API_URL)
    if not api_url.endswith("/"):
        api_url += "/"

    if problems:
        raise ConfigError(problems)
    return WeComSettings(
        corp_id=values["WECOM_CORP_ID"] or "",
        agent_id=agent_id,
        secret=values["WECOM_SECRET"] or "",
        token=values["WECOM_TOKEN"] or "",
        aes_key=values["WECOM_ENCODING_AES_KEY"] or "",
        contact_token=contact_token,
        contact_aes_key=contact_key,
        api_url=api_url,
        aibot_token=values["WECOM_AIBOT_TOKEN"],
        aibot_aes_key=values["WECOM_AIBOT_ENCODING_AES_KEY"],
        aibot_name=(values["WECOM_AIBOT_NAME"] or "").lstrip("@") or None,
    )


load = load_settings     # the same name in every connector's settings module
