"""`make bench`: the echo chamber's consumer against raw baselines, side by side.

Every server runs in a process of its own; one client (this process) measures
them all, interleaved round by round (A B C A B C ...), so a machine that slows
down midway slows every target alike. The table gives ratios to the raw
`websockets` echo server, the baseline, and the server's CPU time per message
(the steadiest figure on a shared machine); absolute figures go to the JSON file.
Then the chamber: one message to a room of 100 members (fan-out), and the rate one room
sustains (members all reading, a few of them sending, each once its previous message came
back), with the room's history stored (SQLite, the shipped settings) and without, and how many
of the messages the database holds after it. The last table puts the stock and tuned consumers
on the README's command, and the raw ASGI echo on the same transport (the floor), beside issue
23's goals.

    make bench            # the full run, a few minutes at most
    make bench QUICK=1    # seconds: a smoke run (in `make test`), figures not meaningful
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

from workshop.clients import connect_ws
from workshop.measure import resident_kib
from workshop.paths import REPO, state_dir
from workshop.project import echo_project_command
from workshop.serving import serve_process, stop_all

BASELINE = "websockets echo"
FANOUT_BASELINE = "websockets.broadcast"
PAYLOAD = json.dumps({"ch": "x"})


@dataclasses.dataclass
class Target:
    name: str
    argv: list[str]
    path: str = ""
    cwd: pathlib.Path | None = None
    protocol: str = "ws"
    compression: str | None = None  # what the client offers
    pid: int | None = None
    env: dict | None = None  # added to the server's environment


def echo_project_argv() -> list[str]:
    """echo_project as the README runs it (``echo_project_command``), quiet."""
    return [*echo_project_command(), "--log-level", "warning", "--no-access-log"]


def asgi_echo_argv() -> list[str]:
    """The raw ASGI echo (no Django, no Channels) on the README's transport: its command with the app swapped."""
    argv = echo_project_argv()
    argv[argv.index("echo_project.asgi:application")] = "workshop.examples:asgi_echo"
    return argv


def plain_uvicorn_argv() -> list[str]:
    """uvicorn with its defaults, quiet, on the port the kit picks: add the app (and any option to measure)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


CONSUMERS = ("stock", "tuned")  # ECHO_CONSUMERS: both are measured


def targets() -> list[Target]:
    python, project = sys.executable, REPO / "echo_project"
    uvicorn = plain_uvicorn_argv()
    return [
        Target("tcp echo (floor)", [python, "-m", "tools.bench_servers", "tcp", "{port}"], protocol="tcp"),
        Target(BASELINE, [python, "-m", "tools.bench_servers", "websockets", "{port}"]),
        Target("raw ASGI echo, uvicorn", [*uvicorn, "workshop.examples:asgi_echo"]),
        # The same, on the README's transport (its command, the app swapped): the floor under Channels there.
        Target(FLOOR, asgi_echo_argv()),
        *(
            Target(
                echo_consumer(consumers),
                echo_project_argv(),
                "echo/",
                project,
                env={"ECHO_CONSUMERS": consumers},
            )
            for consumers in CONSUMERS
        ),
        Target(
            "echo consumer (stock), daphne",
            [python, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "-v", "0", "echo_project.asgi:application"],
            "echo/",
            project,
            env={"ECHO_CONSUMERS": "stock"},
        ),
    ]


class Client:
    """One connection to a target: a WebSocket, or a TCP socket for the floor."""

    def __init__(self, target: Target, url: str):
        self.target, self.url = target, url

    async def __aenter__(self):
        if self.target.protocol == "tcp":
            host, port = self.url.split("//")[1].rstrip("/").split(":")
            self.reader, self.writer = await asyncio.open_connection(host, int(port))
        else:
            self.connection = await connect_ws(
                self.url, compression=self.target.compression, ping_interval=None, max_queue=None
            )
        return self

    async def __aexit__(self, *exc):
        if self.target.protocol == "tcp":
            self.writer.close()
        else:
            await self.connection.close()

    async def round_trip(self) -> None:
        if self.target.protocol == "tcp":
            self.writer.write(PAYLOAD.encode())
            await self.reader.readexactly(len(PAYLOAD))
        else:
            await self.connection.send(PAYLOAD)
            await self.connection.recv()


async def latency_samples(client: Client, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await client.round_trip()
        samples.append(time.perf_counter() - started)
    return samples


async def throughput(target: Target, url: str, connections: int, messages: int) -> float:
    clients = [Client(target, url) for _ in range(connections)]
    opened = await asyncio.gather(*(client.__aenter__() for client in clients))

    async def talk(client):
        for _ in range(messages):
            await client.round_trip()

    started = time.perf_counter()
    await asyncio.gather(*(talk(client) for client in opened))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(client.__aexit__() for client in opened))
    return connections * messages / elapsed


@dataclasses.dataclass
class FanoutTarget:
    """Clients spread over ``urls`` (one per server process) in one room; one of them speaks."""

    name: str
    urls: list[str]

    async def connect(self, clients: int) -> list:
        return [
            await connect_ws(self.urls[n % len(self.urls)], compression=None, ping_interval=None, max_queue=None)
            for n in range(clients)
        ]


async def fanout_once(connections: list, marker: str) -> float:
    """Seconds from one client's send until the last of all clients has the message."""

    async def arrival(connection):
        while marker not in await connection.recv():  # skip others' traffic (joins, leaves)
            pass
        return time.perf_counter()

    waiting = [asyncio.create_task(arrival(connection)) for connection in connections]
    started = time.perf_counter()
    await connections[0].send(json.dumps({"ch": marker}))
    arrivals = await asyncio.wait_for(asyncio.gather(*waiting), 60)
    return max(arrivals) - started


async def measure_fanout(targets: list[FanoutTarget], args, progress) -> dict:
    rooms = {target.name: await target.connect(args.fanout_clients) for target in targets}
    results = {target.name: [] for target in targets}
    for round_number in range(args.fanout_rounds + 1):
        for name, connections in rooms.items():  # interleaved, as above
            seconds = await fanout_once(connections, f"fanout-{round_number}")
            if round_number:  # round 0 warms up and lets every join notice pass
                results[name].append(seconds)
        if round_number % 5 == 0:
            progress(f"fan-out round {round_number}/{args.fanout_rounds} done")
    for connections in rooms.values():
        await asyncio.gather(*(connection.close() for connection in connections))
    return {
        name: {"fanout_ms": statistics.median(times) * 1e3, "rounds": len(times)} for name, times in results.items()
    }


async def room_rate_once(connections: list, senders: int, messages: int, tag: str) -> float | None:
    """Messages a second one room passes on: ``senders`` of its members each send ``messages``, each
    once the room has brought its previous one back, until every member has all of them; None if
    they do not all arrive within a minute (a sender refused or closed: the error is printed)."""
    total = senders * messages
    own: list[asyncio.Queue] = [asyncio.Queue() for _ in range(senders)]

    async def read(n, connection):
        got = 0
        while got < total:
            text = await connection.recv()
            if f'"{tag}-' not in text:
                if text.startswith('{"error"'):
                    raise RuntimeError(f"member {n} was told: {text[:200]}")
                continue  # others' traffic (joins, leaves)
            got += 1
            if n < senders and f'"{tag}-{n}-' in text:
                own[n].put_nowait(None)
        return time.perf_counter()

    async def speak(n):
        for m in range(messages):
            await connections[n].send(json.dumps({"ch": f"{tag}-{n}-{m}"}))
            await own[n].get()

    readers = [asyncio.create_task(read(n, connection)) for n, connection in enumerate(connections)]
    started = time.perf_counter()
    try:
        done = await asyncio.wait_for(asyncio.gather(*readers, *(speak(n) for n in range(senders))), 60)
    except Exception as error:  # noqa: BLE001  the bench goes on; the table says n/a
        print(f"[bench] room rate ({tag}): {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        for reader in readers:
            reader.cancel()
        return None
    return total / (max(done[: len(readers)]) - started)


def stored_in(database: str, room: str) -> int | None:
    """How many of a room's messages the bench's SQLite database holds (None if it cannot be read)."""
    import sqlite3

    try:
        with sqlite3.connect(database.removeprefix("sqlite:///")) as connection:
            return connection.execute("SELECT COUNT(*) FROM echo_message WHERE room = ?", (room,)).fetchone()[0]
    except sqlite3.Error:
        return None


async def measure_room_rate(targets: list[FanoutTarget], database: str, args, progress) -> dict:
    """The rate each target's room sustains (median of rounds, interleaved), and how much of it was stored."""
    rooms, room_names = {}, {}
    for number, target in enumerate(targets):
        room_names[target.name] = f"rate-{number}"  # a room of its own in the shared database
        url = target.urls[0].rsplit("/chamber/", 1)[0] + f"/chamber/{room_names[target.name]}/"
        rooms[target.name] = await FanoutTarget(target.name, [url]).connect(args.room_members)
    rates = {target.name: [] for target in targets}
    for round_number in range(args.room_rounds):
        for name, connections in rooms.items():
            tag = f"rate{round_number}"
            rates[name].append(await room_rate_once(connections, args.room_senders, args.room_messages, tag))
        progress(f"room rate round {round_number + 1}/{args.room_rounds} done")
        await asyncio.sleep(RATE_REFILL)  # each member's rate limit refills: the bench measures the room, not the limit
    for connections in rooms.values():
        await asyncio.gather(*(connection.close() for connection in connections))
    said = args.room_rounds * args.room_senders * args.room_messages
    results = {}
    for name, measured in rates.items():
        valid = [rate for rate in measured if rate is not None]
        results[name] = {
            "messages_per_s": statistics.median(valid) if len(valid) == len(measured) else None,
            "rounds": len(measured),
            "said": said,
        }
    await asyncio.sleep(STORING_SETTLE)  # what is still being stored lands (or not) before it is counted
    for target in targets:
        stored = stored_in(database, room_names[target.name]) if target.name.endswith("history on") else None
        results[target.name]["stored"] = stored
    return results


def aligned(rows: list[tuple[str, ...]]) -> str:
    """Rows as a text table: the first column left-aligned, the others right-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def room_rate_table(rates: dict) -> str:
    rows = [("one room, every member reading, senders waiting for their own", "msg/s", "stored")]
    for name, figures in rates.items():
        rate, stored = figures["messages_per_s"], figures["stored"]
        rows.append(
            (
                name,
                "n/a" if rate is None else f"{rate:.0f}",
                "n/a" if stored is None else f"{stored}/{figures['said']}",
            )
        )
    return aligned(rows)


# How long the room-rate measurement waits for the last writes before counting what was stored: the
# consumers wait at most their STORING_WAIT (1 s) for a write.
# The shipped rate limit (ECHO_RATE_LIMIT 30 a second, ECHO_RATE_BURST 60): a member may say 60 at once,
# then 30 a second. Each sender says at most 16 a round, and rounds are this far apart.
RATE_REFILL = 2.0  # seconds
STORING_SETTLE = 1.5  # seconds
FLOOR = "raw ASGI echo, README's transport"
# Issue 23's goals for the tuned consumers, as ratios to raw websockets (fan-out: to websockets.broadcast).
GOALS = [
    ("p50 latency", "p50_us", "<=", 1.1),
    ("throughput, 100 connections", "throughput_msg_s", ">=", 0.75),
    ("memory per idle connection", "kib_per_idle_connection", "<=", 1.7),
    ("fan-out to 100 (in-memory, history on)", "fanout_ms", "<=", 2.0),
    ("server CPU per message", "cpu_us_per_message", "<=", 1.6),
]


def echo_consumer(consumers: str) -> str:
    return f"echo consumer ({consumers}), uvicorn"


def chamber(consumers: str) -> str:
    return f"chamber ({consumers}), in-memory layer, 1 process, history on"


def goals_table(summary: dict, fanout: dict) -> str:
    """Stock and tuned consumers on the README's command, and the raw ASGI floor, beside the tuned goals."""

    def ratio(figures, base, key):
        value, base_value = (figures or {}).get(key), (base or {}).get(key)
        return value / base_value if value is not None and base_value else None

    rows = [("ratio to raw websockets", "goal (tuned)", "tuned", "met?", "stock", "raw ASGI floor")]
    for label, key, sense, goal in GOALS:
        if key == "fanout_ms":
            base, figures = fanout.get(FANOUT_BASELINE), {c: fanout.get(chamber(c)) for c in CONSUMERS}
            floor = None
        else:
            base, figures = summary.get(BASELINE), {c: summary.get(echo_consumer(c)) for c in CONSUMERS}
            floor = ratio(summary.get(FLOOR), base, key)
        tuned, stock = (ratio(figures[c], base, key) for c in ("tuned", "stock"))
        met = "n/a" if tuned is None else "yes" if (tuned <= goal if sense == "<=" else tuned >= goal) else "no"
        rows.append(
            (
                label,
                f"{'≤' if sense == '<=' else '≥'} {goal}",
                *("n/a" if value is None else f"{value:.2f}" for value in (tuned,)),
                met,
                *("n/a" if value is None else f"{value:.2f}" for value in (stock, floor)),
            )
        )
    return aligned(rows)


def fanout_table(summary: dict) -> str:
    base = summary[FANOUT_BASELINE]["fanout_ms"]
    rows = [("one message to every client", "median ms", "×base")]
    rows += [
        (name, f"{figures['fanout_ms']:.2f}", f"{figures['fanout_ms'] / base:.2f}") for name, figures in summary.items()
    ]
    return aligned(rows)


def option_targets() -> list[Target]:
    """echo_project's echo under uvicorn with each server option changed, one at a time."""
    python, project = sys.executable, REPO / "echo_project"
    base = [*plain_uvicorn_argv(), "echo_project.asgi:application"]
    variants = {
        "uvicorn defaults (uvloop, httptools, ws auto)": [],
        "--loop asyncio": ["--loop", "asyncio"],
        "--http h11": ["--http", "h11"],
        "--ws websockets": ["--ws", "websockets"],
        "--ws websockets-sansio": ["--ws", "websockets-sansio"],
    }
    targets = [Target(BASELINE, [python, "-m", "tools.bench_servers", "websockets", "{port}"])]
    targets += [Target(name, base + extra, "echo/", project) for name, extra in variants.items()]
    # The README's command (transport limits, flow-controlled pongs, h11), and with uvicorn's own WebSocket
    # implementations: the sans-I/O one it builds on (unbounded pongs), the deprecated legacy one; and httptools.
    tuned = {"ECHO_CONSUMERS": "tuned"}
    targets += [Target("README's command, tuned", echo_project_argv(), "echo/", project, env=tuned)]
    targets += [
        Target(
            f"README's command, tuned, {' '.join(option)}", [*echo_project_argv(), *option], "echo/", project, env=tuned
        )
        for option in (["--ws", "websockets-sansio"], ["--ws", "websockets"], ["--http", "httptools"])
    ]
    # Browsers offer permessage-deflate and uvicorn accepts it by default: measured with a client that offers it.
    targets += [
        Target("deflate offered, server default (on)", base, "echo/", project, compression="deflate"),
        Target(
            "deflate offered, --ws-per-message-deflate false",
            base + ["--ws-per-message-deflate", "false"],
            "echo/",
            project,
            compression="deflate",
        ),
    ]
    return targets


def bench_database() -> str:
    """A SQLite file of the bench's own, migrated: the rooms store what is said, never in the learner's database."""
    path = state_dir("bench") / "echo-bench.sqlite3"
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=REPO / "echo_project",
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )
    return url


def start_fanout_servers(progress, database: str) -> list[FanoutTarget]:
    """The raw broadcast baseline, and echo_project's chamber on each channel layer, with and without history.

    A room stores every message it passes on (its history, ``ECHO_HISTORY_LENGTH``); the
    "history off" servers show what that storing costs the fan-out.
    """
    from workshop.redis_server import serve_redis

    python, project = sys.executable, REPO / "echo_project"
    progress("starting the fan-out servers")
    broadcast = serve_process([python, "-m", "tools.bench_servers", "broadcast", "{port}"], name="bench: broadcast")
    in_memory = {
        (consumers, history): serve_process(
            echo_project_argv(),
            name=f"bench: chamber ({consumers}), in-memory, history {history}",
            env={
                "REDIS_URL": "",
                "ECHO_CONSUMERS": consumers,
                "DATABASE_URL": database,
                "ECHO_HISTORY_LENGTH": "20" if history == "on" else "0",
            },
            cwd=project,
        )
        for consumers in CONSUMERS
        for history in ("on", "off")
    }
    redis = serve_redis(name="bench: redis")
    workers = [
        serve_process(
            echo_project_argv(),
            name=f"bench: chamber, redis {n}",
            cwd=project,
            ready_timeout=30,
            env={"REDIS_URL": redis.redis_url, "ECHO_CONSUMERS": "tuned", "DATABASE_URL": database},
        )
        for n in (1, 2)
    ]
    return [
        FanoutTarget(FANOUT_BASELINE, [broadcast.ws_url()]),
        *(
            FanoutTarget(
                f"chamber ({consumers}), in-memory layer, 1 process, history {history}",
                [server.ws_url("chamber/bench/")],
            )
            for (consumers, history), server in in_memory.items()
        ),
        FanoutTarget("chamber (tuned), Redis layer, 1 process", [workers[0].ws_url("chamber/one/")]),
        FanoutTarget("chamber (tuned), Redis layer, 2 processes", [w.ws_url("chamber/two/") for w in workers]),
    ]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(servers: dict[str, tuple[Target, str]], args, progress) -> dict:
    results = {name: {"latency": [], "throughput": [], "cpu_seconds": 0.0, "cpu_messages": 0} for name in servers}
    clients = {name: Client(target, url) for name, (target, url) in servers.items()}
    for client in clients.values():
        await client.__aenter__()
        await latency_samples(client, args.warmup)
    for round_number in range(1, args.rounds + 1):
        for name, client in clients.items():  # interleaved: every target once per round
            results[name]["latency"] += await latency_samples(client, args.round_trips)
        for name, (target, url) in servers.items():
            cpu_before = cpu_seconds(target.pid)
            results[name]["throughput"].append(await throughput(target, url, args.connections, args.messages))
            if cpu_before is not None:  # the server's CPU for these messages (the client's is not counted)
                results[name]["cpu_seconds"] += cpu_seconds(target.pid) - cpu_before
                results[name]["cpu_messages"] += args.connections * args.messages
        progress(f"round {round_number}/{args.rounds} done")
    for client in clients.values():
        await client.__aexit__()
    for name, (target, url) in servers.items():
        results[name]["kib_per_connection"] = await memory_per_connection(target, url, args.idle_connections)
    progress(f"memory with {args.idle_connections} idle connections measured")
    return results


def summarize(results: dict) -> dict:
    summary = {}
    for name, figures in results.items():
        summary[name] = {
            "p50_us": percentile(figures["latency"], 0.50) * 1e6,
            "p99_us": percentile(figures["latency"], 0.99) * 1e6,
            "throughput_msg_s": statistics.median(figures["throughput"]),
            "samples": len(figures["latency"]),
            "kib_per_idle_connection": figures.get("kib_per_connection"),
            "cpu_us_per_message": (
                figures["cpu_seconds"] / figures["cpu_messages"] * 1e6 if figures.get("cpu_messages") else None
            ),
        }
    return summary


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user and system) a process has used so far, from /proc; None where there is no /proc."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def table(summary: dict) -> str:
    base = summary[BASELINE]
    rows = [
        ("server", "p50 µs", "p99 µs", "msg/s", "KiB/conn", "CPU µs/msg")
        + ("p50 ×base", "p99 ×base", "msg/s ×base", "KiB ×base", "CPU ×base")
    ]
    for name, figures in summary.items():
        kib, base_kib = figures["kib_per_idle_connection"], base["kib_per_idle_connection"]
        cpu, base_cpu = figures.get("cpu_us_per_message"), base.get("cpu_us_per_message")
        rows.append(
            (
                name,
                f"{figures['p50_us']:.0f}",
                f"{figures['p99_us']:.0f}",
                f"{figures['throughput_msg_s']:.0f}",
                "n/a" if kib is None else f"{kib:.1f}",
                "n/a" if cpu is None else f"{cpu:.0f}",
                f"{figures['p50_us'] / base['p50_us']:.2f}",
                f"{figures['p99_us'] / base['p99_us']:.2f}",
                f"{figures['throughput_msg_s'] / base['throughput_msg_s']:.2f}",
                "n/a" if kib is None or not base_kib else f"{kib / base_kib:.2f}",
                "n/a" if cpu is None or not base_cpu else f"{cpu / base_cpu:.2f}",
            )
        )
    return aligned(rows)


def start(target_list: list[Target], progress) -> dict[str, tuple[Target, str]]:
    servers = {}
    for target in target_list:
        progress(f"starting {target.name}")
        server = serve_process(
            target.argv, name=f"bench: {target.name}", cwd=target.cwd, env=target.env, ready_timeout=30
        )
        scheme = "tcp" if target.protocol == "tcp" else "ws"
        target.pid = server.pid
        servers[target.name] = (target, f"{scheme}://127.0.0.1:{server.port}/{target.path}")
    return servers


async def memory_per_connection(target: Target, url: str, connections: int) -> float | None:
    """KiB of server memory each idle, open connection costs."""
    before = resident_kib(target.pid)
    if before is None or target.protocol == "tcp":
        return None
    clients = [Client(target, url) for _ in range(connections)]
    for batch in range(0, connections, 100):  # open them in batches, as a crowd arrives
        await asyncio.gather(*(client.__aenter__() for client in clients[batch : batch + 100]))
    await clients[-1].round_trip()  # the server has taken every connection in by now
    after = resident_kib(target.pid)
    await asyncio.gather(*(client.__aexit__() for client in clients))
    return (after - before) / connections


def compare_server_options(args, progress) -> int:
    try:
        results = asyncio.run(measure(start(option_targets(), progress), args, progress))
    finally:
        stop_all()
    print(table(summarize(results)))
    return 0


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument(
        "--server-options",
        action="store_true",
        help="compare uvicorn's options for the echo consumer instead (make bench OPTIONS=1)",
    )
    parser.add_argument("--output", type=pathlib.Path, default=REPO / "benchmarks" / "results.json")
    args = parser.parse_args(argv)
    sizes = (
        dict(
            rounds=2,
            round_trips=50,
            warmup=20,
            connections=10,
            # the CPU per message is measured over these: 2 x 10 x 50 messages span several of /proc's 10 ms ticks
            # even for the tuned consumer (2 x 10 x 5 measured 0 now and then)
            messages=50,
            fanout_clients=10,
            idle_connections=100,
            fanout_rounds=2,
            room_members=5,
            room_senders=2,
            room_messages=5,
            room_rounds=1,
        )
        if args.quick
        else dict(
            rounds=6,
            round_trips=1000,
            warmup=200,
            connections=100,
            messages=50,
            fanout_clients=100,
            idle_connections=1000,
            fanout_rounds=30,
            room_members=20,
            room_senders=20,  # every member speaks, each within its burst (ECHO_RATE_BURST, 60)
            room_messages=16,  # 3 rounds x 20 x 16 = 960: within a room's retention (ECHO_HISTORY_RETENTION, 1000)
            room_rounds=3,
        )
    )
    for key, value in sizes.items():
        setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)

    def progress(message):
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    if args.server_options:
        return compare_server_options(args, progress)
    try:
        results = asyncio.run(measure(start(targets(), progress), args, progress))
        stop_all()
        database = bench_database()
        fanout_servers = start_fanout_servers(progress, database)
        fanout = asyncio.run(measure_fanout(fanout_servers, args, progress))
        in_memory_rooms = [target for target in fanout_servers if "in-memory layer" in target.name]
        room_rates = asyncio.run(measure_room_rate(in_memory_rooms, database, args, progress))
    finally:
        stop_all()
    summary = summarize(results)
    print(table(summary))
    print()
    print(fanout_table(fanout))
    print()
    print(room_rate_table(room_rates))
    print()
    print(goals_table(summary, fanout))
    record = {
        "command": "make bench" + (" QUICK=1" if args.quick else ""),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        "sizes": {
            k: getattr(args, k)
            for k in (
                "rounds",
                "round_trips",
                "connections",
                "messages",
                "fanout_clients",
                "fanout_rounds",
                "idle_connections",
                "room_members",
                "room_senders",
                "room_messages",
                "room_rounds",
            )
        },
        "seconds": round(time.perf_counter() - started, 1),
        "results": summary,
        "fanout": fanout,
        "room_rate": room_rates,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2))
    progress(
        f"wrote {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}"
        f" in {record['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
