"""HTTP implementation: what ``--http h11`` costs the README's command against httptools (uvicorn's default).

    .venv/bin/python benchmarks/http_implementation.py [ROUNDS]

Only the page, its static files and the WebSocket opening handshakes are HTTP here; after
the handshake, a WebSocket's frames never meet the HTTP implementation. So this measures,
on echo_project served by the README's command with each ``--http``, interleaved round by
round: a page fetch, an opening handshake (connect and close) and, for contrast, an echo
over an open WebSocket. Medians in milliseconds. h11 is chosen for what it refuses
(tests/test_transport.py: a request head over 16 KiB); this says what that costs.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

from workshop.clients import connect_ws, fetch
from workshop.project import ECHO_PROJECT, echo_project_command
from workshop.serving import serve_process

IMPLEMENTATIONS = ["httptools", "h11"]


def timed(action, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


async def handshakes(url: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        async with connect_ws(url, ping_interval=None):
            pass
        samples.append(time.perf_counter() - started)
    return samples


async def echoes(url: str, count: int) -> list[float]:
    samples = []
    async with connect_ws(url, ping_interval=None) as ws:
        for _ in range(count):
            started = time.perf_counter()
            await ws.send(json.dumps({"ch": "x"}))
            await ws.recv()
            samples.append(time.perf_counter() - started)
    return samples


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 5
    servers = {
        http: serve_process(
            [*echo_project_command(), "--http", http, "--log-level", "warning", "--no-access-log"],
            name=f"--http {http}",
            cwd=ECHO_PROJECT,
            env={"ECHO_CONSUMERS": "tuned", "REDIS_URL": ""},
            ready_timeout=30,
        )
        for http in IMPLEMENTATIONS
    }
    results = {http: {"page": [], "handshake": [], "echo": []} for http in IMPLEMENTATIONS}
    try:
        for _ in range(rounds):
            for http, server in servers.items():  # interleaved
                results[http]["page"] += timed(lambda server=server: fetch(server.url), 100)
                results[http]["handshake"] += asyncio.run(handshakes(server.ws_url("echo/"), 100))
                results[http]["echo"] += asyncio.run(echoes(server.ws_url("echo/"), 500))
    finally:
        for server in servers.values():
            server.stop()
    print(f"echo_project, the README's command with each --http; tuned consumers; {rounds} rounds; median ms")
    print(f"{'--http':<12}{'page':>8}{'handshake':>11}{'echo':>8}")
    for http, figures in results.items():
        page, handshake, echo = (statistics.median(figures[k]) * 1e3 for k in ("page", "handshake", "echo"))
        print(f"{http:<12}{page:8.2f}{handshake:11.2f}{echo:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
