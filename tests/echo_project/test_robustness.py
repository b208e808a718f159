"""What clients throw at echo_project, served by uvicorn, and what it does about it."""

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus

from workshop import ECHO_PROJECT, connect_ws, echo_project_command, serve_asgi, serve_process


@pytest.fixture
def server():
    with serve_asgi("echo_project.asgi:application", name="robustness") as server:
        yield server


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_invalid_json_gets_an_error_and_a_valid_message_still_echoes(server):
    async def talk():
        async with connect_ws(server.ws_url("echo/")) as ws:
            await ws.send("{'single': 'quotes'}")
            error = json.loads(await ws.recv())
            await ws.send(json.dumps({"ch": "a"}))
            return error, json.loads(await ws.recv())

    error, echo = run(talk())
    assert error["error"].startswith("invalid JSON") and echo == {"ch": "a"}


def test_a_binary_frame_gets_an_error_and_an_oversized_frame_closes_with_1009(server):
    async def talk():
        async with connect_ws(server.ws_url("echo/"), max_size=None) as ws:
            await ws.send(b"\x89PNG")
            error = json.loads(await ws.recv())
            await ws.send(json.dumps({"ch": "x" * 70_000}))
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            return error, ws.close_code

    error, code = run(talk())
    assert "binary" in error["error"] and code == 1009


@pytest.mark.parametrize("path, origin", [("echo/", "http://evil.example"), ("echo/", None), ("nowhere/", "same")])
def test_foreign_origins_missing_origins_and_unknown_paths_are_rejected(server, path, origin):
    async def connect():
        options = {} if origin == "same" else {"origin": origin}
        async with connect_ws(server.ws_url(path), **options):
            pass

    with pytest.raises(InvalidStatus) as caught:
        run(connect())
    assert caught.value.response.status_code == 403
    assert server.exceptions == [], "a refusal is not a server error"


def test_a_client_that_vanishes_mid_stream_does_not_disturb_the_others(server):
    async def talk():
        async with connect_ws(server.ws_url("echo/")) as steady:
            vanishing = await connect_ws(server.ws_url("echo/"))
            await vanishing.send(json.dumps({"ch": "half"}))
            vanishing.transport.abort()  # gone: no close frame, no goodbye
            replies = []
            for n in range(50):
                await steady.send(json.dumps({"n": n}))
                replies.append(json.loads(await steady.recv())["n"])
            return replies

    assert run(talk()) == list(range(50))
    assert server.exceptions == []


def test_a_thousand_concurrent_connections_all_echo_correctly():
    # The README's command, with room for the crowd (its --limit-concurrency is 1,000 connections)
    argv = [*echo_project_command(), "--log-level", "warning", "--backlog", "2048", "--limit-concurrency", "2048"]
    with serve_process(argv, cwd=ECHO_PROJECT, ready_timeout=30) as uvicorn_server:
        url = uvicorn_server.ws_url("echo/")

        async def crowd(size=1000):
            opened, everyone_open = [], asyncio.Event()

            async def client(n):
                async with connect_ws(url, open_timeout=30) as ws:
                    opened.append(n)
                    if len(opened) == size:
                        everyone_open.set()
                    await everyone_open.wait()  # all of them open at the same time
                    await ws.send(json.dumps({"client": n}))
                    return json.loads(await ws.recv())["client"]

            return await asyncio.gather(*(client(n) for n in range(size)))  # a failure raises at once

        assert run(crowd()) == list(range(1000))


# The values every layer and database keeps (consumers.py refuses the rest with {"error"}): integers
# within 64 bits, and text without NUL or lone surrogates.
characters = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(characters),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(characters, max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_any_json_value_round_trips_exactly(server, value):
    async def round_trip():
        async with connect_ws(server.ws_url("echo/")) as ws:
            await ws.send(json.dumps(value))
            return json.loads(await ws.recv())

    canonical = json.dumps(value, sort_keys=True)  # tells 1 from 1.0 from True, unlike ==
    assert json.dumps(run(round_trip()), sort_keys=True) == canonical
