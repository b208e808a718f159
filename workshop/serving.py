"""Serve an app from a notebook cell, in the background, and always stop it.

Three ways to serve, one handle for all of them::

    server = serve_asgi(app)             # uvicorn in a daemon thread
    server = serve_wsgi(app)             # wsgiref in a daemon thread
    server = serve_process(["daphne", "-p", "{port}", "mysite.asgi:application"])

    server.url, server.ws_url("echo/"), server.port
    server.print_logs()                  # what the server printed, on purpose
    server.stop()                        # or ``with serve_asgi(app) as server:``

Why a thread with its own event loop: the kernel already runs an asyncio loop.
A uvicorn started on that loop only runs while a cell awaits, so a plain
``urllib`` call from a cell blocks the loop the server needs and deadlocks.
In a thread, the server keeps serving whatever the cells do. (The other way
people reach for, ``nest_asyncio.apply()``, patches asyncio globally and breaks
``uvicorn.Server.run()`` on Python 3.12+, which passes a ``loop_factory``.)

Every server is registered under a name. Starting a server under a name that is
running stops the old one first. In a notebook whose front end names its cells
(JupyterLab sends each cell's id), re-running a cell, edited or not, first stops
the servers that cell started before; elsewhere the default name is the app's name
plus the line that started it. ``stop_all()`` stops everything, and so does the
interpreter's exit, SIGTERM or SIGHUP. A process server also dies when this
process is killed outright: see ``_watchdog``.

The parts, as uvicorn splits its Config, Server and supervisors: ``_registry`` (the
names, the cells, the shared handle), ``_thread_servers`` (``serve_asgi``, ``serve_wsgi``)
and ``_process_servers`` (``serve_process`` and its watchdog). Import from here.
"""

from ._process_servers import ProcessServer, serve_process
from ._registry import (
    LOOPBACK,
    OWNER_ENV,
    READY_TIMEOUT,
    STOP_TIMEOUT,
    BackgroundServer,
    ServerStartError,
    ServerThreadSurvived,
    StartInterrupted,
    bind_loopback,
    free_port,
    running_servers,
    stop_all,
)
from ._thread_servers import ASGIServer, ReadyServer, WSGIServer, serve_asgi, serve_wsgi

__all__ = [
    "BackgroundServer",
    "ServerStartError",
    "free_port",
    "running_servers",
    "serve_asgi",
    "serve_process",
    "serve_wsgi",
    "stop_all",
    # and, for the kit's other modules and the tests, the handles, the warning and the defaults:
    "ASGIServer",
    "LOOPBACK",
    "OWNER_ENV",
    "ProcessServer",
    "READY_TIMEOUT",
    "ReadyServer",
    "STOP_TIMEOUT",
    "ServerThreadSurvived",
    "StartInterrupted",
    "WSGIServer",
    "bind_loopback",
]
