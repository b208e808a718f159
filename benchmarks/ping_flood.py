"""Ping flood: clients that send WebSocket pings as fast as they can and never read the pongs.

    .venv/bin/python benchmarks/ping_flood.py [SECONDS]

For each WebSocket implementation uvicorn offers (``--ws``), and echo_project's own (the
README's), serves echo_project with the kit's command line (``echo_project_command``) with
that ``--ws``, and prints the server's resident memory
before and after 4 such clients. Every pong the server answers waits in its write buffer
when the client does not read: what grows is what the implementation does about that.
"""

from __future__ import annotations

import base64
import os
import socket
import sys
import threading
import time

from workshop.measure import resident_kib
from workshop.project import ECHO_PROJECT, WS_IMPLEMENTATION, echo_project_command
from workshop.serving import serve_process

IMPLEMENTATIONS = ["websockets", "websockets-sansio", "wsproto", WS_IMPLEMENTATION]
PING = bytes([0x89, 0x80 | 125]) + b"\x00\x00\x00\x00" + b"p" * 125  # masked (zero mask), 125-byte payload


def flood(host: str, port: int, until: float) -> None:
    sock = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /echo/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://{host}:{port}\r\n\r\n"
        ).encode()
    )
    sock.recv(4096)
    sock.settimeout(1)
    burst = PING * 64
    try:
        while time.monotonic() < until:
            sock.sendall(burst)  # blocks once the server stops reading
    except OSError:
        pass
    finally:
        sock.close()


def measure(implementation: str, seconds: float, clients: int = 4) -> tuple[float, float, float]:
    argv = [*echo_project_command(), "--ws", implementation, "--log-level", "warning"]
    with serve_process(argv, name=f"ping flood: {implementation}", cwd=ECHO_PROJECT, ready_timeout=30) as server:
        before = resident_kib(server.pid) / 1024
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=flood, args=(server.host, server.port, until)) for _ in range(clients)]
        peak = before
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            peak = max(peak, resident_kib(server.pid) / 1024)
            time.sleep(0.2)
        after = resident_kib(server.pid) / 1024
        return before, peak, after


def main(argv: list[str]) -> int:
    seconds = float(argv[0]) if argv else 10.0
    print(f"4 clients flooding pings for {seconds:.0f} s, never reading; server RSS in MiB")
    width = max(map(len, IMPLEMENTATIONS)) + 2
    print(f"{'--ws':<{width}}{'before':>8}{'peak':>8}{'after':>8}")
    for implementation in IMPLEMENTATIONS:
        try:
            before, peak, after = measure(implementation, seconds)
        except Exception as error:  # e.g. wsproto not installed
            print(f"{implementation:<{width}}  not measured: {error}")
            continue
        print(f"{implementation:<{width}}{before:8.0f}{peak:8.0f}{after:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
