"""Sign-in with the messenger, against a local fake of each one's sign-in servers (tests/fakes/oauth.py):
Slack OpenID Connect, WeCom 网页授权 and 扫码登录, DingTalk 扫码登录 — through the real HTTP flow, codes
used once, state and nonce checked, accounts resolved to Steward's person; every refusal audited."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from core.db.models import Account, AuditEntry, Person
from tests.fakes.oauth import FakeSignIn
from webhooks.console import views
from webhooks.console.models import ConsoleSession
from webhooks.console.signin import ConsoleSettings

PUBLIC = "https://steward.example.com"


@pytest.fixture
def fake():
    with FakeSignIn() as f:
        yield f


def attach(container, name: str, platform: str, user_id: str) -> None:
    """Give the person called `name` an account on another messenger."""
    with container.sessions.begin() as s:
        person = s.scalars(select(Person).where(Person.name == name)).one()
        s.add(Account(person=person, platform=platform, user_id=user_id, created_at=container.clock.now()))


@pytest.fixture
def app_client(console, fake):
    app = Flask("t")
    app.register_blueprint(views.blueprint(console, ConsoleSettings(public_url=PUBLIC, env=fake.env())))
    return app.test_client()


def through(client, start: str):
    """Follow the browser's way: Steward → the messenger's page → back to Steward's callback."""
    r = client.get(start)
    assert r.status_code == 302, r.get_data(as_text=True)
    there = requests.get(r.headers["Location"], allow_redirects=False, timeout=5)
    assert there.status_code == 302, there.text
    back = urlsplit(there.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == PUBLIC
    return client.get(f"{back.path}?{back.query}"), parse_qs(urlsplit(r.headers["Location"]).query)


def signed_in_as(container) -> list[tuple[int, str]]:
    with container.sessions() as s:
        return [(row.person_id, row.method) for row in s.scalars(select(ConsoleSession))]


def person_id(container, name: str) -> int:
    with container.sessions() as s:
        return s.scalar(select(Person.id).where(Person.name == name))


def test_the_sign_in_page_offers_each_configured_messenger(app_client):
    html = app_client.get("/console/signin").get_data(as_text=True)
    for anchor in ("oauth-slack-oidc", "oauth-wecom-qr", "oauth-wecom-web", "oauth-dingtalk-qr"):
        assert anchor in html


def test_sign_in_with_slack_openid_connect(app_client, console, fake):
    attach(console, "Adam Admin", "slack", "U0ADMIN1")
    fake.signed_in["slack"] = "U0ADMIN1"
    r, sent = through(app_client, "/console/oauth/slack/oidc")
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/")
    assert sent["scope"] == ["openid profile"] and sent["nonce"] and sent["team"] == [FakeSignIn.SLACK_TEAM]
    assert sent["redirect_uri"] == [f"{PUBLIC}/console/oauth/slack/callback"]
    assert signed_in_as(console) == [(person_id(console, "Adam Admin"), "oauth:slack")]
    assert app_client.get("/console/it").status_code == 200
    assert "fake-slack-client-secret" not in app_client.get("/console/it").get_data(as_text=True)


@pytest.mark.parametrize("variant", ["qr", "web"])
def test_sign_in_with_wecom(app_client, console, fake, variant):
    attach(console, "Lily Lead", "wecom", "lily.wang")
    fake.signed_in["wecom"] = "lily.wang"
    r, sent = through(app_client, f"/console/oauth/wecom/{variant}")
    assert r.status_code == 302
    assert sent["appid"] == [FakeSignIn.WECOM_CORP_ID]
    assert signed_in_as(console) == [(person_id(console, "Lily Lead"), "oauth:wecom")]
    assert app_client.get("/console/people").status_code == 403          # a lead, not HR


def test_sign_in_with_dingtalk(app_client, console, fake):
    attach(console, "Hannah HR", "dingtalk", "manager4521")
    fake.signed_in["dingtalk"] = "union-hannah"
    fake.dingtalk_users["union-hannah"] = "manager4521"
    r, sent = through(app_client, "/console/oauth/dingtalk/qr")
    assert r.status_code == 302
    assert sent["client_id"] == [FakeSignIn.DINGTALK_APP_KEY] and sent["prompt"] == ["consent"]
    assert signed_in_as(console) == [(person_id(console, "Hannah HR"), "oauth:dingtalk")]
    assert app_client.get("/console/people").status_code == 200


def refusals(container) -> list[str]:
    with container.sessions() as s:
        return [e.detail["why"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "console.signin_refused"))]


def test_an_account_steward_does_not_know_is_refused(app_client, console, fake):
    fake.signed_in["slack"] = "U0STRANGER"
    r, _ = through(app_client, "/console/oauth/slack/oidc")
    assert r.status_code == 403 and signed_in_as(console) == []
    assert refusals(console) == ["unknown account"]


def test_someone_outside_the_organisation_is_refused(app_client, console, fake):
    fake.signed_in["dingtalk"] = "union-outsider"         # no userid for this unionId
    r, _ = through(app_client, "/console/oauth/dingtalk/qr")
    assert r.status_code == 403 and refusals(console) == ["provider"]


def test_a_forged_state_is_refused(app_client, console, fake):
    attach(console, "Adam Admin", "slack", "U0ADMIN1")
    fake.signed_in["slack"] = "U0ADMIN1"
    r = app_client.get("/console/oauth/slack/oidc")
    there = requests.get(r.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(there.headers["Location"])
    query = back.query.replace("state=", "state=forged")
    assert app_client.get(f"{back.path}?{query}").status_code == 403
    assert refusals(console) == ["state"] and signed_in_as(console) == []


def test_a_code_works_once(app_client, console, fake):
    attach(console, "Adam Admin", "slack", "U0ADMIN1")
    fake.signed_in["slack"] = "U0ADMIN1"
    r = app_client.get("/console/oauth/slack/oidc")
    there = requests.get(r.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(there.headers["Location"])
    assert app_client.get(f"{back.path}?{back.query}").status_code == 302
    other = Flask("t2")
    other.register_blueprint(views.blueprint(console, ConsoleSettings(public_url=PUBLIC, env=fake.env())))
    replay = other.test_client()
    replay.get("/console/oauth/slack/oidc")             # a state of its own, then the stolen code
    cookie = replay.get_cookie(views.OAUTH_COOKIE, path="/console").value
    state = cookie.split(".")[1]
    code = parse_qs(back.query)["code"][0]
    assert replay.get(f"{back.path}?code={code}&state={state}").status_code == 403
    assert refusals(console) == ["provider"]


def test_an_id_token_for_another_nonce_is_refused(console, fake):
    from connectors.slack.signin import SlackSignIn

    fake.signed_in["slack"] = "U0ADMIN1"
    provider = SlackSignIn.from_env(fake.env())
    redirect_uri = f"{PUBLIC}/console/oauth/slack/callback"
    url = provider.authorize_url(redirect_uri, "s1", "nonce-one", "oidc")
    back = parse_qs(urlsplit(requests.get(url, allow_redirects=False, timeout=5).headers["Location"]).query)
    with pytest.raises(ValueError, match="id_token refused"):
        provider.user_id({"code": back["code"][0], "state": "s1"}, redirect_uri, "nonce-two")


def test_providers_show_no_secret_in_repr(fake):
    from webhooks.console.views import signin_providers
    for provider in signin_providers(fake.env()).values():
        assert "secret" not in repr(provider).lower()
