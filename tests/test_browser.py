"""The echo chamber's page in a real headless Chromium (Debian's, never a downloaded one)."""

import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.chromium import ARTIFACTS, chromium, require_chromium
from workshop import ECHO_PROJECT, connect_ws, serve_asgi, serve_echo_project, serve_wsgi

require_chromium("the browser test")


# The page's server is mostly a thread of this process, and its rooms keep their history in the database, from
# other threads than the test's: pytest-django's test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


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
                letters = [t for t in page.locator("#received li:not(.history)").all_inner_texts() if ": " in t]
                assert letters == expected
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            ada.screenshot(path=str(ARTIFACTS / "room-ada.png"))
            bob.screenshot(path=str(ARTIFACTS / "room-bob.png"))
            raise
        finally:
            ada.close()
            bob.close()


def test_a_page_that_joins_a_room_shows_what_was_said_before(browser):
    with serve_asgi("echo_project.asgi:application") as server:
        ada, bob = browser.new_page(), browser.new_page()
        try:
            ada.goto(server.url + "?room=remembers")
            ada.wait_for_selector("#status:has-text('connected to room remembers as guest-')")
            ada.locator("#typing").press_sequentially("tea", delay=20)
            ada.locator("#received li", has_text=": a").wait_for(timeout=10_000)
            ada_name = ada.locator("#status").inner_text().rsplit(" ", 1)[1]
            bob.goto(server.url + "?room=remembers")
            bob.locator("#received li.history", has_text=": a").wait_for(timeout=10_000)
            earlier = bob.locator("#received li.history").all_inner_texts()
            assert earlier[-3:] == [f"{ada_name}: t", f"{ada_name}: e", f"{ada_name}: a"]
            assert "earlier in this room" in bob.locator("#received li").first.inner_text()
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            bob.screenshot(path=str(ARTIFACTS / "history-bob.png"))
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


# --------------------------------------------------------------------------- the page's own faults


def test_the_radio_buttons_sit_on_the_line_of_their_labels(page):
    with serve_asgi("echo_project.asgi:application") as server:
        page.goto(server.url)
        for value in ("echo", "room"):
            radio = page.locator(f"input[value='{value}']")
            text = radio.evaluate("""radio => {
                const range = document.createRange();
                range.selectNodeContents(radio.nextSibling);  // the label's words after the button
                return range.getBoundingClientRect().toJSON();
            }""")
            box = radio.bounding_box()
            assert box["width"] < 40, f"the {value} radio button is {box['width']} px wide"
            assert box["x"] + box["width"] <= text["x"], f"the {value} radio button is not left of its words"
            assert box["y"] < text["y"] + text["height"] and text["y"] < box["y"] + box["height"], (
                f"the {value} radio button is not on the line of its words"
            )


def test_list_numbers_from_10_up_are_not_clipped(page):
    """Each entry's number fits between the list's visible left edge and the entry's text."""
    with serve_asgi("echo_project.asgi:application") as server:
        page.goto(server.url)
        page.wait_for_selector("#status[data-state='open']")
        page.locator("#typing").press_sequentially("abcdefghijkl", delay=10)
        twelfth = page.locator("#received li").nth(11)
        twelfth.wait_for()
        room, needed = twelfth.evaluate("""item => {
            const list = item.parentElement;
            const range = document.createRange();
            range.selectNodeContents(item);
            const canvas = document.createElement("canvas").getContext("2d");
            canvas.font = getComputedStyle(item).font;
            return [range.getBoundingClientRect().left - list.getBoundingClientRect().left,
                    canvas.measureText("12. ").width];
        }""")
        assert room >= needed, f"{room:.0f} px left of the text for a {needed:.0f} px number"


def test_the_room_pattern_is_a_valid_expression_and_rejects_bad_names(page):
    """Browsers compile ``pattern`` with the ``v`` flag; an invalid one silently turns validation off."""
    with serve_asgi("echo_project.asgi:application") as server:
        page.goto(server.url)
        room = page.locator("#room")
        pattern = room.get_attribute("pattern")
        assert page.evaluate("p => { try { new RegExp(p, 'v'); return true } catch { return false } }", pattern)
        for name, mismatch in (("lobby", False), ("room-2_b", False), ("no spaces!", True), ("a/b", True)):
            room.fill(name)
            assert room.evaluate("input => input.validity.patternMismatch") is mismatch, name


def test_the_page_loads_with_no_failed_request_and_has_an_icon(page):
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    page.on("requestfailed", lambda request: failed.append(request.url))
    with serve_asgi("echo_project.asgi:application") as server:
        page.goto(server.url)
        page.wait_for_selector("#status[data-state='open']")
        page.wait_for_load_state("networkidle")
        assert failed == []
        icon = page.evaluate("document.querySelector(\"link[rel='icon']\").href")
        response = page.request.get(icon)
        assert response.status == 200 and response.headers["content-type"].startswith("image/svg+xml")


# --------------------------------------------------------------------------- in a frame


def _framing_page(src):
    """A WSGI app whose page frames ``src``: a JupyterLab, or any other site, would do the same."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [f'<iframe src="{src}" width="800" height="400"></iframe>'.encode()]

    return app


def _framed_status(page):
    """The echo page's status inside the frame, or None when the browser refused to show it.

    A refused frame holds Chromium's error page ("127.0.0.1 is blocked"), whose root is
    ``#main-frame-error``; wait for whichever of the two comes.
    """
    frame = page.frame_locator("iframe")
    status = frame.locator("#status[data-state='open']")
    status.or_(frame.locator("#main-frame-error")).wait_for(state="attached", timeout=10_000)
    return status.inner_text() if status.count() else None


def test_in_development_a_local_page_on_another_port_may_frame_the_page(page):
    with (
        serve_asgi("echo_project.asgi:application") as server,
        serve_wsgi(_framing_page(server.url), name="lab") as lab,
    ):
        page.goto(lab.url)
        assert _framed_status(page) == "connected to the echo"
        page.frame_locator("iframe").locator("#typing").press_sequentially("ok", delay=20)
        page.frame_locator("iframe").locator("#received li").nth(1).wait_for()


def test_in_development_another_host_may_not_frame_the_page(page):
    with serve_asgi("echo_project.asgi:application") as server:
        try:  # another host on this machine: all of 127/8 is loopback on Linux, not on macOS
            elsewhere = serve_wsgi(_framing_page(server.url), name="elsewhere", host="127.0.0.2")
        except OSError as error:
            pytest.skip(f"127.0.0.2 is not usable here: {error}")
        with elsewhere:
            page.goto(elsewhere.url)
            assert _framed_status(page) is None


def test_in_production_nobody_may_frame_the_page(page):
    with (
        serve_echo_project({"DEBUG": "0", "SECRET_KEY": "test-only"}) as server,
        serve_wsgi(_framing_page(server.url), name="lab") as lab,
    ):
        assert "frame-ancestors" not in str(page.request.get(server.url).headers)
        assert page.request.get(server.url).headers["x-frame-options"] == "DENY"
        page.goto(lab.url)
        assert _framed_status(page) is None


# Values a member may say that a page must still show, and that used to break it: an object whose
# "toString" is not a function threw inside showHistory and hid every later entry and "now:".
POISONS = [{"ch": {"toString": 0}}, {"toString": 0, "valueOf": 0}, {"ch": None}, None, [1, "two"], "plain", 12.5]


def say(url, values):
    """One member says ``values`` in turn, each heard back before the next (in a thread: Playwright's sync
    API runs an event loop in this one)."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, asyncio.wait_for(saying(url, values), 60)).result()


async def saying(url, values):
    async with connect_ws(url) as member:
        for value in values:
            await member.send(json.dumps(value))
            while "message" not in json.loads(await asyncio.wait_for(member.recv(), 10)):
                pass


def test_a_poisoned_history_entry_hides_no_other_entry(page):
    with serve_asgi("echo_project.asgi:application") as server:
        said = ["before", *POISONS, "after"]
        say(server.ws_url("chamber/poisoned/"), [{"ch": v} if v in ("before", "after") else v for v in said])
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "?room=poisoned")
        page.locator("#received li", has_text="now:").wait_for(timeout=10_000)
        shown = [line.split(": ", 1)[1] for line in page.locator("#received li.history").all_inner_texts()]
        as_json = [value if isinstance(value, str) else json.dumps(value, separators=(",", ":")) for value in POISONS]
        assert shown == ["before", *as_json, "after"], "every entry shown, a string as itself, the rest as JSON"
        assert errors == [], errors


def test_the_page_keeps_its_last_500_lines(page):
    with serve_asgi("echo_project.asgi:application") as server:
        page.goto(server.url + "?room=chatty")
        page.wait_for_selector("#status:has-text('connected to room chatty as guest-')")
        burst = settings.ECHO_RATE_BURST  # what one member may say at once: 600 messages take several members
        for first in range(0, 600, burst):
            say(server.ws_url("chamber/chatty/"), [{"ch": str(n)} for n in range(first, min(first + burst, 600))])
        page.locator("#received li:has-text(': 599') + li:has-text(' left')").wait_for(timeout=30_000)
        lines = page.locator("#received li").all_inner_texts()
        assert len(lines) == 500 and lines[-2].endswith(": 599"), (len(lines), lines[-2:])


def test_a_history_with_gaps_says_so(page, tmp_path):
    """A server that could not store a message (a queue of 0, smaller than shipped: nothing is stored) tells a
    newcomer its history is incomplete, and the page shows it, before the rest."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'echo.sqlite3'}", "ECHO_HISTORY_QUEUE": "0"}
    migrate = [sys.executable, "manage.py", "migrate", "--verbosity", "0"]
    subprocess.run(migrate, cwd=ECHO_PROJECT, env={**os.environ, **env}, check=True)
    with serve_echo_project(env, name="browser: gaps") as server:
        say(server.ws_url("chamber/gappy/"), [{"ch": "never stored"}])
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "?room=gappy")
        page.wait_for_selector("#status:has-text('connected to room gappy as guest-')")
        page.locator("#received li.error", has_text="this history has gaps").wait_for(timeout=10_000)
        assert errors == [], errors
