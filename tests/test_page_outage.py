"""The echo chamber's page, in a real headless Chromium, while Redis is killed and restarted (issue 22).

The room's server (echo_project under uvicorn, as the README runs it, with Redis as its channel layer)
closes the page's connection with 1011 and a reason when Redis goes away, and refuses its joins with 1013
while Redis is down: the page says so, keeps trying, waiting longer each time, and is back in the room once
Redis is. The echo (no channel layer) works all along in another page.
"""

import os
import signal

import pytest

from tests.chromium import chromium, require_chromium
from tests.helpers import require_redis_server
from workshop import serve_echo_project
from workshop.redis_server import serve_redis

require_chromium("the browser test")


@pytest.fixture
def browser():
    require_redis_server()
    with chromium() as browser:
        yield browser


def test_the_page_says_why_it_was_closed_and_is_back_in_the_room_once_redis_is(browser):
    redis = serve_redis(name="page outage: redis")
    port = redis.port
    try:
        with serve_echo_project({"REDIS_URL": redis.redis_url}, name="page outage") as server:
            room, echo = browser.new_page(), browser.new_page()
            room.goto(server.url + "?room=lobby")
            echo.goto(server.url)
            room.wait_for_selector("#status:has-text('connected to room lobby as guest-')")
            echo.wait_for_selector("#status:has-text('connected to the echo')")

            os.kill(redis.pid, signal.SIGKILL)
            redis.stop()
            # 1011 when Redis goes, then 1013 for each join while it is down: the page shows the reason
            room.wait_for_selector("#status[data-state='closed']:has-text('the server lost its channel layer')")
            echo.locator("#typing").press_sequentially("ok", delay=20)  # the echo needs no Redis
            echo.locator("#received li").nth(1).wait_for()
            assert echo.locator("#received li").all_inner_texts() == ["o", "k"]

            redis = serve_redis(name="page outage: redis again", port=port)
            room.wait_for_selector("#status:has-text('connected to room lobby as guest-')", timeout=30_000)
            room.locator("#typing").press_sequentially("hi", delay=20)
            room.locator("#received li:has-text(': i')").wait_for()
            assert echo.locator("#status").inner_text() == "connected to the echo", "the echo was never closed"
    finally:
        redis.stop()
