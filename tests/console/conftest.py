"""The console's fixtures: a deployment with an organisation admin, HR, a lead and a group admin who each
look after one group, and members; a Flask test client; sign-in by a one-time link."""
from __future__ import annotations

import re

import pytest

from core.config import parse_config
from tests.conftest import build_container

CONSOLE_CONFIG = """
locale: en
timezone: Asia/Shanghai
templates:
  new-hire:
    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}
  management:
    discipline: {warnings_before_removal: 1, removal: confirm, warning_expiry_days: 365}
groups:
  - platform: sandbox
    chat_id: new-hires
    name: New hires
    kind: new-hire
    lead: sandbox:lily
    admins: [sandbox:adam]
    members: [sandbox:alice, sandbox:bob]
  - platform: sandbox
    chat_id: managers
    name: Managers
    kind: management
    lead: sandbox:leo
    admins: [sandbox:mia]
    members: [sandbox:dave, sandbox:erin]
roles:
  admin: [sandbox:adam]
  hr: [sandbox:hannah]
"""

PEOPLE = {"adam": "Adam Admin", "lily": "Lily Lead", "leo": "Leo Lead", "mia": "Mia Groupadmin",
          "hannah": "Hannah HR", "alice": "Alice", "bob": "Bob", "dave": "Dave", "erin": "Erin"}


@pytest.fixture
def console_config():
    return parse_config(CONSOLE_CONFIG)


def name_people(container) -> None:
    from core.kernel.directory import account_for
    with container.sessions.begin() as s:
        for user, name in PEOPLE.items():
            account_for(s, "sandbox", user, container.clock.now(), name)


@pytest.fixture
def console(db_url, clock, console_config):
    """SQLite always, PostgreSQL too when STEWARD_TEST_POSTGRES_URL is set (CI)."""
    container = build_container(db_url, clock, console_config)
    name_people(container)
    yield container
    container.engine.dispose()


@pytest.fixture
def client(console):
    from webhooks import create_app
    app = create_app(console)
    app.testing = True
    return app.test_client()


def link(container, who: str, minutes: int = 15) -> str:
    from core.kernel.directory import find_account
    from webhooks.console.signin import create_link
    with container.sessions.begin() as s:
        return create_link(s, find_account(s, "sandbox", who), minutes, by="cli", now=container.clock.now())


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def sign_in(client, container, who: str):
    token = link(container, who)
    page = client.get(f"/console/signin/{token}")
    assert page.status_code == 200
    return client.post(f"/console/signin/{token}", data={"csrf": csrf_of(page.get_data(as_text=True))})
