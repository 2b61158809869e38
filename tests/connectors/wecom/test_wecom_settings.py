"""Start-up fails closed, naming the variable that is wrong (docs/design.md names)."""
from __future__ import annotations

import pytest

from connectors import registry
from connectors.wecom.settings import DEFAULT_API_URL, ENV, load_settings
from core.errors import ConfigError
from tests.connectors.wecom.wecom_helpers import BASE_ENV


def test_env_names_are_the_design_names():
    assert [v.name for v in ENV] == [
        "WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY",
        "WECOM_CONTACT_TOKEN", "WECOM_CONTACT_ENCODING_AES_KEY",
        "WECOM_AIBOT_TOKEN", "WECOM_AIBOT_ENCODING_AES_KEY", "WECOM_AIBOT_NAME", "WECOM_API_URL"]
    assert {v.name for v in ENV if v.required} == {
        "WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY"}
    assert registry.manifest("wecom").env == ENV


def test_defaults():
    settings = load_settings(BASE_ENV)
    assert settings.api_url == DEFAULT_API_URL
    assert settings.agent_id == 1000002 and settings.contacts_configured


@pytest.mark.parametrize("missing", ["WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN",
                                     "WECOM_ENCODING_AES_KEY"])
def test_missing_required_variable_is_named(missing):
    with pytest.raises(ConfigError, match=missing):
        load_settings({k: v for k, v in BASE_ENV.items() if k != missing})


@pytest.mark.parametrize("name", ["WECOM_ENCODING_AES_KEY", "WECOM_CONTACT_ENCODING_AES_KEY"])
@pytest.mark.parametrize("value", ["tooShort", "kW3wYb0mQ4zR8tV2xN6pL1cJ9gF5hD7sA3eU0iO2yT4=",
                                   "kW3wYb0mQ4zR8tV2xN6pL1cJ9gF5hD7sA3eU0iO2y-4", "é" * 43],
                         ids=["short", "44_chars", "url_safe_alphabet", "non_ascii"])
def test_bad_aes_key_is_named(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({**BASE_ENV, name: value})


@pytest.mark.parametrize("present", ["WECOM_CONTACT_TOKEN", "WECOM_CONTACT_ENCODING_AES_KEY"])
def test_contact_callback_needs_token_and_key_together(present):
    env = {k: v for k, v in BASE_ENV.items() if not k.startswith("WECOM_CONTACT_") or k == present}
    with pytest.raises(ConfigError, match="WECOM_CONTACT_"):
        load_settings(env)


def test_contact_callback_is_optional():
    env = {k: v for k, v in BASE_ENV.items() if not k.startswith("WECOM_CONTACT_")}
    assert not load_settings(env).contacts_configured


@pytest.mark.parametrize("value", ["abc", "12a", "0"])
def test_agent_id_must_be_numeric(value):
    with pytest.raises(ConfigError, match="WECOM_AGENT_ID"):
        load_settings({**BASE_ENV, "WECOM_AGENT_ID": value})


def test_api_url_is_normalised_and_checked():
    assert load_settings({**BASE_ENV, "WECOM_API_URL": "http://127.0.0.1:9/cgi-bin"}).api_url == \
        "http://127.0.0.1:9/cgi-bin/"
    with pytest.raises(ConfigError, match="WECOM_API_URL"):
        load_settings({**BASE_ENV, "WECOM_API_URL": "qyapi.weixin.qq.com"})


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE_ENV, "WECOM_AGENT_ID": "x", "WECOM_ENCODING_AES_KEY": "short"})
    assert len(caught.value.problems) == 2


def test_secrets_are_marked_secret():
    assert {v.name for v in ENV if v.secret} == {
        "WECOM_SECRET", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "WECOM_CONTACT_TOKEN",
        "WECOM_CONTACT_ENCODING_AES_KEY", "WECOM_AIBOT_TOKEN", "WECOM_AIBOT_ENCODING_AES_KEY"}
