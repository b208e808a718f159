"""The transport's safety, against the README's exact command: what uvicorn must hold before Django sees a byte.

Every server here is ``serve_echo_project()``: ``echo_project_command()``, the command the
README shows (a test in test_attacks.py keeps them equal), the checks and the bench run.
Each attack is a bounded loop on loopback; what is asserted is an outcome (the server's
resident memory, in MiB, from /proc; a bystander answered; a close code), never a duration.

Each test fails on the transport it guards against (shown in benchmarks/RESULTS.md, issue 23):
the ping flood on uvicorn's stock sans-I/O implementation (``--ws websockets-sansio``, what
``--ws auto`` picks), the headers on httptools (uvicorn's default HTTP implementation, which
buffers a header without limit).
"""

import asyncio
import json
import socket
import struct
import threading

import pytest

from tests.helpers import linux_only
from tests.test_attacks import frame_header, raw_websocket
from workshop import connect_ws, fetch, serve_echo_project
from workshop.measure import resident_kib
from workshop.project import DEFAULT_MAX_MESSAGE_BYTES

pytestmark = linux_only

MIB = 2**20
GROWTH_LIMIT_MIB = 10  # what an attack may cost the server, at most
STALLED = 3.0  # seconds without progress after which an attacker concludes the server stopped reading it


@pytest.fixture
def server():
    with serve_echo_project({"REDIS_URL": ""}, name="transport under attack") as server:
        assert bystander_is_served(server), "served before the attack"  # warm: the page and a socket
        yield server


def rss_mib(server) -> float:
    return resident_kib(server.pid) / 1024


def bystander_is_served(server) -> bool:
    """A newcomer gets the page, and an echo on a new WebSocket (generous deadlines: 'eventually')."""
    page = fetch(server.url, timeout=30)

    async def echo():
        async with connect_ws(server.ws_url("echo/"), open_timeout=30) as ws:
            await ws.send(json.dumps({"ch": "still served"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 30)) == {"ch": "still served"}

    return page.status == 200 and asyncio.run(echo())


def flood(sockets: list[socket.socket], block: bytes, budget: int, server) -> tuple[list[int], float]:
    """Each socket sends ``block`` over and over until ``budget`` bytes, a refusal, or STALLED seconds with no progress.

    One thread per socket; none reads. Returns the bytes each sent, and the server's largest
    resident memory (MiB) seen meanwhile.
    """
    sent = [0] * len(sockets)

    def send_all_along(n, sock):
        sock.settimeout(STALLED)  # for each send(): STALLED seconds without a byte taken
        view, offset = memoryview(block), 0
        try:
            while sent[n] < budget:
                count = sock.send(view[offset:])
                sent[n] += count
                offset = (offset + count) % len(block)
        except TimeoutError:
            pass  # the server stopped reading this socket: flow control
        except OSError:
            pass  # the server closed it (a refusal)

    threads = [threading.Thread(target=send_all_along, args=(n, sock), daemon=True) for n, sock in enumerate(sockets)]
    for thread in threads:
        thread.start()
    peak, alive = rss_mib(server), threads
    while alive:  # each thread ends by itself: budget, refusal or stall
        peak = max(peak, rss_mib(server))
        alive[0].join(0.05)
        alive = [thread for thread in alive if thread.is_alive()]
    return sent, max(peak, rss_mib(server))


def served_and_growth(server, before: float, peak: float) -> tuple[bool, float]:
    """Whether a bystander is served now, and the server's growth over ``before`` (MiB), including
    what it read of the attack while serving the bystander."""
    served = bystander_is_served(server)
    return served, max(peak, rss_mib(server)) - before


def ping_frame(payload: bytes = b"p" * 125) -> bytes:
    """A masked ping with the largest payload a control frame may carry (zero mask: payload as is)."""
    return bytes([0x80 | 0x9, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload


def test_a_ping_flood_from_clients_that_never_read_costs_the_server_nothing_and_spares_an_honest_client(server):
    """4 clients ping as fast as the server reads and never read a pong: pongs must not pile up in the server.

    On uvicorn's stock sans-I/O implementation every pong is written to a buffer nothing drains:
    the server grows by what the clients send.
    """
    flooders = [raw_websocket(server) for _ in range(4)]
    try:
        before = rss_mib(server)
        sent, peak = flood(flooders, ping_frame() * 500, budget=24 * MIB, server=server)
        served, growth = served_and_growth(server, before, peak)
        assert growth < GROWTH_LIMIT_MIB, (
            f"the server grew by {growth:.0f} MiB while 4 clients sent {sum(sent) / MIB:.0f} MiB of pings"
        )
        assert served, "an honest client is served while the flooders still hang on"
    finally:
        for sock in flooders:
            sock.close()


def header_start(server) -> bytes:
    return f"GET / HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n".encode()


def refused_or_closed(sock: socket.socket) -> bool:
    """What the server said to an attacker: True if it answered 4xx or closed (nothing else is fine)."""
    sock.settimeout(30)
    try:
        reply = sock.recv(4096)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False  # still waiting for more of the head, or served slowly: not refused
    return reply == b"" or reply.split(b" ", 2)[1:2] in ([b"400"], [b"431"])


def test_an_endless_request_header_is_cut_off_and_a_bystander_is_served(server):
    """One connection sends a header value that never ends: httptools buffers all of it (and froze the server)."""
    attacker = socket.create_connection((server.host, server.port), timeout=5)
    try:
        before = rss_mib(server)
        attacker.sendall(header_start(server) + b"X-Endless: ")
        sent, peak = flood([attacker], b"a" * 2**16, budget=64 * MIB, server=server)
        served, growth = served_and_growth(server, before, peak)
        assert growth < GROWTH_LIMIT_MIB, (
            f"the server grew by {growth:.0f} MiB for one header of {sent[0] / MIB:.0f} MiB"
        )
        assert served, "a bystander is served while the attacker's connection is open"
    finally:
        attacker.close()


def test_oversized_request_heads_are_refused_with_bounded_memory_and_a_bystander_is_served(server):
    """32 connections each send 1 MiB of ordinary headers and never finish; one sends a finished 1 MiB header."""
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"b" * 4000) for n in range(256))  # 1 MiB of 4 KB headers
    attackers = [socket.create_connection((server.host, server.port), timeout=5) for _ in range(32)]
    try:
        before, head = rss_mib(server), header_start(server) + padding
        sent, peak = flood(attackers, head, budget=len(head), server=server)  # each sends it once
        served, growth = served_and_growth(server, before, peak)
        assert growth < GROWTH_LIMIT_MIB, f"the server grew by {growth:.0f} MiB for {sum(sent) / MIB:.0f} MiB of heads"
        assert served, "a bystander is served while the attackers' connections are open"
    finally:
        for sock in attackers:
            sock.close()

    with socket.create_connection((server.host, server.port), timeout=5) as finished:
        try:
            finished.sendall(header_start(server) + b"X-Big: " + b"c" * MIB + b"\r\nConnection: close\r\n\r\n")
        except OSError:
            pass  # refused before the end
        assert refused_or_closed(finished), "a finished head of 1 MiB is refused, not served"
    assert bystander_is_served(server)


def test_an_oversized_message_is_closed_with_1009_before_it_is_buffered(server):
    """``--ws-max-size`` holds on the chosen implementation: 15 MiB announced, 64 KiB sent, closed at once."""
    sock = raw_websocket(server)
    try:
        sock.sendall(frame_header(15 * MIB) + b"x" * 2**16)  # never finished
        sock.settimeout(30)
        reply = b""
        try:
            while len(reply) < 4 and (chunk := sock.recv(4096)):
                reply += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        assert reply[:1] == b"\x88" and struct.unpack("!H", reply[2:4])[0] == 1009, reply[:16]
    finally:
        sock.close()

    async def too_big_through_a_client():
        async with connect_ws(server.ws_url("echo/"), max_size=None) as ws:
            await ws.send("x" * (DEFAULT_MAX_MESSAGE_BYTES + 1))
            try:
                await asyncio.wait_for(ws.recv(), 30)
            except Exception:  # ConnectionClosed: what we want; its code says who closed and why
                pass
            return ws.close_code

    assert asyncio.run(too_big_through_a_client()) == 1009
    assert bystander_is_served(server)
