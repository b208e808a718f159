"""Servers in a child process, each leading a process group of its own, under the watchdog.

The child's output goes to a log file; it is ready when its port accepts connections
(or a line of its log says so). A process server also dies when this process is
killed outright: see ``_watchdog``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from ._registry import (
    LOOPBACK,
    OWNER_ENV,
    READY_TIMEOUT,
    STOP_TIMEOUT,
    BackgroundServer,
    ServerStartError,
    _default_name,
    _interruptible,
    _program_label,
    _started_by_cell,
    _stop_all_on_sigterm,
    bind_loopback,
    free_port,
)
from .paths import state_dir


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
