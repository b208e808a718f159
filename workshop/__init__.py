"""The workshop's kit: serve apps from a cell, talk to them, check exercises.

Every notebook and test imports from here, so there is one way to start a
server, one way to connect to it, and one way to check an answer.
"""

from .clients import connect_ws, fetch
from .serving import (
    ServerStartError,
    free_port,
    running_servers,
    serve_asgi,
    serve_process,
    serve_wsgi,
    stop_all,
)

__all__ = [
    "ServerStartError",
    "connect_ws",
    "fetch",
    "free_port",
    "running_servers",
    "serve_asgi",
    "serve_process",
    "serve_wsgi",
    "stop_all",
]
