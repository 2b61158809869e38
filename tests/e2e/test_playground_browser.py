"""The sandbox playground in a real headless Chromium: type into a group, watch the ladder."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

from tests.conftest import build_container

CHROMIUM = os.environ.get("STEWARD_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.browser


@pytest.fixture
def server(sqlite_url, sandbox_config):
    from werkzeug.serving import make_server

    from core.clock import SystemClock
    from steward.worker import start_embedded
    from webhooks import create_app

    container = build_container(sqlite_url, SystemClock(), sandbox_config)
    httpd = make_server("127.0.0.1", 0, create_app(container), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _, stop = start_embedded(container)
    yield f"http://127.0.0.1:{httpd.server_port}"
    stop.set()
    httpd.shutdown()
    container.engine.dispose()


@pytest.fixture
def page():
    if not CHROMIUM:
        if os.environ.get("STEWARD_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium binary found (install Debian's chromium to run the browser test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.set_default_timeout(15000)
        yield page
        browser.close()


def send(page, text):
    page.fill("#text", text)
    page.click("#send")


def test_playground_shows_the_whole_ladder(server, page):
    page.goto(f"{server}/sandbox/")
    page.wait_for_selector("#who option[value=adam]", state="attached")
    page.select_option("#who", "adam")
    page.select_option("#where", "new-hires")

    send(page, "@steward warn @bob R8.1.2 posting ads")
    page.wait_for_selector("#log li.message:has-text('R8.2.1')")
    page.wait_for_selector("#log li.private:has-text('appeal C000001')")

    send(page, "@steward 警告 @bob 又发广告")
    page.wait_for_selector("#log li.message:has-text('R8.2.2')")
    page.wait_for_selector("#log li.removed")

    page.select_option("#where", "")
    send(page, "@steward revoke C000002 appeal accepted")
    page.wait_for_selector("#log li.invited")
    page.wait_for_selector("#audit li:has-text('case.revoked')")
    every_bot_line = page.locator("#log li.message").all_inner_texts()
    assert every_bot_line and all("R8.2" in line for line in every_bot_line)


def test_playground_card_buttons_confirm_a_removal(server, page):
    page.goto(f"{server}/sandbox/")
    page.wait_for_selector("#who option[value=lily]", state="attached")
    page.select_option("#who", "lily")
    page.select_option("#where", "managers")
    for n in range(3):
        send(page, f"@steward warn @dave rude {n}")
        page.wait_for_selector(f"#log li:has-text('rude {n}')")
    page.wait_for_selector("#log li.card button[data-action='case.approve']")
    page.select_option("#who", "adam")
    page.click("#log li.card button[data-action='case.approve']")
    page.wait_for_selector("#log li.removed")
