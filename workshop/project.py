"""echo_project served the way its README runs it: one recipe for notebooks, checks, tests and the bench.

    server = serve_echo_project()                          # uvicorn, in-memory layer
    server = serve_echo_project({"REDIS_URL": redis.redis_url}, name="worker 1")
    worker = serve_echo_worker("room-summary", env={"REDIS_URL": redis.redis_url})

The command line itself comes from ``echo_project_command``, the one place where
echo_project's uvicorn options live; ``readme_command()`` is the same command as the
README shows it (a test keeps the two equal).
"""

from __future__ import annotations

import os
import shlex
import sys

from .paths import REPO
from .serving import serve_process

ECHO_PROJECT = REPO / "echo_project"
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024  # echo_project/echo_project/settings.py's default, tested equal

# Transport limits, enforced by uvicorn before a message reaches Django (benchmarks/RESULTS.md):
PING_INTERVAL = 20  # seconds between the server's pings
PING_TIMEOUT = 20  # a client that does not answer a ping within this is closed
# Beyond this many connections and tasks at once, uvicorn answers 503: under the usual default
# file descriptor limit (`ulimit -n`, often 1024), so the server still has descriptors to answer with.
LIMIT_CONCURRENCY = 1000
# After SIGTERM, how long uvicorn waits for connections' tasks to finish before it cancels them: a member's
# leave still waiting on a Redis that hangs must not hold the server up (uvicorn's default waits forever).
GRACEFUL_SHUTDOWN = 5  # seconds
# The WebSocket implementation: uvicorn's sans-I/O one with pongs under flow control, so a client that
# pings and never reads fills its own socket, not the server's memory (uvicorn's own implementations
# queue every pong, or are deprecated: echo_project/echo_project/websocket_transport.py).
WS_IMPLEMENTATION = "echo_project.websocket_transport:FlowControlledPongsProtocol"
# The HTTP implementation: h11 refuses a request head over 16 KiB (its incomplete-event limit);
# httptools buffers a header without limit (tests/test_transport.py, benchmarks/RESULTS.md).
HTTP_IMPLEMENTATION = "h11"


def echo_project_command(host: str = "{host}", port: str | int = "{port}", env: dict | None = None) -> list[str]:
    """The uvicorn command line that serves echo_project (run it from ``ECHO_PROJECT``).

    ``--ws-max-size`` is ``ECHO_MAX_MESSAGE_BYTES`` (from ``env``, else this environment,
    else the settings' default), so uvicorn refuses a larger message with 1009 before it
    buffers it, instead of the consumer after up to uvicorn's default of 16 MiB.
    ``--ws``: uvicorn's sans-I/O implementation with pongs under flow control, whose memory
    stays flat under a ping flood; ``--http h11``: a request head is cut at 16 KiB
    (tests/test_transport.py, benchmarks/RESULTS.md). ``--lifespan off``: Channels' ProtocolTypeRouter has no
    lifespan protocol (uvicorn would say "ASGI 'lifespan' protocol appears unsupported").
    ``--ws-per-message-deflate false``: compressing one-character messages costs more than it saves
    (benchmarks/CHANGELOG.md, issue 8).
    """
    settings = {**os.environ, **(env or {})}
    max_message = int(settings.get("ECHO_MAX_MESSAGE_BYTES") or DEFAULT_MAX_MESSAGE_BYTES)
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "echo_project.asgi:application",
        "--host",
        str(host),
        "--port",
        str(port),
        "--http",
        HTTP_IMPLEMENTATION,
        "--ws",
        WS_IMPLEMENTATION,
        "--lifespan",
        "off",
        "--ws-per-message-deflate",
        "false",
        "--ws-max-size",
        str(max_message),
        "--ws-ping-interval",
        str(PING_INTERVAL),
        "--ws-ping-timeout",
        str(PING_TIMEOUT),
        "--limit-concurrency",
        str(LIMIT_CONCURRENCY),
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN),
    ]


def serve_echo_project(env: dict | None = None, *, name: str | None = None, ready_timeout: float = 30.0):
    """Start echo_project under uvicorn in a child process; return once it answers.

    ``env`` adds to the environment the settings read (``REDIS_URL``, ``DEBUG``,
    ``ECHO_CONSUMERS``, ``ECHO_MAX_MESSAGE_BYTES``...).
    """
    return serve_process(
        echo_project_command(env=env),
        name=name,
        label="echo_project",
        env=env,
        cwd=ECHO_PROJECT,
        ready_timeout=ready_timeout,
    )


def serve_echo_worker(*channels: str, env: dict | None = None, name: str | None = None, ready_timeout: float = 30.0):
    """Start ``manage.py runworker CHANNEL ...`` for echo_project in a child process; return once it listens.

    A worker takes jobs sent to named channels (echo/workers.py); it needs a layer shared
    between processes, so ``env`` gives it ``REDIS_URL``. It serves no port: it is ready
    when its log says which channels it serves.
    """
    return serve_process(
        [sys.executable, "manage.py", "runworker", *channels],
        name=name,
        label="echo_project worker",
        env=env,
        cwd=ECHO_PROJECT,
        ready_line="Running worker for channels",
        ready_timeout=ready_timeout,
    )


def readme_command(host: str = "127.0.0.1", port: int = 8000) -> str:
    """The command as the README shows it: run from echo_project/ with the workshop's virtualenv."""
    argv = echo_project_command(host, port)
    return shlex.join(["../.venv/bin/python", *argv[1:]])
