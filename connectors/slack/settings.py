"""The environment variables the Slack connector reads (docs/design.md names), checked at start-up.

Secrets are fields with repr=False: a logged or printed SlackSettings never shows them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from connectors.base import EnvVar, read_env
from core.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"

ENV: tuple[EnvVar, ...] = (
    EnvVar("SLACK_SIGNING_SECRET", required=True, secret=True,
           meaning="the app's Signing Secret (Basic Information > App Credentials)"),
    EnvVar("SLACK_BOT_TOKEN", required=True, secret=True,
           meaning="the Bot User OAuth Token, xoxb-... (OAuth & Permissions)"),
    EnvVar("SLACK_ADMIN_USER_TOKEN", required=False, secret=True,
           meaning="a workspace admin's User OAuth Token, xoxp-...: lets Steward delete other people's messages"),
    EnvVar("SLACK_API_URL", required=False, secret=False, default=DEFAULT_API_URL,
           meaning="Web API base URL: Slack's own, GovSlack (https://slack-gov.com/api/), a proxy, or a test fake"),
    EnvVar("SLACK_APP_TOKEN", required=False, secret=True,
           meaning="an app-level token, xapp-... with connections:write: receive events over Socket Mode"),
)

# Token kinds by prefix (https://docs.slack.dev/authentication/tokens): a wrong kind fails at start-up,
# not at the first removal.
_PREFIXES = {
    "SLACK_BOT_TOKEN": ("xoxb-",),
    "SLACK_ADMIN_USER_TOKEN": ("xoxp-",),
    "SLACK_APP_TOKEN": ("xapp-",),
}


@dataclass(frozen=True)
class SlackSettings:
    signing_secret: str = field(repr=False)
    bot_token: str = field(repr=False)
    admin_user_token: str | None = field(repr=False)
    api_url: str
    app_token: str | None = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SlackSettings":
        values = read_env(ENV, env, "slack")
        problems = []
        for name, prefixes in _PREFIXES.items():
            value = values[name]
            if value and not value.startswith(prefixes):
                problems.append(f"slack: {name} must start with {' or '.join(prefixes)} "
                                f"(it looks like another kind of token)")
        api_url = values["SLACK_API_URL"] or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            problems.append(f"slack: SLACK_API_URL must be an http(s) URL, got {api_url!r}")
        if problems:
            raise ConfigError(problems)
        if not api_url.endswith("/"):
            api_url += "/"  # the SDK joins method names onto it: .../api + chat.postMessage would drop "api"
        return cls(
            signing_secret=values["SLACK_SIGNING_SECRET"] or "",
            bot_token=values["SLACK_BOT_TOKEN"] or "",
            admin_user_token=values["SLACK_ADMIN_USER_TOKEN"],
            api_url=api_url,
            app_token=values["SLACK_APP_TOKEN"],
        )
