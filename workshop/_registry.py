"""The registry of the kit's servers, the cells that started them, and the handle they share.

Every server is registered under a name. Starting a server under a name that is
running stops the old one first. In a notebook whose front end names its cells
(JupyterLab sends each cell's id), re-running a cell, edited or not, first stops
the servers that cell started before; elsewhere the default name is the app's name
plus the line that started it. ``stop_all()`` stops everything, and so does the
interpreter's exit, SIGTERM or SIGHUP.

``BackgroundServer`` is the handle: ``_thread_servers`` and ``_process_servers`` subclass it.
``workshop.serving`` is the public face of the three modules.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import sys
import threading
import warnings

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
    except StartInterrupted as raised:
        # A codec running when the signal came (the "idna" encoding of a host name, before a connect) wraps
        # the handler's exception in one of its own type, "encoding with 'idna' codec failed (...)", with
        # ours as its cause (seen on Python 3.11): the learner gets the handler's own line.
        while isinstance(raised.__cause__, StartInterrupted):
            raised = raised.__cause__
        raise raised from None
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
