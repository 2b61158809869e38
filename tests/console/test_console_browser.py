"""The console in a real headless Chromium: sign-in by a one-time link, what a lead and a member see,
approving a pending removal (the sandbox messenger removes the member; the audit log shows it), and a
form without its CSRF token refused."""
from __future__ import annotations

import os
import socket
import threading

import pytest
from sqlalchemy import select

from core.db.models import Case
from tests.conftest import build_container, chromium
from tests.console.conftest import link, name_people
from tests.console.test_pages import group_id, pending_removal, say
from tests.fakes.oauth import FakeSignIn

pytestmark = pytest.mark.browser


@pytest.fixture
def signin_fake():
    with FakeSignIn() as fake:
        yield fake


@pytest.fixture
def deployment(sqlite_url, console_config, signin_fake, monkeypatch):
    from werkzeug.serving import make_server

    from core.clock import SystemClock
    from steward.worker import start_embedded
    from webhooks import create_app

    with socket.socket() as probe:         # the public URL names the port before the server binds it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {**signin_fake.env(), "STEWARD_PUBLIC_URL": f"http://127.0.0.1:{port}"}.items():
        monkeypatch.setenv(name, value)     # what the console reads; the container gets its own env
    container = build_container(sqlite_url, SystemClock(), console_config)
    name_people(container)
    httpd = make_server("127.0.0.1", port, create_app(container), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _, stop = start_embedded(container)
    yield container, f"http://127.0.0.1:{httpd.server_port}"
    stop.set()
    httpd.shutdown()
    container.engine.dispose()


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


def signed_in(browser, deployment, who: str, locale: str = "en-US"):
    """A fresh browser context signed in as `who` by a one-time link."""
    container, base = deployment
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/console/signin/{link(container, who)}")
    page.click("#signin")
    page.wait_for_selector("#me")
    return page


def test_sign_in_by_link_and_approve_a_pending_removal(browser, deployment, tmp_path):
    container, base = deployment
    number = pending_removal(container)
    say(container, "lily", "@steward warn @bob R8.1.2 ads", "new-hires")
    page = signed_in(browser, deployment, "mia")
    assert page.url == f"{base}/console/"
    assert page.inner_text("#count-pending") == "1"
    page = signed_in(browser, deployment, "adam")
    assert page.inner_text("#count-open") == "3"
    # STEWARD_CONSOLE_SCREENSHOT=docs/console-overview.png refreshes the README's picture
    shot = os.environ.get("STEWARD_CONSOLE_SCREENSHOT") or str(tmp_path / "overview.png")
    page.screenshot(path=shot, full_page=True)
    assert os.path.getsize(shot) > 10_000
    page.context.close()
    page = signed_in(browser, deployment, "mia")

    page.click("#nav-cases")
    page.click(f"#cases tr[data-case='{number}'] a")
    page.click("#approve")
    page.wait_for_selector("#done")
    assert "removal" in page.inner_text("#outcome")
    sandbox = container.connectors["sandbox"]
    for _ in range(100):
        if "dave" not in sandbox.members.get("managers", {"dave"}):
            break
        page.wait_for_timeout(100)
    assert "dave" not in sandbox.members.get("managers", set())

    page.click("#nav-audit")
    row = page.locator("#audit tr[data-action='case.approved']")
    assert "Mia Groupadmin (console)" in row.inner_text() and "Dave" in row.inner_text()

    page.click("#signout")
    page.goto(f"{base}/console/cases")
    assert page.url.endswith("/console/signin")


def test_a_lead_sees_their_group_and_not_another(browser, deployment):
    container, base = deployment
    page = signed_in(browser, deployment, "lily")
    page.click("#nav-groups")
    names = page.locator("#groups td:first-child").all_inner_texts()
    assert names == ["New hires"]
    page.click("text=New hires")
    assert page.inner_text("#group-name") == "New hires"
    assert "Alice" in page.inner_text("#members")
    response = page.goto(f"{base}/console/groups/{group_id(container, 'managers')}")
    assert response.status == 403 and page.inner_text("#error-code") == "403"


def test_a_member_sees_only_their_own_record(browser, deployment):
    container, base = deployment
    number = pending_removal(container)
    say(container, "lily", "@steward warn @bob R8.1.2 ads", "new-hires")
    page = signed_in(browser, deployment, "dave", locale="zh-CN")
    assert page.inner_text("#person-name") == "Dave"
    assert number in page.inner_text("#record")
    assert page.locator("#nav-me").inner_text() == "我的记录"
    assert page.locator("header nav a").count() == 1
    for path in ("/console/cases", "/console/audit", "/console/people"):
        assert page.goto(f"{base}{path}").status == 403


def test_a_form_without_its_csrf_token_is_refused(browser, deployment):
    container, base = deployment
    number = pending_removal(container)
    page = signed_in(browser, deployment, "adam")
    page.goto(f"{base}/console/cases/{number}")
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    with page.expect_navigation() as nav:
        page.click("#approve")
    assert nav.value.status == 403
    page.goto(f"{base}/console/cases/{number}")
    assert page.inner_text("#status") == "open" and "pending" in page.inner_text("#outcome")


@pytest.mark.parametrize("platform, variant, user, who", [
    ("slack", "oidc", "U0ADMIN1", "Adam Admin"),
    ("wecom", "qr", "lily.wang", "Lily Lead"),
    ("wecom", "web", "lily.wang", "Lily Lead"),
    ("dingtalk", "qr", "manager4521", "Hannah HR"),
])
def test_sign_in_with_each_messenger(browser, deployment, signin_fake, platform, variant, user, who):
    from tests.console.test_oauth import attach

    container, base = deployment
    attach(container, who, platform, user)
    signin_fake.signed_in[platform] = f"union-{user}" if platform == "dingtalk" else user
    signin_fake.dingtalk_users[f"union-{user}"] = user
    page = browser.new_context(locale="en-US").new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/console/cases")
    assert page.url.endswith("/console/signin")
    page.click(f"#oauth-{platform}-{variant}")
    page.wait_for_selector("#me")
    assert page.inner_text("#me") == who
    assert page.url.split("#")[0] == f"{base}/console/"     # a browser keeps #wechat_redirect across redirects


def test_an_admin_tries_a_lexicon_change_in_the_what_if_box(browser, deployment):
    container, base = deployment
    page = signed_in(browser, deployment, "adam")
    page.click("#nav-moderation")
    page.fill("#whatif-text", "今晚 团购暗号 开始")
    page.select_option("#whatif-category", "ads")
    page.fill("#whatif-term", "团购暗号")
    page.click("#whatif-run")
    assert "nothing found" in page.inner_text("#verdicts-now")
    assert "R8.1.2" in page.inner_text("#verdicts-after")
    page.click("#lexicon-save")
    page.wait_for_selector("#done")
    assert "团购暗号" in page.inner_text("#lexicon-edits")
    page.goto(f"{base}/console/audit?action=lexicon.")
    assert "Adam Admin (console)" in page.inner_text("#audit")


def test_the_console_fits_a_phone(browser, deployment):
    container, base = deployment
    number = pending_removal(container)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/console/signin/{link(container, 'adam')}")
    page.click("#signin")
    page.wait_for_selector("#me")
    for path in ("/console/", "/console/cases", f"/console/cases/{number}", "/console/audit"):
        page.goto(f"{base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    if os.environ.get("STEWARD_CONSOLE_PHONE_SHOT"):
        page.goto(f"{base}/console/")
        page.screenshot(path=os.environ["STEWARD_CONSOLE_PHONE_SHOT"], full_page=True)


def test_an_admin_decides_appeals_both_ways_and_finds_them_in_the_audit_log(browser, deployment):
    """R2.3.3: one appeal accepted (the case is revoked), one rejected with a reason (the case stands); both
    decisions are in the audit log under the admin's name, marked as made in the console, at local times."""
    container, base = deployment
    say(container, "lily", "@steward warn @bob R8.1.2 ads", "new-hires")
    say(container, "lily", "@steward warn @alice R8.1.2 ads", "new-hires")
    with container.sessions() as s:
        first, second = s.scalars(select(Case.number).order_by(Case.id)).all()[:2]
    say(container, "bob", f"appeal {first} it was a colleague's post", None)
    say(container, "alice", f"appeal {second} it was not an ad", None)
    page = signed_in(browser, deployment, "adam")

    page.goto(f"{base}/console/cases?status=appealed")
    page.click(f"#cases tr[data-case='{first}'] a")
    page.fill("#appeal-reason", "the post was a colleague's")
    page.click("#accept-appeal")
    page.wait_for_selector("#done")
    page.goto(f"{base}/console/cases/{second}")
    page.fill("#reject-appeal-reason", "the screenshot shows the offer")
    page.click("#reject-appeal")
    page.wait_for_selector("#done")
    with container.sessions() as s:
        statuses = dict(s.execute(select(Case.number, Case.status).where(Case.number.in_((first, second)))).all())
    assert statuses == {first: "revoked", second: "appeal_rejected"}

    page.goto(f"{base}/console/audit?action=case.")
    revoked = page.locator("#audit tr[data-action='case.revoked']").inner_text()
    rejected = page.locator("#audit tr[data-action='case.appeal_rejected']").inner_text()
    assert "Adam Admin (console)" in revoked and "Adam Admin (console)" in rejected
    assert "Asia/Shanghai" in page.inner_text("#audit thead")          # times in the deployment's zone
