"""What clients spoofing ``Host`` cost everyone else: echo latency on the stock consumers while they hammer the page.

    .venv/bin/python benchmarks/spoofed_host.py [ECHO_PROJECT_FOLDER]

Serves echo_project (``DEBUG`` on, stock consumers, whose every message hops through the thread
that sync code shares) with the README's command, from this checkout or from the folder given
(another checkout's echo_project, to compare), and measures the median round trip of 300
echoes, first alone, then while 16 clients fetch the page with ``Host: evil.example`` in a loop,
then while 16 clients fetch it with the right Host (for scale: what any page traffic costs).
Django answers a spoofed Host with its technical page (69 KB); echo/middleware.py with one line.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import statistics
import sys
import threading
import time

from workshop.clients import connect_ws, fetch
from workshop.project import ECHO_PROJECT, echo_project_command
from workshop.serving import serve_process


async def echo_ms(url: str, count: int = 300) -> float:
    samples = []
    async with connect_ws(url, ping_interval=None) as ws:
        for _ in range(count):
            started = time.perf_counter()
            await ws.send(json.dumps({"ch": "x"}))
            await ws.recv()
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e3


def main(argv: list[str]) -> int:
    folder = pathlib.Path(argv[0]) if argv else ECHO_PROJECT
    argv = [*echo_project_command(), "--ws", "websockets-sansio", "--log-level", "critical", "--no-access-log"]
    env = {"DEBUG": "1", "ECHO_CONSUMERS": "stock", "REDIS_URL": ""}
    with serve_process(argv, name="spoofed host", cwd=folder, env=env, ready_timeout=30) as server:
        figures = {"alone": asyncio.run(echo_ms(server.ws_url("echo/")))}
        for label, host in (("16 clients spoofing Host", "evil.example"), ("16 clients fetching the page", None)):
            stop, sizes = threading.Event(), []

            def fetch_page(host=host, stop=stop, sizes=sizes):
                while not stop.is_set():
                    sizes.append(len(fetch(server.url, headers={"Host": host} if host else None).body))

            clients = [threading.Thread(target=fetch_page, daemon=True) for _ in range(16)]
            for thread in clients:
                thread.start()
            try:
                figures[label] = asyncio.run(echo_ms(server.ws_url("echo/")))
            finally:
                stop.set()
                for thread in clients:
                    thread.join()
            figures[label + " (bytes each)"] = statistics.median(sizes)
            figures[label + " (requests answered)"] = len(sizes)
    print(f"echo_project from {folder}; echo round trip, median ms (and page sizes):")
    for label, value in figures.items():
        print(f"  {label:<50}{value:10.2f}" if "(" not in label else f"  {label:<50}{value:10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
