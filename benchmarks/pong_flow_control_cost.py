"""What flow-controlled pongs cost a message: the raw ASGI echo on the README's transport, with and without them.

    .venv/bin/python -m benchmarks.pong_flow_control_cost [ROUNDS]    # from the repo root: it imports tools.bench

Serves ``workshop.examples:asgi_echo`` (no Django, no Channels) with the README's command
(``tools.bench.asgi_echo_argv``), once as it is (``FlowControlledPongsProtocol``) and once with
uvicorn's own ``--ws websockets-sansio``, beside the raw ``websockets`` baseline, and measures
them as ``make bench`` does (interleaved rounds; server CPU per message from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tools import bench
from workshop.serving import stop_all


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 6
    echo = bench.asgi_echo_argv()
    targets = [
        bench.Target(bench.BASELINE, [sys.executable, "-m", "tools.bench_servers", "websockets", "{port}"]),
        bench.Target("raw ASGI echo, README's transport (FlowControlledPongsProtocol)", echo),
        bench.Target("raw ASGI echo, README's transport, --ws websockets-sansio", [*echo, "--ws", "websockets-sansio"]),
    ]
    sizes = dict(round_trips=1000, warmup=200, connections=50, messages=40, idle_connections=300)
    args = argparse.Namespace(rounds=rounds, **sizes)

    def progress(message):
        print(f"[cost] {message}", file=sys.stderr, flush=True)

    try:
        results = asyncio.run(bench.measure(bench.start(targets, progress), args, progress))
    finally:
        stop_all()
    print(bench.table(bench.summarize(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
