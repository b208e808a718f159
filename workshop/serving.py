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
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import inspect
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
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


class StartInterrupted(KeyboardInterrupt):
    """The learner interrupted the kernel while a server was starting; that server was stopped."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback into the kit
        return [f"KeyboardInterrupt: {self}"]


def _shown(name: str) -> str:
    """A server's name as a learner knows it: JupyterLab shows no cell ids, so without the cell's."""
    return repr(name.split(" (cell ")[0])


def _still_running_from_this_cell() -> str:
    cell = _current_cell()
    previous = _cells.get(cell[0]) if cell else None
    running = [server for server in (previous[2] if previous else []) if server.running]
    return f"; still running from this cell: {', '.join(_shown(server.name) for server in running)}" if running else ""


@contextlib.contextmanager
def _interruptible(name: str):
    """While a server starts, the kernel's interrupt button raises at once, here.

    In a cell that awaits anything, ipykernel answers SIGINT by cancelling the cell's task,
    which takes effect only at the cell's next ``await``: after a start that blocks for
    seconds, and then as a ``CancelledError`` traceback. So for the start, and only on the
    main thread, SIGINT raises ``StartInterrupted`` directly; the caller stops what it began.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def interrupted(signum, frame):
        raise StartInterrupted(f"stopped starting {_shown(name)}: it is not running{_still_running_from_this_cell()}")

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _interrupt_after():
    """An interrupt that comes while the servers a cell started before are stopping waits until they are stopped.

    Half-stopped servers would be worse than a second's wait; then the cell ends as interrupted.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: asked.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if asked:
        raise StartInterrupted("the servers this cell started before are stopped; it started nothing new")


class ServerThreadSurvived(RuntimeWarning):
    """``stop()`` gave up waiting: the server's thread is still running (stuck in the app)."""


warnings.simplefilter("always", ServerThreadSurvived)  # every stuck server deserves its line

# Children of this process carry it in their environment: `make check` finds the ones
# whose owner is gone (left behind by a kit that could not stop them).
OWNER_ENV = "WORKSHOP_SERVER_OWNER"


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
    """Stop the servers when this process is told to terminate or hang up, then do as asked.

    atexit does not run on SIGTERM, which is what a Jupyter kernel gets when it does not
    shut down in time, nor on SIGHUP, which a script gets when its terminal or SSH session
    closes. The watchdog would kill the children anyway; this stops them gracefully first.
    Installed only where nobody else handles the signal, and only from the main thread.
    """
    if os.name == "nt" or threading.current_thread() is not threading.main_thread():
        return

    def stop_then_terminate(signum, frame):
        stop_all()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, stop_then_terminate)


def _current_cell() -> tuple[str, str, str] | None:
    """(cell id, id of this run of it, its source) when a notebook front end names its cells.

    JupyterLab (and Notebook 7) send the cell's id in the metadata of each
    ``execute_request``; nbclient and nbval do not. Only on the kernel's main thread:
    a server started from a background thread does not belong to the cell running now.
    """
    if "IPython" not in sys.modules or threading.current_thread() is not threading.main_thread():
        return None
    try:
        parent = sys.modules["IPython"].get_ipython().kernel.get_parent()
        cell_id = parent["metadata"]["cellId"]
        run_id = parent["header"]["msg_id"]
    except Exception:  # not a kernel, or a front end that does not say
        return None
    if not cell_id:
        return None
    return str(cell_id), str(run_id), str(parent.get("content", {}).get("code", ""))


# cell id -> (run id, source, the servers started by that run of the cell)
_cells: dict[str, tuple[str, str, list]] = {}


def _claim_for_cell(label: str | None) -> tuple[str | None, list | None]:
    """Stop what an earlier run of the current cell started; return a default name and the cell's list.

    Keyed by the cell, not its source: an edited cell replaces its own servers. Said in
    one line only when the source changed: a plain re-run (Run All again) replaces
    silently, so a notebook's outputs are the same on every run.
    """
    cell = _current_cell()
    if cell is None:
        return None, None
    cell_id, run_id, source = cell
    with _registry_lock:
        previous = _cells.get(cell_id)
        if previous is None or previous[0] != run_id:
            earlier = [server for server in previous[2] if server.running] if previous else []
            with _interrupt_after():
                for server in earlier:
                    server.stop()
            if earlier and previous[1] != source:
                names = ", ".join(repr(server.name) for server in earlier)
                print(f"(this cell changed: stopped the server{'s' * (len(earlier) > 1)} it started before, {names})")
            _cells[cell_id] = previous = (run_id, source, [])
        servers = previous[2]
    if label is None:
        return None, servers
    name = f"{label} (cell {cell_id})"  # the whole id: a copied notebook's ids share long prefixes
    taken = {server.name for server in servers}
    number = 1
    while (f"{name} #{number}" if number > 1 else name) in taken:
        number += 1
    return (f"{name} #{number}" if number > 1 else name), servers


def _default_name(name: str | None, label: str) -> tuple[str, list | None]:
    cell_name, cell_servers = _claim_for_cell(None if name else label)
    return name or cell_name or _call_site_name(label), cell_servers


def _call_site_name(label: str) -> str:
    """A name that is the same when the same line (of a script, a test, a cell's source) runs again."""
    frame = sys._getframe(2)
    while frame and frame.f_globals.get("__name__", "").partition(".")[0] == __package__:  # the kit's own frames
        frame = frame.f_back
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else "?"
    return f"{label} ({where})"


def _program_label(argv: list[str]) -> str:
    """What a process server is called by default: its program, or for Python the script or module it runs."""
    program = os.path.basename(argv[0])
    if program.startswith("python") and len(argv) > 1:
        return argv[2] if argv[1] == "-m" and len(argv) > 2 else " ".join(argv[1:3])
    return program


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

    def _thread_survived(self, waited: float, consequence: str) -> None:
        warnings.warn(
            f"{self.kind} {self.name!r}: stopped waiting after {waited:.0f} s, its thread is still "
            f"running (stuck in the app, in a loop or a blocking call?); {consequence}",
            ServerThreadSurvived,
            stacklevel=4,
        )

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


def _started_by_cell(server: BackgroundServer, cell_servers: list | None) -> BackgroundServer:
    if cell_servers is not None:
        cell_servers.append(server)
    return server


def bind_loopback(host: str, port: int) -> socket.socket:
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


def _log_dir() -> str:
    path = os.environ.get("WORKSHOP_LOG_DIR")
    if not path:
        return str(state_dir("logs"))
    os.makedirs(path, exist_ok=True)
    return path


class ProcessServer(BackgroundServer):
    """A server in a child process that leads a process group of its own, output to a log file.

    On POSIX the child runs under ``_watchdog``: it dies with this process, however this
    process dies, and so does everything it spawned.
    """

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
        # PYTHONUNBUFFERED: what a Python child prints reaches its log at once (a log file is block-buffered).
        plain = {"NO_COLOR": "1", "PYTHON_COLORS": "0", "PYTHONUNBUFFERED": "1", OWNER_ENV: str(os.getpid())}
        self._env = {**os.environ, **plain, **{k: str(v) for k, v in (env or {}).items()}}
        self._cwd = cwd
        self._lifeline: int | None = None  # the write end of the watchdog's pipe
        self.process: subprocess.Popen | None = None

    ready_line: str | None = None  # for a process that serves no port: the log line that says it is ready

    def start(self, ready_timeout: float) -> ProcessServer:
        _stop_all_on_sigterm()
        self._register()
        try:
            with _interruptible(self.name):
                if self.ready_line is None:
                    self._refuse_a_busy_port()
                self._spawn()
                self._wait_until_ready(ready_timeout)
        except BaseException:
            self.stop()  # whatever went wrong, nothing stays registered or running
            raise
        return self

    def _refuse_a_busy_port(self) -> None:
        """Fail now if someone else serves the port: otherwise their server would pass for ours."""
        busy = self._accepts_connections()
        if not busy:
            try:
                bind_loopback(self.host, self.port).close()
            except OSError:
                busy = True
        if busy:
            raise ServerStartError(
                f"port {self.port} on {self.host} is already in use, by another program or a server "
                f"started earlier: leave port= out to get a free port, or stop that server "
                f"(stop_all() for this kernel's, `make check` finds strays)"
            )

    def _check_program(self) -> None:
        """Say a missing program plainly: behind the watchdog, exec fails in the child, too late to raise."""
        program = self.argv[0]
        if os.sep in program:
            found = os.path.join(self._cwd or os.getcwd(), program)  # relative to where it runs
        else:
            found = shutil.which(program, path=self._env.get("PATH"))
        if not found or not os.access(found, os.X_OK):
            raise ServerStartError(f"{program!r} was not found: is it installed and on PATH?")

    def _spawn(self) -> None:
        self._check_program()
        argv = self.argv
        options = {"stdin": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "env": self._env, "cwd": self._cwd}
        with open(self.log_path, "wb") as log:
            if os.name == "nt":
                self.process = subprocess.Popen(
                    argv, stdout=log, creationflags=subprocess.CREATE_NEW_PROCESS_GROUP, **options
                )
                return
            lifeline, self._lifeline = os.pipe()  # not inheritable: only the watchdog gets the read end
            try:
                self.process = subprocess.Popen(
                    [sys.executable, "-I", "-S", _WATCHDOG, str(lifeline), "--", *argv],
                    stdout=log,
                    pass_fds=(lifeline,),
                    start_new_session=True,
                    **options,
                )
            finally:
                os.close(lifeline)

    def _wait_until_ready(self, ready_timeout: float) -> None:
        """Ready when the port accepts and our own child is still alive (it is its listener, not another's).

        A process that serves no port (``ready_line``) is ready once it logged that line, alive.
        """
        deadline = time.monotonic() + ready_timeout
        while not (self._says_it_is_ready() and self.process.poll() is None):
            try:  # waits for the child to exit, up to 50 ms: the pace of this loop
                code = self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    waited_for = (
                        f"its log never said {self.ready_line!r}"
                        if self.ready_line
                        else f"nothing accepted connections on port {self.port}"
                    )
                    self._start_failed(f"{waited_for} after {ready_timeout:g} s")
            else:
                self._start_failed(f"the process exited with code {code}")

    def _says_it_is_ready(self) -> bool:
        if self.ready_line is None:
            return self._accepts_connections()
        return any(self.ready_line in line for line in self.logs)

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    @property
    def pid(self) -> int | None:
        """The server's own pid (the leader of its process group)."""
        return self.process.pid if self.process else None

    @property
    def logs(self) -> list[str]:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return log.read().splitlines()
        except FileNotFoundError:
            return []

    def _shutdown(self) -> None:
        try:
            self._stop_process()
        finally:
            if self._lifeline is not None:  # the watchdog is gone by now; if not, this ends the group too
                os.close(self._lifeline)
                self._lifeline = None

    def _stop_process(self) -> None:
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
        if os.name != "nt":  # children that outlived the leader (and the watchdog) still hold ports
            _signal_group(self.process.pid, signal.SIGKILL)
            _wait_until(lambda: not _group_alive(self.process.pid), STOP_TIMEOUT)


_WATCHDOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_watchdog.py")


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie holds no port: it does not count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if sys.platform.startswith("linux"):  # the watchdog's zombie waits for PID 1, which may be slow to reap
        return any(state != "Z" for state in _group_states(pgid))
    return True


def _group_states(pgid: int):
    """The state letter of each process in a process group (Linux: read from /proc)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            yield fields[0]


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
    ready_line: str | None = None,
    label: str | None = None,
):
    """Start a server in a child process and return once its port accepts connections.

    ``argv`` may contain ``{port}`` (a free port is chosen unless given) and
    ``{host}``. ``env`` is added to this process's environment. The child runs
    in a process group of its own, so ``stop()`` also ends what it spawned, and
    dies with this process however it ends. A port someone already serves is
    refused with ServerStartError; so is a child that exits before it accepts.

    A process that listens on no port (a worker) gives ``ready_line`` instead: it is
    ready once a line of its log contains that text. Unnamed, it is named after ``label``
    (the program's name unless given) and the cell or line that started it.
    """
    argv = [str(arg) for arg in argv]
    port = port or free_port(host)
    name, cell_servers = _default_name(name, label or _program_label(argv))
    server = ProcessServer(argv, name, port, env, cwd, host)
    server.ready_line = ready_line
    return _started_by_cell(server.start(ready_timeout), cell_servers)
