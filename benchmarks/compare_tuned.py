"""The tuned consumers of this checkout against those of another commit, side by side, with `make bench`'s rounds.

    .venv/bin/python benchmarks/compare_tuned.py REV [--quick]

Copies echo_project as it was at ``REV`` (``git archive``) to a temporary folder and serves both
echo_projects with ``ECHO_CONSUMERS=tuned`` on the README's command, beside the raw `websockets`
echo (the ratios' 1.0) and the raw ASGI echo on the same transport (the floor), with `make bench`'s
own rounds, interleaved (A B C D A B C D ...): its echo table, then the fan-out to 100 members of one
room (in-memory layer, history on, the bench's SQLite database) for both, beside
``websockets.broadcast``. One cut of ``echo/tuned.py`` at a time is measured this way.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import tarfile
import tempfile

from tools import bench
from workshop.paths import REPO
from workshop.serving import serve_process, stop_all


def checkout(rev: str, folder: str) -> str:
    """echo_project as at ``rev``, unpacked in ``folder``; returns the folder to put on PYTHONPATH."""
    archive = subprocess.run(["git", "archive", rev, "echo_project"], cwd=REPO, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return os.path.join(folder, "echo_project")


def main() -> int:
    rev = sys.argv[1]
    args = bench.parse([arg for arg in sys.argv[2:] if arg == "--quick"])

    def progress(message):
        print(f"[compare] {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as folder:
        before = checkout(rev, folder)
        here = str(REPO / "echo_project")
        path_before = os.pathsep.join([before, str(REPO)])
        name_before, name_here = f"echo consumer (tuned) at {rev}", "echo consumer (tuned), this checkout"
        python = sys.executable
        targets = [
            bench.Target(bench.BASELINE, [python, "-m", "tools.bench_servers", "websockets", "{port}"]),
            bench.Target(bench.FLOOR, bench.asgi_echo_argv()),
            bench.Target(
                name_before,
                bench.echo_project_argv(),
                "echo/",
                before,
                env={"ECHO_CONSUMERS": "tuned", "PYTHONPATH": path_before},
            ),
            bench.Target(name_here, bench.echo_project_argv(), "echo/", here, env={"ECHO_CONSUMERS": "tuned"}),
        ]
        try:
            results = asyncio.run(bench.measure(bench.start(targets, progress), args, progress))
            stop_all()
            database = bench.bench_database()
            fanout_servers = [
                bench.FanoutTarget(
                    bench.FANOUT_BASELINE,
                    [
                        serve_process(
                            [python, "-m", "tools.bench_servers", "broadcast", "{port}"], name="compare: broadcast"
                        ).ws_url()
                    ],
                )
            ]
            for name, cwd, extra in (
                (f"chamber (tuned) at {rev}", before, {"PYTHONPATH": path_before}),
                ("chamber (tuned), this checkout", here, {}),
            ):
                server = serve_process(
                    bench.echo_project_argv(),
                    name=f"compare: {name}",
                    cwd=cwd,
                    env={"REDIS_URL": "", "ECHO_CONSUMERS": "tuned", "DATABASE_URL": database, **extra},
                )
                fanout_servers.append(bench.FanoutTarget(name, [server.ws_url("chamber/bench/")]))
            fanout = asyncio.run(bench.measure_fanout(fanout_servers, args, progress))
        finally:
            stop_all()
    print(bench.table(bench.summarize(results)))
    print()
    print(bench.fanout_table(fanout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
