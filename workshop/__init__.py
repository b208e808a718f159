"""The workshop's kit: serve apps from a cell, talk to them, check exercises.

Every notebook and test imports from here, so there is one way to start a
server, one way to connect to it, and one way to check an answer.
"""

from .clients import connect_ws, fetch
from .django_setup import configure_django
from .paths import REPO
from .project import ECHO_PROJECT, echo_project_command, serve_echo_project, serve_echo_worker
from .redis_server import serve_redis
from .serving import (
    ServerStartError,
    free_port,
    running_servers,
    serve_asgi,
    serve_process,
    serve_wsgi,
    stop_all,
)
from .tracing import load_flows, record_flow, trace, trace_channel_layer

__all__ = [
    "ECHO_PROJECT",
    "REPO",
    "ServerStartError",
    "configure_django",
    "connect_ws",
    "echo_project_command",
    "fetch",
    "load_flows",
    "record_flow",
    "free_port",
    "running_servers",
    "serve_asgi",
    "serve_echo_project",
    "serve_echo_worker",
    "serve_process",
    "serve_redis",
    "serve_wsgi",
    "stop_all",
    "trace",
    "trace_channel_layer",
]
