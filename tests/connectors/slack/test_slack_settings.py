"""Start-up configuration: docs/design.md's variable names, fail-closed checks, the declared surface."""
from __future__ import annotations

import pytest

from connectors import registry
from connectors.registry import connector_class
from connectors.slack.connector import SlackConnector
from connectors.slack.settings import DEFAULT_API_URL, SlackSettings
from core.errors import ConfigError

BASE = {"SLACK_SIGNING_SECRET": "s3cr3t-signing", "SLACK_BOT_TOKEN": "xoxb-1-2-abc"}


def test_the_surface_matches_design_md():
    assert connector_class("slack") is SlackConnector
    assert SlackConnector.platform == "slack"
    assert registry.manifest("slack").endpoints == {"events": ("POST",)}   # mounted at POST /slack/events
    assert [(v.name, v.required, v.secret) for v in registry.manifest("slack").env] == [
        ("SLACK_SIGNING_SECRET", True, True),
        ("SLACK_BOT_TOKEN", True, True),
        ("SLACK_ADMIN_USER_TOKEN", False, True),
        ("SLACK_API_URL", False, False),
        ("SLACK_APP_TOKEN", False, True),
    ]


def test_missing_secrets_stop_start_up_naming_each(deps):
    with pytest.raises(ConfigError) as missing:
        SlackConnector.from_env({"SLACK_API_URL": "https://slack.com/api/"}, deps)
    text = str(missing.value)
    assert "SLACK_SIGNING_SECRET" in text and "SLACK_BOT_TOKEN" in text


def test_blank_secrets_count_as_missing(deps):
    with pytest.raises(ConfigError):
        SlackConnector.from_env({"SLACK_SIGNING_SECRET": "  ", "SLACK_BOT_TOKEN": "xoxb-1"}, deps)


@pytest.mark.parametrize("name,value", [
    ("SLACK_BOT_TOKEN", "xoxp-a-user-token"),
    ("SLACK_ADMIN_USER_TOKEN", "xoxb-a-bot-token"),
    ("SLACK_APP_TOKEN", "xoxb-not-an-app-token"),
    ("SLACK_API_URL", "slack.com/api"),
])
def test_the_wrong_kind_of_value_is_refused_at_start_up(name, value):
    with pytest.raises(ConfigError) as wrong:
        SlackSettings.from_env(BASE | {name: value})
    assert name in str(wrong.value)
    assert value not in str(wrong.value) or name == "SLACK_API_URL"   # never echo a token


def test_api_url_defaults_to_slack_and_gets_its_trailing_slash():
    assert SlackSettings.from_env(BASE).api_url == DEFAULT_API_URL
    assert SlackSettings.from_env(BASE | {"SLACK_API_URL": "https://slack-gov.com/api"}).api_url == \
        "https://slack-gov.com/api/"


def test_settings_never_show_secrets():
    settings = SlackSettings.from_env(BASE | {"SLACK_ADMIN_USER_TOKEN": "xoxp-9-9-admin"})
    assert "s3cr3t" not in repr(settings) and "xoxb-" not in repr(settings) and "xoxp-" not in repr(settings)


def test_construction_does_no_network_io(deps):
    # Nothing listens on this port: building the connector must not call auth.test or anything else.
    connector = SlackConnector.from_env(BASE | {"SLACK_API_URL": "http://127.0.0.1:9/api/"}, deps)
    assert connector.health().ok is False
