"""Servers in a daemon thread of this process: uvicorn for ASGI apps, wsgiref for WSGI apps.

Why a thread with its own event loop: the kernel already runs an asyncio loop.
A uvicorn started on that loop only runs while a cell awaits, so a plain
``urllib`` call from a cell blocks the loop the server needs and deadlocks.
In a thread, the server keeps serving whatever the cells do. (The other way
people reach for, ``nest_asyncio.apply()``, patches asyncio globally and breaks
``uvicorn.Server.run()`` on Python 3.12+, which passes a ``loop_factory``.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import time
import wsgiref.simple_server
from socketserver import ThreadingMixIn

import uvicorn
from asgiref.compatibility import guarantee_single_callable
from uvicorn.importer import import_from_string

from . import logs
from ._registry import (
    LOOPBACK,
    READY_TIMEOUT,
    STOP_TIMEOUT,
    BackgroundServer,
    _default_name,
    _interruptible,
    _label,
    _started_by_cell,
    bind_loopback,
)


class ASGIServer(BackgroundServer):
    """uvicorn serving an ASGI app in a daemon thread, on an event loop of its own."""

    kind = "ASGI server"

    def __init__(self, app, name: str, host: str, port: int, options: dict):
        super().__init__(name)
        self.host = host
        self._buffer = logs.LogBuffer()
        self._startup_error: BaseException | None = None
        self._crash: BaseException | None = None
        self._ready = threading.Event()
        # log_config=None: uvicorn adds no handlers of its own, so its records reach
        # the routing handler of workshop.logs and end up in this server's buffer.
        # lifespan="off": an app that loops over receive() and ignores what it does not
        # know (most first ASGI apps) would hang uvicorn's startup. Ask for "on" or "auto".
        options = {
            "log_config": None,
            "log_level": "info",
            "lifespan": "off",
            "timeout_graceful_shutdown": 2,
            **options,
        }
        config = uvicorn.Config(_report_startup_errors(app, self), **options)
        self._server = ReadyServer(config, self._ready)
        self._socket = bind_loopback(host, port)
        self.port = self._socket.getsockname()[1]
        self._loop_factory = config.get_loop_factory() or asyncio.new_event_loop
        self._thread = threading.Thread(target=self._run, name=f"asgi:{name}", daemon=True)

    def _run(self) -> None:
        logs.bind(self._buffer)
        loop = self.loop = self._loop_factory()
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # SystemExit is how uvicorn reports a failed startup
            self._crash = exc
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._socket.close()
                self._ready.set()

    def start(self, ready_timeout: float = READY_TIMEOUT) -> ASGIServer:
        logs.install()
        self._register()
        try:
            with _interruptible(self.name):
                self._thread.start()
                ready = self._ready.wait(ready_timeout)
        except BaseException:
            self.stop()
            raise
        if not ready:
            why = f"not ready after {ready_timeout:g} s"
            if self.logs and self.logs[-1].endswith("Waiting for application startup."):
                why += (
                    ": the app received 'lifespan.startup' and never answered"
                    " 'lifespan.startup.complete' (or serve it with lifespan='off')"
                )
            self._start_failed(why)
        if not self._server.started:
            cause = self._startup_error or (self._buffer.exceptions or [self._crash])[-1]
            why = f"{type(cause).__name__}: {cause}" if self._startup_error else "startup failed"
            self._start_failed(why, cause)
        return self

    @property
    def logs(self) -> list[str]:
        return self._buffer.lines

    @property
    def exceptions(self) -> list[BaseException]:
        """Exceptions the app raised while serving (uvicorn logged them to ``logs``)."""
        return list(self._buffer.exceptions)

    def submit(self, coroutine) -> concurrent.futures.Future:
        """Run a coroutine on the server's own event loop; returns at once with a Future.

        For what belongs to the server's loop, such as the in-memory channel layer:
        its queues may only be touched from that loop. ``future.cancel()`` stops a
        background task started this way.
        """
        if not self.running:
            coroutine.close()
            raise RuntimeError(f"{self.name!r} is stopped")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def run(self, coroutine):
        """``await server.run(coro)``: run it on the server's loop and wait for its result."""
        return await asyncio.wrap_future(self.submit(coroutine))

    def _shutdown(self) -> None:
        if not self._thread.is_alive():
            self._socket.close()
            return
        began = time.monotonic()
        self._server.should_exit = True
        if self._server.started:  # a graceful shutdown first; startup does not look at should_exit
            self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():  # a connection that will not close, or a startup that waits: end it
            self._server.force_exit = True
            loop = getattr(self, "loop", None)
            try:
                loop and loop.call_soon_threadsafe(_cancel_all_tasks, loop)
            except RuntimeError:  # the loop closed meanwhile
                pass
            self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():  # the loop itself is blocked: nothing more to ask it
            self._thread_survived(time.monotonic() - began, "its port stays open until the app returns")


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()


class ReadyServer(uvicorn.Server):
    """uvicorn's Server that says when it is ready, instead of being polled."""

    def __init__(self, config, ready: threading.Event):
        super().__init__(config)
        self._ready_event = ready

    async def startup(self, sockets=None):
        await super().startup(sockets)
        self._ready_event.set()


def _report_startup_errors(app, server: ASGIServer):
    """Wrap an app so a crash during lifespan startup fails the start readably.

    uvicorn's ``lifespan="auto"`` takes any exception in the lifespan scope for
    "lifespan not supported" and starts anyway. An app that received
    ``lifespan.startup`` and raised before answering, without having tried to
    send an HTTP or WebSocket message (as apps unaware of lifespan do), did
    support it, and failed: that is reported as ``lifespan.startup.failed``,
    and ``serve_asgi`` raises it.
    """
    app = guarantee_single_callable(app)

    async def app_with_startup_errors(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        seen = {"startup": False, "answered": False, "unaware": False}

        async def watched_receive():
            message = await receive()
            seen["startup"] |= message["type"] == "lifespan.startup"
            return message

        async def watched_send(message):
            seen["answered"] |= message["type"].startswith("lifespan.startup.")
            seen["unaware"] |= not message["type"].startswith("lifespan.")
            await send(message)

        try:
            await app(scope, watched_receive, watched_send)
        except Exception as exc:
            if seen["startup"] and not seen["answered"] and not seen["unaware"]:
                server._startup_error = exc
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            raise

    return app_with_startup_errors


def _check_asgi_app(app):
    if isinstance(app, str):
        return import_from_string(app)  # raises a readable ImportFromStringError
    if not callable(app):
        raise TypeError(f"serve_asgi needs an ASGI app (an async callable), got {type(app).__name__}")
    if inspect.isfunction(app) and not inspect.iscoroutinefunction(app):
        params = inspect.signature(app).parameters
        if len(params) == 2:
            raise TypeError(
                f"{app.__name__}({', '.join(params)}) looks like a WSGI app. "
                "Serve it with serve_wsgi(), or wrap it: serve_asgi(WsgiToAsgi(app))."
            )
    return app


def serve_asgi(
    app,
    *,
    name: str | None = None,
    host: str = LOOPBACK,
    port: int = 0,
    ready_timeout: float = READY_TIMEOUT,
    **uvicorn_options,
):
    """Serve an ASGI app with uvicorn in the background; return when it is ready.

    ``app`` is an ASGI application or an import string ("package.module:app").
    Extra keyword arguments go to ``uvicorn.Config`` (``ws_max_size=...``,
    ``lifespan="on"``, ...); lifespan events are off unless asked for. Raises
    ServerStartError, caused by the app's own exception, when the app fails to start.
    """
    app = _check_asgi_app(app)
    name, cell_servers = _default_name(name, _label(app))
    return _started_by_cell(ASGIServer(app, name, host, port, uvicorn_options).start(ready_timeout), cell_servers)


# --------------------------------------------------------------------------- WSGI


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    """wsgiref's handler; its access log goes through stderr, so into the server's log."""


class _WSGIServerOneThread(wsgiref.simple_server.WSGIServer):
    """One request at a time, like the simplest WSGI deployment."""

    request_queue_size = 128  # socketserver's 5 would turn a crowd away at the door, not queue it


class _WSGIServerThreads(ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    """A thread per request: what WSGI servers do to serve several clients at once."""

    daemon_threads = True
    request_queue_size = 128
    log_buffer: logs.LogBuffer

    def process_request_thread(self, request, client_address):
        logs.bind(self.log_buffer)
        super().process_request_thread(request, client_address)


class WSGIServer(BackgroundServer):
    """wsgiref serving a WSGI app in a daemon thread."""

    kind = "WSGI server"

    def __init__(self, app, name: str, host: str, port: int, threads: bool):
        super().__init__(name)
        self.host = host
        self._buffer = logs.LogBuffer()
        server_class = _WSGIServerThreads if threads else _WSGIServerOneThread
        self._httpd = wsgiref.simple_server.make_server(
            host, port, app, server_class=server_class, handler_class=_QuietHandler
        )
        self._httpd.log_buffer = self._buffer
        self._httpd.timeout = 0.05  # handle_request() returns at this pace when idle, to see a stop
        self.port = self._httpd.server_port
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"wsgi:{name}", daemon=True)

    def _run(self) -> None:
        # Not serve_forever(): its shutdown() waits without a timeout for a request that may be
        # stuck in the app. This loop checks for a stop between requests, and stop() waits a bounded time.
        logs.bind(self._buffer)
        try:
            while not self._stopping.is_set():
                self._httpd.handle_request()
        except (OSError, ValueError):  # the socket closed under us: stop() gave up waiting
            if not self._stopping.is_set():
                raise

    def start(self) -> WSGIServer:
        logs.install()
        self._register()
        self._thread.start()  # the socket listens already: connections queue until served
        return self

    @property
    def logs(self) -> list[str]:
        return self._buffer.lines

    def _shutdown(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                self._thread_survived(STOP_TIMEOUT, "its port is closed, the stuck request goes on")
        self._httpd.server_close()


def serve_wsgi(app, *, name: str | None = None, host: str = LOOPBACK, port: int = 0, threads: bool = False):
    """Serve a WSGI app with wsgiref in the background.

    One request at a time by default, as the simplest WSGI server does;
    ``threads=True`` serves each request in a thread of its own.
    """
    if not callable(app):
        raise TypeError(f"serve_wsgi needs a WSGI app (a callable), got {type(app).__name__}")
    if inspect.iscoroutinefunction(app):
        raise TypeError(f"{app.__name__} is an async function: an ASGI app. Serve it with serve_asgi().")
    name, cell_servers = _default_name(name, _label(app))
    return _started_by_cell(WSGIServer(app, name, host, port, threads).start(), cell_servers)


# --------------------------------------------------------------------------- processes
