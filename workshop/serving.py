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
running stops the old one first, so re-running a cell never leaves a server
behind; the default name is the app's name plus the line that started it.
``stop_all()`` stops everything, and so does the interpreter's exit.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import wsgiref.simple_server
from socketserver import ThreadingMixIn

import uvicorn
from asgiref.compatibility import guarantee_single_callable
from uvicorn.importer import import_from_string

from . import logs
from .paths import state_dir

__all__ = [
    "BackgroundServer",
    "ServerStartError",
    "free_port",
    "running_servers",
    "serve_asgi",
    "serve_process",
    "serve_wsgi",
    "stop_all",
]

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 15.0  # seconds; generous for a slow laptop, never waited on success
STOP_TIMEOUT = 5.0


class ServerStartError(RuntimeError):
    """The server did not become ready; the message says why, with its last log lines."""


# --------------------------------------------------------------------------- registry

_registry: dict[str, BackgroundServer] = {}
_registry_lock = threading.RLock()


def running_servers() -> list[BackgroundServer]:
    """The servers started through this kit that are still running."""
    with _registry_lock:
        return list(_registry.values())


def stop_all() -> None:
    """Stop every server this kit started. Safe to call any time, and twice."""
    for server in running_servers():
        server.stop()


atexit.register(stop_all)


def _stop_all_on_sigterm() -> None:
    """Stop the servers when this process is told to terminate, then terminate as asked.

    atexit does not run on SIGTERM, which is what a Jupyter kernel gets when it does not
    shut down in time: without this, its child servers would be left running. Installed
    only where nobody else handles SIGTERM, and only from the main thread.
    """
    if os.name == "nt" or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def stop_then_terminate(signum, frame):
        stop_all()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, stop_then_terminate)


def _call_site_name(label: str) -> str:
    """A name that is the same when the same cell (or test line) runs again."""
    frame = sys._getframe(2)
    while frame and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else "?"
    return f"{label} ({where})"


def _label(app) -> str:
    return getattr(app, "__qualname__", None) or type(app).__name__


# --------------------------------------------------------------------------- the handle


class BackgroundServer:
    """A running server: where it is, what it logged, and how to stop it."""

    host = LOOPBACK

    def __init__(self, name: str):
        self.name = name
        self.port: int = 0
        self._stopped = threading.Event()

    # where it is
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def ws_url(self, path: str = "") -> str:
        return f"ws://{self.host}:{self.port}/{path.lstrip('/')}"

    # what it said
    @property
    def logs(self) -> list[str]:
        """The server's log lines (what it printed and logged), oldest first."""
        raise NotImplementedError

    def print_logs(self, last: int = 20) -> None:
        """Print the last lines of the server's log into the current cell."""
        print("\n".join(self.logs[-last:]))

    # its life
    @property
    def running(self) -> bool:
        return not self._stopped.is_set()

    def stop(self) -> None:
        """Stop the server and free its port. Calling it again does nothing."""
        if self._stopped.is_set():
            return
        try:
            self._shutdown()
        finally:
            self._stopped.set()
            with _registry_lock:
                if _registry.get(self.name) is self:
                    del _registry[self.name]

    def _shutdown(self) -> None:
        raise NotImplementedError

    def _register(self) -> None:
        with _registry_lock:
            old = _registry.get(self.name)
            if old is not None:
                old.stop()
            _registry[self.name] = self

    def _start_failed(self, why: str, cause: BaseException | None = None):
        self.stop()
        tail = "\n".join("    " + line for line in self.logs[-15:])
        message = f"{self.kind} {self.name!r} did not start: {why}"
        if tail.strip():
            message += f"\n  last log lines:\n{tail}"
        raise ServerStartError(message) from cause

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def __repr__(self):
        state = f"at {self.url}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.name!r} {state}>"


def _bind_loopback(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if os.name != "nt":  # on Windows this option lets two servers share a port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (for servers in another process)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- ASGI


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
        options = {"log_config": None, "log_level": "info", "lifespan": "off",
                   "timeout_graceful_shutdown": 2, **options}
        config = uvicorn.Config(_report_startup_errors(app, self), **options)
        self._server = _ReadyServer(config, self._ready)
        self._socket = _bind_loopback(host, port)
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
        self._thread.start()
        if not self._ready.wait(ready_timeout):
            why = f"not ready after {ready_timeout:g} s"
            if self.logs and self.logs[-1].endswith("Waiting for application startup."):
                why += (": the app received 'lifespan.startup' and never answered"
                        " 'lifespan.startup.complete' (or serve it with lifespan='off')")
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
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():  # a connection that will not close: stop waiting for it
            self._server.force_exit = True
            self._thread.join(STOP_TIMEOUT)


class _ReadyServer(uvicorn.Server):
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


def serve_asgi(app, *, name: str | None = None, host: str = LOOPBACK, port: int = 0,
               ready_timeout: float = READY_TIMEOUT, **uvicorn_options):
    """Serve an ASGI app with uvicorn in the background; return when it is ready.

    ``app`` is an ASGI application or an import string ("package.module:app").
    Extra keyword arguments go to ``uvicorn.Config`` (``ws_max_size=...``,
    ``lifespan="on"``, ...); lifespan events are off unless asked for. Raises
    ServerStartError, caused by the app's own exception, when the app fails to start.
    """
    app = _check_asgi_app(app)
    name = name or _call_site_name(_label(app))
    return ASGIServer(app, name, host, port, uvicorn_options).start(ready_timeout)


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
        self.port = self._httpd.server_port
        self._thread = threading.Thread(target=self._run, name=f"wsgi:{name}", daemon=True)

    def _run(self) -> None:
        logs.bind(self._buffer)
        self._httpd.serve_forever(poll_interval=0.05)

    def start(self) -> WSGIServer:
        logs.install()
        self._register()
        self._thread.start()  # the socket listens already: connections queue until served
        return self

    @property
    def logs(self) -> list[str]:
        return self._buffer.lines

    def _shutdown(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(STOP_TIMEOUT)
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
    name = name or _call_site_name(_label(app))
    return WSGIServer(app, name, host, port, threads).start()


# --------------------------------------------------------------------------- processes


def _log_dir() -> str:
    path = os.environ.get("WORKSHOP_LOG_DIR")
    if not path:
        return str(state_dir("logs"))
    os.makedirs(path, exist_ok=True)
    return path


class ProcessServer(BackgroundServer):
    """A server in a child process of its own process group, output to a log file."""

    kind = "process server"

    def __init__(self, argv, name: str, port: int, env: dict | None, cwd: str | None, host: str):
        super().__init__(name)
        self.host = host
        self.port = port
        self.argv = [str(arg).format(port=port, host=host) for arg in argv]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", os.path.basename(self.argv[0]))[:40]
        self.log_path = os.path.join(_log_dir(), f"{slug}-{os.getpid()}-{port}.log")
        # The output goes to a log file: no colour codes in it (Python 3.13 colours tracebacks
        # when the parent, a Jupyter kernel, asks for colour).
        plain = {"NO_COLOR": "1", "PYTHON_COLORS": "0"}
        self._env = {**os.environ, **plain, **{k: str(v) for k, v in (env or {}).items()}}
        self._cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self, ready_timeout: float) -> ProcessServer:
        _stop_all_on_sigterm()
        self._register()
        try:
            self._spawn()
            self._wait_until_ready(ready_timeout)
        except BaseException:
            self.stop()  # whatever went wrong, nothing stays registered or running
            raise
        return self

    def _spawn(self) -> None:
        group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if os.name == "nt" else {"start_new_session": True}
        with open(self.log_path, "wb") as log:
            try:
                self.process = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=self._env, cwd=self._cwd, **group,
                )
            except FileNotFoundError as exc:
                raise ServerStartError(f"{self.argv[0]!r} was not found: is it installed and on PATH?") from exc

    def _wait_until_ready(self, ready_timeout: float) -> None:
        deadline = time.monotonic() + ready_timeout
        while not self._accepts_connections():
            try:  # waits for the child to exit, up to 50 ms: the pace of this loop
                code = self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    self._start_failed(f"nothing accepted connections on port {self.port} after {ready_timeout:g} s")
            else:
                self._start_failed(f"the process exited with code {code}")

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def logs(self) -> list[str]:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return log.read().splitlines()
        except FileNotFoundError:
            return []

    def _shutdown(self) -> None:
        if self.process is None:
            return
        if os.name == "nt":
            self.process.terminate()
        else:
            _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
        if os.name != "nt":  # children that outlived the leader still hold ports
            _signal_group(self.process.pid, signal.SIGKILL)
            _wait_until(lambda: not _group_alive(self.process.pid), STOP_TIMEOUT)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _wait_until(condition, timeout: float, interval: float = 0.01) -> bool:
    """Check ``condition`` until it holds or ``timeout`` passes (for what cannot notify us)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        pause.wait(interval)
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def serve_process(
    argv,
    *,
    name: str | None = None,
    port: int | None = None,
    env: dict | None = None,
    cwd: str | None = None,
    host: str = LOOPBACK,
    ready_timeout: float = READY_TIMEOUT,
):
    """Start a server in a child process and return once its port accepts connections.

    ``argv`` may contain ``{port}`` (a free port is chosen unless given) and
    ``{host}``. ``env`` is added to this process's environment. The child runs
    in a process group of its own, so ``stop()`` also ends what it spawned.
    """
    argv = [str(arg) for arg in argv]
    port = port or free_port(host)
    name = name or _call_site_name(os.path.basename(argv[0]))
    return ProcessServer(argv, name, port, env, cwd, host).start(ready_timeout)
