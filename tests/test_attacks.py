"""A hostile client hurts only itself: attacks on a real uvicorn serving echo_project, as the README runs it.

Every server here is ``serve_echo_project`` (the one command line, transport limits
included), attacked with raw frames; after each attack a bystander must still be served.
Memory is the server process's resident set (/proc/<pid>/status), asserted in MiB.
"""

import asyncio
import base64
import json
import os
import socket
import struct
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.helpers import linux_only
from workshop import connect_ws, fetch, serve_echo_project
from workshop.measure import resident_kib
from workshop.project import DEFAULT_MAX_MESSAGE_BYTES, echo_project_command, readme_command

pytestmark = linux_only


def run(coroutine, timeout=60):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def rss_mib(server) -> float:
    return resident_kib(server.pid) / 1024


def strict_json(text):
    """json.loads that refuses what is not JSON (Python's accepts NaN and Infinity)."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


async def bystander_is_served(server, room=None):
    """A new client echoes (or, in ``room``, sees its own message) within a second."""
    path = f"chamber/{room}/" if room else "echo/"
    async with connect_ws(server.ws_url(path)) as ws:
        if room:
            await ws.recv()  # {"you": ...}
        await ws.send(json.dumps({"ch": "still served"}))
        while True:
            event = strict_json(await asyncio.wait_for(ws.recv(), 5))
            if event == {"ch": "still served"} or event.get("message") == {"ch": "still served"}:
                return True


@pytest.fixture(params=["stock", "tuned"])
def server(request):
    with serve_echo_project(
        {"ECHO_CONSUMERS": request.param, "REDIS_URL": ""}, name=f"attacked ({request.param})"
    ) as server:
        yield server


def test_a_member_that_sends_big_messages_and_never_reads_grows_the_server_a_bounded_amount(server):
    """Flow control and the layer's capacity hold: before the fix, +1.5 GB in 4 s."""
    big = json.dumps({"ch": "x" * 60_000})

    async def attack(seconds=3.0):
        async with (
            connect_ws(server.ws_url("chamber/flood/")) as reader,
            connect_ws(server.ws_url("chamber/flood/"), max_queue=1) as flooder,
        ):
            received = 0

            async def read_all_along():
                nonlocal received
                async for _ in reader:
                    received += 1

            reading = asyncio.create_task(read_all_along())
            before = rss_mib(server)
            sent, deadline = 0, time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:  # the flooder never calls recv()
                try:
                    await asyncio.wait_for(flooder.send(big), left)
                    sent += 1
                except asyncio.TimeoutError:
                    break  # blocked: the server stopped reading it
            growth = rss_mib(server) - before
            reading.cancel()
            flooder.transport.abort()
            return sent, growth, received

    sent, growth, received = run(attack())
    assert growth < 60, f"the server grew by {growth:.0f} MiB after {sent} messages of 60 KB"
    assert received > 0, "the reading member was served meanwhile"
    assert run(bystander_is_served(server, "flood"))


def test_bad_input_closes_nothing_but_answers_an_error(server):
    async def attack():
        async with (
            connect_ws(server.ws_url("chamber/bad/")) as other,
            connect_ws(server.ws_url("chamber/bad/")) as attacker,
        ):
            for client in (other, attacker):
                await client.recv()  # {"you": ...}
            replies = []
            for text in ["[" * 1000 + "]" * 1000, '{"x": NaN}', "[Infinity]", "1e400", "[" * 20_000]:
                await attacker.send(text)
                while "error" not in (reply := strict_json(await attacker.recv())):
                    pass  # presence events
                replies.append(reply["error"])
            await attacker.send(json.dumps({"ch": "fine"}))
            seen = []
            while not seen or seen[-1].get("message") != {"ch": "fine"}:
                seen.append(strict_json(await asyncio.wait_for(other.recv(), 5)))
            return replies, seen

    replies, seen = run(attack())
    assert [
        "nested" in replies[0],
        "NaN" in replies[1],
        "Infinity" in replies[2],
        "range" in replies[3],
        "invalid JSON" in replies[4],
    ] == [True] * 5, replies
    assert all(event.get("event") != "left" for event in seen), "the attacker was never disconnected"
    assert not [line for line in server.logs if "Traceback" in line]
    assert run(bystander_is_served(server))


def raw_websocket(server, path="/echo/") -> socket.socket:
    """A socket that has done the opening handshake by hand: for frames no client library would send."""
    sock = socket.create_connection((server.host, server.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://{server.host}:{server.port}\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def frame_header(length: int, opcode: int = 0x1) -> bytes:
    """A masked, final frame's header announcing ``length`` bytes (the payload follows, or not)."""
    return bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length) + b"\x00\x00\x00\x00"  # zero mask


def test_ws_max_size_refuses_a_big_message_before_buffering_it(server):
    """``--ws-max-size`` from ECHO_MAX_MESSAGE_BYTES: before it, 20 × 15 MiB unfinished took 75 -> 389 MiB."""
    assert f"--ws-max-size {DEFAULT_MAX_MESSAGE_BYTES}" in " ".join(echo_project_command())
    before = rss_mib(server)
    closed = []
    for _ in range(20):
        sock = raw_websocket(server)
        sock.sendall(frame_header(15 * 2**20) + b"x" * 2**16)  # 15 MiB announced, 64 KiB sent, never finished
        reply = b""
        try:
            while chunk := sock.recv(4096):  # the server answers and closes at once
                reply += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        closed.append(reply[:1] == b"\x88" and struct.unpack("!H", reply[2:4])[0] == 1009)
        sock.close()
    assert all(closed), "each got a close frame with 1009 (message too big)"
    assert rss_mib(server) - before < 20

    async def too_big_through_a_client():
        async with connect_ws(server.ws_url("echo/"), max_size=None) as ws:
            await ws.send("x" * (DEFAULT_MAX_MESSAGE_BYTES + 1))
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            return ws.close_code

    assert run(too_big_through_a_client()) == 1009
    assert run(bystander_is_served(server))


def test_churn_leaves_no_ghost_members(server):
    """Joins and leaves with messages in flight: clean closes, drops, and closes while the server sends."""

    async def churn(guests=240, batch=20):
        joined, left = [], []
        async with (
            connect_ws(server.ws_url("chamber/churn/")) as watcher,
            connect_ws(server.ws_url("chamber/churn/")) as talker,
        ):
            regulars = {strict_json(await client.recv())["you"] for client in (watcher, talker)}

            async def watch():
                async for text in watcher:
                    event = strict_json(text)
                    if "history" in event:  # what the room said before the watcher came
                        continue
                    {"joined": joined, "left": left}.get(event.get("event"), []).append(event["who"])

            async def guest(n):
                ws = await connect_ws(server.ws_url("chamber/churn/"))
                await ws.recv()
                await ws.send(json.dumps({"n": n}))
                if n % 3 == 0:
                    ws.transport.abort()  # dropped: no close frame
                elif n % 3 == 1:
                    await ws.close()  # a clean close, with the room's messages on their way to it
                else:
                    ws.transport.close()  # gone while the server is sending to it

            watching = asyncio.create_task(watch())
            for start in range(0, guests, batch):
                await asyncio.gather(
                    *(guest(n) for n in range(start, start + batch)), talker.send(json.dumps({"batch": start}))
                )
            deadline = asyncio.get_running_loop().time() + 60  # "eventually", on a loaded machine
            while len(left) < guests and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            watching.cancel()
        return [name for name in joined if name not in regulars], left

    joined, left = run(churn(), timeout=90)
    assert len(set(joined)) == 240, "every guest joined, with a name of its own"
    assert sorted(joined) == sorted(left), "every guest that joined has left"
    tracebacks = [n for n, line in enumerate(server.logs) if "Traceback" in line]
    assert not tracebacks, "\n".join(server.logs[tracebacks[0] : tracebacks[0] + 40]) if tracebacks else ""
    assert run(bystander_is_served(server, "churn"))


def test_a_spoofed_host_gets_one_line_with_no_secret_and_static_dot_dot_is_a_404():
    """DEBUG on, a Redis URL with a password: Django's technical 400 page used to show it, 69 KB a request.

    Now a one-line 400 (echo/middleware.py); what a technical page shows of the settings is
    masked too (echo/tests/test_http_surface.py).
    """
    password = "hunter2-secret-pw"
    env = {"DEBUG": "1", "REDIS_URL": f"redis://user:{password}@127.0.0.1:9/0?password={password}"}
    with serve_echo_project(env, name="host spoofing") as server:
        spoofed = fetch(server.url, headers={"Host": "evil.example"})
        assert spoofed.status == 400 and "ALLOWED_HOSTS" in spoofed.text, "what Django's page would say"
        assert password not in spoofed.text and len(spoofed.text) < 200

        logged = len(server.logs)  # Django logs the DisallowedHost above (django.security), as documented
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(
                f"GET /static/../echo_project/settings.py HTTP/1.1\r\nHost: {server.host}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            status_line = sock.makefile("rb").readline()
        assert status_line.split()[1] in (b"400", b"404"), status_line
        assert not [line for line in server.logs[logged:] if "Traceback" in line]
        assert fetch(server.url).status == 200, "a bystander gets the page"


def test_the_readme_runs_the_kits_command():
    """echo_project's README shows the kit's command once, and the workshop's README leaves it there."""
    repo = pytest.importorskip("workshop").REPO
    readme = (repo / "echo_project" / "README.md").read_text()
    assert readme.count(readme_command()) == 1
    assert "ECHO_CONSUMERS=tuned" in readme
    assert "--limit-concurrency" not in (repo / "README.md").read_text(), "production notes live in echo_project"
