"""A throwaway PostgreSQL server for the tests that need a real one (no lesson does).

``initdb`` makes a fresh cluster in a temporary folder; ``postgres`` serves it on
127.0.0.1 and a free port, started like any other kit server, and the folder is
removed when it stops. Nothing is installed or configured system-wide.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile

from workshop.serving import ServerStartError, serve_process

INSTALL_HINT = (
    "PostgreSQL was not found. Install it: Debian/Ubuntu `sudo apt-get install postgresql`, "
    "macOS `brew install postgresql`, conda `conda install -c conda-forge postgresql`."
)


def find_postgres_bin() -> str | None:
    """The folder that holds ``initdb`` and ``postgres``: on PATH, or Debian's versioned folder."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(versions[0]) if versions else None


def _as_postgres_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user the package made."""
    if os.name == "nt" or os.geteuid() != 0:
        return argv
    # setpriv execs the command itself (runuser would stay in between and delay every stop)
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]


def _give_to_postgres_user(path: str) -> None:
    if os.name == "nt" or os.geteuid() != 0:
        return
    for folder, _, files in os.walk(path):
        shutil.chown(folder, "postgres", "postgres")
        for file in files:
            shutil.chown(os.path.join(folder, file), "postgres", "postgres")


@functools.cache
def _fresh_cluster(bin_dir: str) -> str:
    """An empty cluster made once per process by initdb; each server starts on a copy of it."""
    template = tempfile.mkdtemp(prefix="workshop-postgres-template-")
    atexit.register(shutil.rmtree, template, ignore_errors=True)
    _give_to_postgres_user(template)
    initdb = _as_postgres_user(
        [os.path.join(bin_dir, "initdb"), "-D", template, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
    )
    done = subprocess.run(initdb, capture_output=True, text=True)
    if done.returncode != 0:
        raise ServerStartError(f"initdb failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return template


def signal_every_process(postmaster: int, sig: int) -> None:
    """Send ``sig`` to the postmaster and every process it started: a backend calls setsid() when it starts
    (PostgreSQL's InitPostmasterChild), so a signal to the postmaster's process group misses the connections
    already open. SIGSTOP to all of them is a database that hangs, whichever connection a client holds."""
    pids, found = {postmaster}, True
    while found:
        found = False
        for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, ppid = int(stat.parent.name), int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
            if ppid in pids and pid not in pids:
                pids.add(pid)
                found = True
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def serve_postgres(*, name: str = "postgres", **options):
    """Start a throwaway PostgreSQL on 127.0.0.1 and a free port; ``.database_url`` says where.

    The database ``postgres`` is open to the user ``postgres`` without a password (trust,
    loopback only). Keyword arguments go to ``serve_process``.
    """
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise ServerStartError(INSTALL_HINT)
    data = tempfile.mkdtemp(prefix="workshop-postgres-")
    shutil.rmtree(data)
    shutil.copytree(_fresh_cluster(bin_dir), data, symlinks=True)  # faster than an initdb per server
    _give_to_postgres_user(data)
    # -F: no fsync (a throwaway cluster); -k: the Unix socket in the data folder, not /var/run.
    argv = _as_postgres_user(
        [os.path.join(bin_dir, "postgres"), "-D", data, "-h", "{host}", "-p", "{port}", "-k", data, "-F"]
    )
    try:
        # Ready when it says so: PostgreSQL accepts TCP connections a moment before it accepts logins
        # ("the database system is starting up").
        server = serve_process(argv, name=name, ready_line="ready to accept connections", **options)
    except BaseException:
        shutil.rmtree(data, ignore_errors=True)
        raise
    server.database_url = f"postgres://postgres@{server.host}:{server.port}/postgres"
    server.signal_every_process = functools.partial(signal_every_process, server.pid)
    stop = server.stop

    def stop_and_remove() -> None:
        # SIGINT is PostgreSQL's "fast" shutdown; the SIGTERM that stop() sends waits for every client.
        try:
            with open(os.path.join(data, "postmaster.pid")) as pid_file:
                os.kill(int(pid_file.readline()), signal.SIGINT)
        except (OSError, ValueError):
            pass
        stop()
        shutil.rmtree(data, ignore_errors=True)

    server.stop = stop_and_remove
    return server
