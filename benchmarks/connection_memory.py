"""Where an idle WebSocket connection's memory goes: Python allocations per connection, by module.

    .venv/bin/python benchmarks/connection_memory.py [CONNECTIONS]

Serves, in this process (uvicorn in a thread, so ``tracemalloc`` sees the server), echo_project's
tuned echo and the raw ASGI echo (``workshop.examples:asgi_echo``) under each of uvicorn's
``--ws websockets`` and ``--ws websockets-sansio``, with the options of the README's command that
change a connection's state (no lifespan, no per-message deflate). A client process opens the
connections and holds them; the difference of two snapshots, divided by their number, is what
one connection allocates. Python allocations only: ``make bench`` measures resident memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tracemalloc

from workshop.paths import REPO
from workshop.serving import free_port

APPLICATIONS = {
    "echo_project (tuned)": "echo_project.asgi:application",
    "raw ASGI echo": "workshop.examples:asgi_echo",
}
IMPLEMENTATIONS = ["websockets", "websockets-sansio"]
SITE = f"{os.sep}site-packages{os.sep}"

CLIENT = r"""
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url, count):
    held = [await connect(url, origin=url.replace("ws://", "http://").rsplit("/", 2)[0], compression=None)
            for _ in range(count)]
    await held[-1].send("{}")
    await held[-1].recv()
    print("holding", flush=True)
    sys.stdin.readline()  # until the server has been measured

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def hold(url: str, count: int) -> subprocess.Popen:
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, url, str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    if client.stdout.readline().strip() != "holding":
        raise RuntimeError("the client could not open its connections")
    return client


def release(client: subprocess.Popen) -> None:
    client.communicate("\n", timeout=30)


def measure(application: str, implementation: str, connections: int) -> dict[str, float]:
    """Bytes per connection, by module (a site-packages module's path, or the standard library's)."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        ws=implementation,
        log_level="error",
        lifespan="off",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)  # the server is in this process: no readiness to poll over a socket
    url = f"ws://127.0.0.1:{port}/echo/"
    try:
        release(hold(url, 5))  # warm up: imports, caches and first-use allocations are not per connection
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        client = hold(url, connections)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        release(client)
    finally:
        server.should_exit = True
        thread.join(10)
    by_module: dict[str, float] = {}
    for stat in after.compare_to(before, "filename"):
        name = stat.traceback[0].filename
        name = name.split(SITE, 1)[1].split(os.sep)[0] if SITE in name else "standard library (asyncio ...)"
        by_module[name] = by_module.get(name, 0) + stat.size_diff / connections
    return by_module


def main() -> int:
    connections = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    sys.path.insert(0, str(REPO / "echo_project"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")
    os.environ["ECHO_CONSUMERS"] = "tuned"
    for implementation in IMPLEMENTATIONS:
        for label, application in APPLICATIONS.items():
            by_module = measure(application, implementation, connections)
            total = sum(by_module.values())
            parts = ", ".join(
                f"{name} {size / 1024:.1f}"
                for name, size in sorted(by_module.items(), key=lambda item: -item[1])
                if size >= 256
            )
            print(f"--ws {implementation:18} {label:22} {total / 1024:5.1f} KiB: {parts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
