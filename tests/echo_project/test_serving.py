"""The three documented ways to run the echo chamber each serve the page and echo."""

import asyncio
import json
import sys

import pytest

from workshop import ECHO_PROJECT, connect_ws, echo_project_command, fetch, serve_asgi, serve_process

COMMANDS = {
    "runserver (daphne)": [sys.executable, "manage.py", "runserver", "127.0.0.1:{port}", "--noreload"],
    "uvicorn, the README's command": echo_project_command(),
}


@pytest.fixture(params=[*COMMANDS, "the kit, in a thread"])
def server(request):
    if request.param in COMMANDS:
        handle = serve_process(COMMANDS[request.param], cwd=ECHO_PROJECT, ready_timeout=30)
    else:
        handle = serve_asgi("echo_project.asgi:application")
    with handle:
        yield handle


async def echo(url, letters):
    async with connect_ws(url) as websocket:
        replies = []
        for letter in letters:
            await websocket.send(json.dumps({"ch": letter}))
            replies.append(json.loads(await websocket.recv())["ch"])
        return replies


def test_serves_the_page_its_script_and_echoes(server):
    page = fetch(server.url)
    assert page.status == 200 and "The echo chamber" in page.text
    script = fetch(server.url + "static/echo/echo.js")
    assert script.status == 200 and "location.host" in script.text
    assert asyncio.run(echo(server.ws_url("echo/"), "echo")) == list("echo")
