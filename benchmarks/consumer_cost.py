"""What Channels and the echo consumer cost per message, with no server and no network.

    .venv/bin/python benchmarks/consumer_cost.py [MESSAGES]

Calls ``echo_project.asgi:application`` (origin check, auth stack, URLRouter, the echo consumer)
directly, as a server would: ``receive`` takes the next event from a queue, ``send`` queues the
next message as soon as the echo arrives. Once with ``ECHO_CONSUMERS=stock`` and once with
``tuned``, each in a process of its own (the setting is read when the routes are imported).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from workshop.paths import REPO

MESSAGE = '{"ch": "x"}'


async def echo_round_trips(application, messages: int) -> float:
    """Seconds per message for ``messages`` echoes through ``application``, one at a time."""
    events: asyncio.Queue = asyncio.Queue()
    finished = asyncio.Event()
    echoed = 0

    async def send(message):
        nonlocal echoed
        if message["type"] == "websocket.accept":
            events.put_nowait({"type": "websocket.receive", "text": MESSAGE})
        elif message["type"] == "websocket.send":
            echoed += 1
            if echoed < messages:
                events.put_nowait({"type": "websocket.receive", "text": MESSAGE})
            else:
                finished.set()

    scope = {
        "type": "websocket",
        "path": "/echo/",
        "raw_path": b"/echo/",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "root_path": "",
    }
    events.put_nowait({"type": "websocket.connect"})
    consumer = asyncio.ensure_future(application(scope, events.get, send))
    started = time.perf_counter()
    await finished.wait()
    elapsed = time.perf_counter() - started
    events.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await consumer
    return elapsed / messages


def measure_here(messages: int) -> None:
    sys.path.insert(0, str(REPO / "echo_project"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")
    from echo_project.asgi import application

    seconds = asyncio.run(echo_round_trips(application, messages))
    print(f"echo consumer ({os.environ['ECHO_CONSUMERS']}): {seconds * 1e6:.1f} µs a message")


def main() -> int:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    if os.environ.get("ECHO_CONSUMERS"):
        measure_here(messages)
        return 0
    for consumers in ("stock", "tuned"):
        env = {**os.environ, "ECHO_CONSUMERS": consumers}
        subprocess.run([sys.executable, __file__, str(messages)], env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
