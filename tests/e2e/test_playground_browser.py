"""The sandbox playground in a real headless Chromium: type into a group, watch the ladder."""
from __future__ import annotations

import threading

import pytest

from tests.conftest import build_container, chromium

pytestmark = pytest.mark.browser


@pytest.fixture
def served(sqlite_url, sandbox_config):
    from werkzeug.serving import make_server

    from core.clock import SystemClock
    from steward.worker import start_embedded
    from webhooks import create_app

    container = build_container(sqlite_url, SystemClock(), sandbox_config)
    httpd = make_server("127.0.0.1", 0, create_app(container), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _, stop = start_embedded(container)
    yield f"http://127.0.0.1:{httpd.server_port}", container
    stop.set()
    httpd.shutdown()
    container.engine.dispose()


@pytest.fixture
def server(served):
    return served[0]


@pytest.fixture
def page():
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(15000)
        yield page


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
    invited = page.wait_for_selector("#log li.invited").inner_text()
    assert "@ new-hires" in invited and "private" not in invited   # a group event, not a private message
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


def seqs(page) -> list[str]:
    return page.eval_on_selector_all("#log li", "els => els.map(e => e.dataset.seq)")


def test_overlapping_refreshes_never_duplicate_a_line(server, page):
    page.goto(f"{server}/sandbox/")
    page.wait_for_selector("#who option[value=adam]", state="attached")
    page.select_option("#who", "adam")
    page.select_option("#where", "new-hires")
    send(page, "@steward warn @bob R8.1.2 posting ads")
    page.evaluate("() => Promise.all([refresh(), refresh(), refresh(), refresh()])")
    page.wait_for_selector("#log li.private:has-text('appeal C000001')")
    page.evaluate("() => Promise.all([refresh(), refresh(), refresh()])")
    page.wait_for_timeout(1500)
    lines = seqs(page)
    assert len(lines) >= 3 and len(lines) == len(set(lines))


def test_a_pin_names_the_post_it_pins(server, page):
    page.goto(f"{server}/sandbox/")
    page.wait_for_selector("#who option[value=lily]", state="attached")
    page.select_option("#who", "lily")
    page.select_option("#where", "new-hires")
    send(page, "@steward announce topic: Orientation day time: 2030-01-15 14:00 points: bring your laptop")
    page.wait_for_selector("#log li.card:has-text('Orientation day')")
    pinned = page.wait_for_selector("#log li.pinned", timeout=45000).inner_text()
    assert "📌" in pinned and "Orientation day" in pinned and "@ new-hires" in pinned


def test_the_i_am_list_follows_onboarding(served, page):
    from core.kernel.inbound import ingest

    server, container = served
    page.goto(f"{server}/sandbox/")
    page.wait_for_selector("#who option[value=adam]", state="attached")
    page.select_option("#who", "adam")
    assert not page.query_selector("#who option[value=zoe]")
    event = container.connectors["sandbox"].say("zoe", "hello everyone", chat_id="new-hires")
    ingest(container.ctx, event)
    page.wait_for_selector("#who option[value=zoe]", state="attached")
    assert page.eval_on_selector("#who", "s => s.value") == "adam"     # the choice is kept


def test_the_first_screen_suggests_what_to_try(server, page):
    page.goto(f"{server}/sandbox/")
    page.wait_for_selector("#who option[value=alice]", state="attached")
    assert page.is_visible("#welcome") and len(page.query_selector_all("#welcome button")) >= 4
    page.click("#welcome button[data-say='@steward hlep']")
    assert page.input_value("#text") == "@steward hlep" and page.eval_on_selector("#who", "s => s.value") == "alice"
    page.click("#send")
    answer = page.wait_for_selector("#log li.ephemeral, #log li.private").inner_text()
    assert "help" in answer and "alice" in answer
    page.wait_for_selector("#welcome", state="hidden")


def test_a_390px_screen_gets_one_column(server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/sandbox/")
    page.wait_for_selector("#who option[value=alice]", state="attached")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    main, aside = page.query_selector("main").bounding_box(), page.query_selector("aside").bounding_box()
    assert aside["y"] >= main["y"] + main["height"] - 1 and main["width"] <= 390
    send_box = page.query_selector("#send").bounding_box()
    assert send_box["x"] + send_box["width"] <= 390 and send_box["y"] + send_box["height"] <= 844


def test_polling_stays_out_of_the_server_log():
    import logging

    from webhooks.sandbox import QuietPolling

    quiet = QuietPolling()
    polled = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '127.0.0.1 - - "%s" 200 -',
                               ("GET /sandbox/state?since=12 HTTP/1.1",), None)
    said = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '127.0.0.1 - - "%s" 200 -',
                             ("POST /sandbox/messages HTTP/1.1",), None)
    assert not quiet.filter(polled) and quiet.filter(said)
