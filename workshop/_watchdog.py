"""Start a server that dies with the process that asked for it, however that process dies.

    python -I -S _watchdog.py LIFELINE_FD -- ARGV...

``serve_process`` runs every child server through this script, in a session of its
own, with the read end of a pipe (the lifeline) whose only write end it keeps. The
script forks. The parent becomes the server with ``exec`` (so the server keeps the
pid ``subprocess`` knows and leads the process group); the child stays behind as the
watchdog and blocks reading the lifeline. However the kit's process ends (``stop()``,
exit, SIGTERM, SIGHUP, SIGKILL, an out-of-memory kill), the operating system closes
its end of the pipe, the read returns, and the watchdog ends the whole group:
SIGTERM, a short grace while the server exits, then SIGKILL (itself included). A server
that ends by itself (a crash) leaves the watchdog an orphan: it notices within half a
second and ends the group too, so nothing of it lingers.

Why not Linux's parent-death signal (``PR_SET_PDEATHSIG``): it fires when the
*thread* that forked exits, and servers are started from worker threads too (the
bench, the checks); it reaches only the direct child, not what the server spawns
(reloaders, workers); and it does not exist on macOS. A pipe closes on every POSIX
system, for every way a process can die.

Standard library only, and started with ``-I -S``: it must start in a few
milliseconds and must not import the kit.
"""

import os
import select
import signal
import sys
import time

GRACE = 2.0  # seconds the server gets to exit on SIGTERM before the group is killed


def watch(lifeline: int, server_pid: int) -> None:
    """Block until the lifeline closes or the server is gone, then end the process group."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # only the lifeline, the server's end, or SIGKILL end the watchdog
    while True:
        readable, _, _ = select.select([lifeline], [], [], 0.5)
        if readable:
            try:
                if os.read(lifeline, 512):
                    continue
            except OSError:
                pass
            break  # the lifeline closed: the kit's process is gone
        if os.getppid() != server_pid:
            break  # the server ended by itself: end what it left behind, and do not linger as an orphan
    os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while os.getppid() == server_pid and time.monotonic() < deadline:  # the server is our parent
        select.select([], [], [], 0.02)
    os.killpg(0, signal.SIGKILL)


def main() -> None:
    lifeline, separator, *argv = sys.argv[1:]
    assert separator == "--" and argv, __doc__
    lifeline = int(lifeline)
    server_pid = os.getpid()
    if os.fork() == 0:
        try:
            watch(lifeline, server_pid)
        finally:
            os._exit(0)
    os.close(lifeline)
    for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores these; the server should not inherit that
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        print(f"cannot run {argv[0]!r}: {error}", file=sys.stderr, flush=True)
        os._exit(127)


if __name__ == "__main__":
    main()
