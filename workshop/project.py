"""echo_project served the way its README runs it: one recipe for notebooks, checks, tests and the bench.

    server = serve_echo_project()                          # uvicorn, in-memory layer
    server = serve_echo_project({"REDIS_URL": redis.redis_url}, name="worker 1")

The command line itself comes from ``echo_project_command``, so there is one place
where echo_project's uvicorn options live.
"""

from __future__ import annotations

import sys

from .paths import REPO
from .serving import serve_process

ECHO_PROJECT = REPO / "echo_project"


def echo_project_command(host: str = "{host}", port: str | int = "{port}") -> list[str]:
    """The uvicorn command line that serves echo_project (run it from ``ECHO_PROJECT``)."""
    return [sys.executable, "-m", "uvicorn", "echo_project.asgi:application", "--host", str(host),
            "--port", str(port), "--ws-per-message-deflate", "false"]


def serve_echo_project(env: dict | None = None, *, name: str | None = None, ready_timeout: float = 30.0):
    """Start echo_project under uvicorn in a child process; return once it answers.

    ``env`` adds to the environment the settings read (``REDIS_URL``, ``DEBUG``, ...).
    """
    return serve_process(echo_project_command(), name=name or "echo_project", env=env, cwd=ECHO_PROJECT,
                         ready_timeout=ready_timeout)
