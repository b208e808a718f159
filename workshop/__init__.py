"""The workshop's kit: serve apps from a cell, talk to them, check exercises.

Every notebook and test imports from here, so there is one way to start a
server, one way to connect to it, and one way to check an answer.
"""

from .classroom import join_classroom, leave_classroom
from .clients import connect_ws, fetch
from .django_setup import configure_django
from .examples import asgi_echo, hello_and_echo
from .flow_worker import serve_flow_worker
from .measure import describe_slowdown, slowdown
from .paths import REPO
from .pitfalls import serve_on_the_kernel_loop
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
from .tracing import flow_log_lengths, load_flows, record_flow, trace, trace_channel_layer

__all__ = [
    "ECHO_PROJECT",
    "REPO",
    "ServerStartError",
    "asgi_echo",
    "configure_django",
    "connect_ws",
    "describe_slowdown",
    "echo_project_command",
    "fetch",
    "flow_log_lengths",
    "free_port",
    "hello_and_echo",
    "join_classroom",
    "leave_classroom",
    "load_flows",
    "record_flow",
    "running_servers",
    "serve_asgi",
    "serve_echo_project",
    "serve_echo_worker",
    "serve_flow_worker",
    "serve_on_the_kernel_loop",
    "serve_process",
    "serve_redis",
    "serve_wsgi",
    "slowdown",
    "stop_all",
    "trace",
    "trace_channel_layer",
]
