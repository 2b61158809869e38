"""Sign-in by a one-time link: single use, short-lived, stored hashed, audited; sessions with HttpOnly,
SameSite (and Secure behind https) cookies, idle and absolute expiry, sign-out; CSRF on every form."""
from __future__ import annotations

import hashlib
import re

from click.testing import CliRunner
from sqlalchemy import select

from core.db.models import AuditEntry
from tests.console.conftest import CONSOLE_CONFIG, csrf_of, link, sign_in
from webhooks.console.models import ConsoleLink, ConsoleSession


def actions(container) -> list[str]:
    with container.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_cli_prints_a_link_that_signs_in_once(tmp_path, sqlite_url, clock, console_config):
    from steward.cli import main
    from tests.conftest import build_container
    from webhooks import create_app

    cfg = tmp_path / "steward.yaml"
    cfg.write_text(CONSOLE_CONFIG, encoding="utf-8")
    env = {"DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR",
           "STEWARD_PUBLIC_URL": "https://steward.example.com/"}
    result = CliRunner().invoke(main, ["console", "link", "--as", "sandbox:adam", "--minutes", "5"], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    token = re.fullmatch(r"https://steward\.example\.com/console/signin/([\w-]+)", url).group(1)

    container = build_container(sqlite_url, clock, console_config)
    with container.sessions() as s:
        stored = s.scalars(select(ConsoleLink)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in stored.token_hash
        assert (stored.expires_at - stored.created_at).total_seconds() == 300
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "console.link_created")).one()
        assert entry.actor == "cli" and token not in str(entry.detail)

    client = create_app(container).test_client()
    page = client.get(f"/console/signin/{token}")
    first = client.post(f"/console/signin/{token}", data={"csrf": csrf_of(page.get_data(as_text=True))})
    assert first.status_code == 302 and first.headers["Location"].endswith("/console/")
    again = create_app(container).test_client()
    page = again.get(f"/console/signin/{token}")
    second = again.post(f"/console/signin/{token}", data={"csrf": csrf_of(page.get_data(as_text=True))})
    assert second.status_code == 403
    assert actions(container)[-2:] == ["console.signed_in", "console.link_refused"]
    container.engine.dispose()


def test_the_cli_refuses_an_unknown_account(tmp_path, sqlite_url):
    from steward.cli import main

    cfg = tmp_path / "steward.yaml"
    cfg.write_text(CONSOLE_CONFIG, encoding="utf-8")
    env = {"DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR"}
    result = CliRunner().invoke(main, ["console", "link", "--as", "sandbox:nobody"], env=env)
    assert result.exit_code == 1 and "no account sandbox:nobody" in result.output
    result = CliRunner().invoke(main, ["console", "link", "--as", "nowhere"], env=env)
    assert result.exit_code == 1 and "not an account" in result.output


def test_an_expired_link_is_refused_and_audited(client, console, clock):
    token = link(console, "adam", minutes=5)
    page = client.get(f"/console/signin/{token}")
    clock.advance(minutes=6)
    r = client.post(f"/console/signin/{token}", data={"csrf": csrf_of(page.get_data(as_text=True))})
    assert r.status_code == 403
    with console.sessions() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "console.link_refused")).one()
        assert refused.detail["why"] == "expired"


def test_a_get_does_not_use_the_link_up(client, console):
    token = link(console, "adam")
    client.get(f"/console/signin/{token}")
    client.get(f"/console/signin/{token}")
    with console.sessions() as s:
        assert s.scalars(select(ConsoleLink)).one().used_at is None


def test_the_session_cookie_is_httponly_samesite_and_hashed(client, console):
    r = sign_in(client, console, "adam")
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("steward_console="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie       # plain http on 127.0.0.1
    token = cookie.split(";")[0].split("=", 1)[1]
    with console.sessions() as s:
        row = s.scalars(select(ConsoleSession)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.method == "link"


def test_behind_https_the_cookie_is_secure(console):
    from flask import Flask

    from webhooks.console import views
    from webhooks.console.signin import ConsoleSettings

    app = Flask("t")
    app.register_blueprint(views.blueprint(console, ConsoleSettings(public_url="https://steward.example.com")))
    r = sign_in(app.test_client(), console, "adam")
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("steward_console="))
    assert "Secure" in cookie


def test_idle_and_absolute_expiry(client, console, clock):
    sign_in(client, console, "adam")
    assert client.get("/console/").status_code == 200
    clock.advance(minutes=31)                             # idle longer than 30 minutes
    assert client.get("/console/").status_code == 302
    sign_in(client, console, "adam")
    for _ in range(13 * 3):                               # busy, but for longer than 12 hours
        clock.advance(minutes=20)
        r = client.get("/console/")
        if r.status_code == 302:
            break
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/signin")
    assert actions(console).count("console.session_expired") == 2


def test_sign_out_ends_the_session(client, console):
    sign_in(client, console, "adam")
    page = client.get("/console/").get_data(as_text=True)
    cookie = client.get_cookie("steward_console", path="/console").value
    r = client.post("/console/signout", data={"csrf": csrf_of(page)})
    assert r.status_code == 302
    client.set_cookie("steward_console", cookie, path="/console")     # a stolen copy of the cookie
    assert client.get("/console/").status_code == 302
    assert "console.signed_out" in actions(console)


def test_a_form_without_its_csrf_token_is_refused(client, console):
    sign_in(client, console, "adam")
    for data in ({}, {"csrf": "forged"}):
        r = client.post("/console/signout", data=data)
        assert r.status_code == 403
    assert client.get("/console/").status_code == 200         # still signed in
    with console.sessions() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "console.refused")).all()
        assert [e.detail["why"] for e in refused] == ["csrf", "csrf"]


def test_the_sign_in_form_needs_its_token_too(client, console):
    token = link(console, "adam")
    client.get(f"/console/signin/{token}")
    assert client.post(f"/console/signin/{token}", data={}).status_code == 403
    with console.sessions() as s:
        assert s.scalars(select(ConsoleLink)).one().used_at is None


def test_pages_need_a_session(client):
    r = client.get("/console/cases")
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/signin")


def test_security_headers(client, console):
    sign_in(client, console, "adam")
    r = client.get("/console/")
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_a_departed_person_cannot_sign_in_and_is_signed_out(client, console):
    from core.db.models import Person

    sign_in(client, console, "lily")
    assert client.get("/console/").status_code == 200
    with console.sessions.begin() as s:
        s.scalars(select(Person).where(Person.name == "Lily Lead")).one().status = "departed"
    assert client.get("/console/").status_code == 302                 # signed out at the next page
    assert sign_in(client.application.test_client(), console, "lily").status_code == 403
    done = actions(console)
    assert done[-1] == "console.signin_refused" and "console.signed_out" in done


def test_spent_links_and_dead_sessions_are_deleted_a_day_on(client, console, clock):
    """Each sign-in deletes what can never be used again; the live session and an unexpired link stay."""
    sign_in(client, console, "adam")                      # a session, and its link (now used)
    with console.sessions() as s:
        adams_link = s.scalars(select(ConsoleLink.token_hash)).one()
    clock.advance(minutes=31)                             # the session dies of idleness, unseen
    client.post("/console/signout")                       # (refused: no CSRF; nothing ends it)
    clock.advance(hours=12 + 25)
    fresh = link(console, "lily")                         # unexpired, unused
    sign_in(client, console, "hannah")
    with console.sessions() as s:
        sessions = s.scalars(select(ConsoleSession)).all()
        links = s.scalars(select(ConsoleLink)).all()
    assert [row.person_id for row in sessions] == [sessions[0].person_id] and len(sessions) == 1
    kept = {row.token_hash for row in links}                  # lily's, and hannah's (used, not yet expired)
    assert hashlib.sha256(fresh.encode()).hexdigest() in kept and adams_link not in kept and len(kept) == 2
