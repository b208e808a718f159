"""Where a message's server CPU goes: the tuned echo against the raw ASGI echo, on the README's transport.

    .venv/bin/python benchmarks/profile_per_message.py [ROUNDS] [--top N] [--fanout]

Serves each application in this process, with the options of the README's command
(``echo_project_command()``: h11, the flow-controlled pongs, no lifespan, no deflate, the same
limits), and loads it from a client process: 50 connections, each 200 round trips of
``{"ch": "x"}``, as ``make bench``'s throughput rounds do. One application after the other
(each in a server of its own), a warm-up round, then ROUNDS pairs of rounds:

- without a profiler: the server's CPU time per message (``time.process_time`` of this process,
  the client is another);
- under ``cProfile``: the functions that take it, per message, grouped by package. cProfile slows
  small Python functions more than C code, so its microseconds are larger than the unprofiled
  ones: read them as shares.

What the tuned echo costs above the raw echo is Channels, Django and the consumer. The two are
not measured in turns: compare them within one run, and run it twice (benchmarks/RESULTS.md).

``--fanout``: the tuned chamber instead (in-memory layer, history off: storing is not profiled
here), 100 members in one room, one of them sending 50 messages, each after the last has reached
everyone; figures per member reached.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import time

from workshop.paths import REPO
from workshop.project import echo_project_command
from workshop.serving import free_port

APPLICATIONS = {
    "raw ASGI echo": "workshop.examples:asgi_echo",
    "echo consumer (tuned)": "echo_project.asgi:application",
}
CONNECTIONS, ROUND_TRIPS = 50, 200
SITE = f"{os.sep}site-packages{os.sep}"

CLIENT = r"""
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url, connections, round_trips):
    origin = url.replace("ws://", "http://").rsplit("/", 2)[0]
    held = [await connect(url, origin=origin, compression=None, ping_interval=None) for _ in range(connections)]
    print("open", flush=True)
    sys.stdin.readline()

    async def talk(connection):
        for _ in range(round_trips):
            await connection.send('{"ch": "x"}')
            await connection.recv()

    await asyncio.gather(*(talk(connection) for connection in held))
    await asyncio.gather(*(connection.close() for connection in held))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""

FANOUT_MEMBERS, FANOUT_MESSAGES = 100, 50
FANOUT_CLIENT = r"""
import asyncio, json, sys
from websockets.asyncio.client import connect

async def main(url, members, messages):
    origin = url.replace("ws://", "http://").split("/chamber/")[0]
    room = [await connect(url, origin=origin, compression=None, ping_interval=None, max_queue=None)
            for _ in range(members)]
    await room[0].send(json.dumps({"ch": "warm-up"}))
    for member in room:
        while "warm-up" not in await member.recv():  # skips the welcome, history and joins
            pass
    print("open", flush=True)
    sys.stdin.readline()

    async def until(member, marker):
        while marker not in await member.recv():
            pass

    for n in range(messages):
        await room[0].send(json.dumps({"ch": f"m{n}"}))
        await asyncio.gather(*(until(member, f"m{n}") for member in room))
    await asyncio.gather(*(member.close() for member in room))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def server_config(application: str, port: int):
    """uvicorn's Config from the README's command, with ``application`` served."""
    import uvicorn
    from uvicorn.main import main as uvicorn_cli

    argv = echo_project_command(host="127.0.0.1", port=port)[3:]  # after "python -m uvicorn"
    argv[0] = application
    context = uvicorn_cli.make_context("uvicorn", [*argv, "--log-level", "warning", "--no-access-log"])
    params = {key: value for key, value in context.params.items() if key != "app"}
    keep = {
        "host",
        "port",
        "http",
        "ws",
        "lifespan",
        "ws_per_message_deflate",
        "ws_max_size",
        "ws_ping_interval",
        "ws_ping_timeout",
        "limit_concurrency",
        "log_level",
        "access_log",
    }
    return uvicorn.Config(application, **{key: params[key] for key in keep})


async def load(url: str, profiler: cProfile.Profile | None) -> float:
    """Server CPU seconds (this process) for CONNECTIONS × ROUND_TRIPS messages (or the fan-out's)."""
    fanout = "/chamber/" in url
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FANOUT_CLIENT if fanout else CLIENT,
        url,
        str(FANOUT_MEMBERS if fanout else CONNECTIONS),
        str(FANOUT_MESSAGES if fanout else ROUND_TRIPS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert (await client.stdout.readline()).strip() == b"open"
    if profiler:
        profiler.enable()
    started = time.process_time()
    client.stdin.write(b"go\n")
    await client.wait()
    used = time.process_time() - started
    if profiler:
        profiler.disable()
    return used


async def serve_and_measure(application: str, rounds: int, path: str) -> tuple[list[float], pstats.Stats]:
    import uvicorn

    server = uvicorn.Server(server_config(application, free_port()))
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"ws://127.0.0.1:{server.config.port}/{path}"
    messages = FANOUT_MEMBERS * FANOUT_MESSAGES if "chamber" in path else CONNECTIONS * ROUND_TRIPS
    await load(url, None)  # warm up
    cpu, profiler = [], cProfile.Profile()
    for _ in range(rounds):
        cpu.append(await load(url, None) / messages)
        await load(url, profiler)
    server.should_exit = True
    await serving
    return cpu, pstats.Stats(profiler)


def package(filename: str) -> str:
    if SITE in filename:
        return filename.split(SITE, 1)[1].split(os.sep)[0]
    if filename.startswith(str(REPO)):
        return "echo_project" if "echo_project" in filename else "workshop"
    return "standard library, C" if filename.startswith("~") or "python3" in filename else filename


def report(name: str, cpu: list[float], stats: pstats.Stats, messages: int, top: int) -> None:
    per_message = {}
    by_package: dict[str, float] = {}
    for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.stats.items():
        label = f"{function} ({os.path.basename(filename)}:{line})" if filename != "~" else function
        per_message[label] = (tottime / messages * 1e6, cumtime / messages * 1e6, calls / messages)
        by_package[package(filename)] = by_package.get(package(filename), 0) + tottime / messages * 1e6
    total = sum(by_package.values())
    print(
        f"\n{name}: {statistics.median(cpu) * 1e6:.1f} µs CPU a message without profiler (rounds: "
        f"{', '.join(f'{c * 1e6:.1f}' for c in cpu)}); {total:.1f} µs under cProfile"
    )
    print(
        "  by package (cProfile µs a message): "
        + ", ".join(
            f"{name} {value:.1f}"
            for name, value in sorted(by_package.items(), key=lambda item: -item[1])
            if value >= 0.3
        )
    )
    print(f"  {'function':70} {'self µs':>8} {'incl µs':>8} {'calls':>6}")
    for label, (own, inclusive, calls) in sorted(per_message.items(), key=lambda item: -item[1][0])[:top]:
        print(f"  {label[:70]:70} {own:8.2f} {inclusive:8.2f} {calls:6.2f}")


def main() -> int:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    rounds = int(args[0]) if args else 3
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 25
    sys.path.insert(0, str(REPO / "echo_project"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")
    os.environ["ECHO_CONSUMERS"] = "tuned"
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    if "--fanout" in sys.argv:
        os.environ.update({"REDIS_URL": "", "ECHO_HISTORY_LENGTH": "0"})
        cpu, stats = run(serve_and_measure(APPLICATIONS["echo consumer (tuned)"], rounds, "chamber/profile/"))
        report("chamber (tuned), per member reached", cpu, stats, rounds * FANOUT_MEMBERS * FANOUT_MESSAGES, top)
        return 0
    messages = rounds * CONNECTIONS * ROUND_TRIPS
    for name, application in APPLICATIONS.items():
        cpu, stats = run(serve_and_measure(application, rounds, "echo/"))
        report(name, cpu, stats, messages, top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
