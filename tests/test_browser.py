"""The echo chamber's page in a real headless Chromium (Debian's, never a downloaded one)."""

import os
import pathlib
import shutil

import pytest

from workshop import serve_asgi

REPO = pathlib.Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
# Flags for a sandboxed machine with no network: no first-run work, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser test: install Debian's chromium (.ci/run does)", pytrace=False)
    pytest.skip("no Chromium found: sudo apt-get install chromium (the lessons do not need it)",
                allow_module_level=True)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    page = browser.new_page()
    yield page
    report = getattr(request.node, "report_call", None)  # set by the root conftest
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{request.node.name}.png"
        page.screenshot(path=str(shot))
        print(f"screenshot of the failing page: {shot}")
    page.close()


def test_typing_channels_shows_eight_echoes_in_order(page):
    with serve_asgi("echo_project.asgi:application") as server:
        page.goto(server.url)
        page.wait_for_selector("#status[data-state='open']")
        page.locator("#typing").press_sequentially("channels", delay=20)
        received = page.locator("#received li")
        received.nth(7).wait_for(timeout=10_000)
        assert received.all_inner_texts() == list("channels")
        assert page.locator("#sent li").all_inner_texts() == list("channels")


def test_the_page_reconnects_when_the_server_comes_back(page):
    server = serve_asgi("echo_project.asgi:application", name="echo page")
    port = server.port
    page.goto(server.url)
    page.wait_for_selector("#status[data-state='open']")
    server.stop()
    page.wait_for_selector("#status[data-state='closed']")
    server = serve_asgi("echo_project.asgi:application", name="echo page", port=port)
    try:
        page.wait_for_selector("#status[data-state='open']", timeout=15_000)
        page.locator("#typing").press_sequentially("ok", delay=20)
        page.locator("#received li").nth(1).wait_for()
        assert page.locator("#received li").all_inner_texts() == ["o", "k"]
    finally:
        server.stop()



def test_two_pages_in_one_room_see_each_others_letters(browser):
    with serve_asgi("echo_project.asgi:application") as server:
        ada, bob = browser.new_page(), browser.new_page()
        try:
            for page in (ada, bob):
                page.goto(server.url + "?room=party")
                page.wait_for_selector("#status:has-text('connected to room party as guest-')")
            ada.locator("#typing").press_sequentially("hi", delay=20)
            bob.locator("#typing").press_sequentially("yo", delay=20)
            for page in (ada, bob):
                page.locator("#received li", has_text=": o").wait_for(timeout=10_000)
            ada_name = ada.locator("#status").inner_text().rsplit(" ", 1)[1]
            bob_name = bob.locator("#status").inner_text().rsplit(" ", 1)[1]
            expected = [f"{ada_name}: h", f"{ada_name}: i", f"{bob_name}: y", f"{bob_name}: o"]
            for page in (ada, bob):
                letters = [t for t in page.locator("#received li").all_inner_texts() if ": " in t]
                assert letters == expected
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            ada.screenshot(path=str(ARTIFACTS / "room-ada.png"))
            bob.screenshot(path=str(ARTIFACTS / "room-bob.png"))
            raise
        finally:
            ada.close()
            bob.close()


def test_the_page_switches_between_the_echo_and_a_room(page):
    with serve_asgi("echo_project.asgi:application") as server:
        page.goto(server.url)
        page.wait_for_selector("#status:has-text('connected to the echo')")
        page.check("input[value='room']")
        page.fill("#room", "lobby")
        page.click("button[type='submit']")
        page.wait_for_selector("#status:has-text('connected to room lobby as guest-')")
        page.locator("#typing").press_sequentially("a", delay=20)
        page.locator("#received li", has_text=": a").wait_for()
        page.check("input[value='echo']")
        page.click("button[type='submit']")
        page.wait_for_selector("#status:has-text('connected to the echo')")
