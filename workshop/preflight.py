"""`make check`: is this laptop ready for the workshop? One line per check.

Run it the day before: every failure comes with the command that fixes it.
Exits 1 when a required check fails; optional ones (needed by one lesson) warn.
Only what a learner needs is checked: the lessons run in any browser, so Chromium
(the browser tests' and `make rehearse`'s, tools/browser.py) is for them to find.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys

from .paths import REPO

SUPPORTED_PYTHON = ((3, 10), (3, 13))
MODULES = {  # requirement name -> module to import: the learner's install (requirements.txt), not the dev extra
    "Django": "django",
    "channels": "channels",
    "daphne": "daphne",
    "uvicorn": "uvicorn",
    "websockets": "websockets",
    "asgiref": "asgiref",
    "channels-redis": "channels_redis",
    "redis": "redis",
    "jupyterlab": "jupyterlab",
    "ipykernel": "ipykernel",
    "nest-asyncio": "nest_asyncio",
    "nbformat": "nbformat",
    "nbclient": "nbclient",
    "matplotlib": "matplotlib",
    "pytest": "pytest",
    "pytest-asyncio": "pytest_asyncio",
}


class Check:
    """One line of the report: what was checked, how it went, and the fix."""

    MARKS = {"ok": "[ ok ]", "warn": "[warn]", "fail": "[FAIL]"}

    def __init__(self, what: str, required: bool = True):
        self.what, self.required = what, required
        self.status, self.detail, self.fix = "ok", "", ""

    def passed(self, detail: str = "") -> Check:
        self.status, self.detail = "ok", detail
        return self

    def failed(self, detail: str, fix: str) -> Check:
        self.status = "fail" if self.required else "warn"
        self.detail, self.fix = detail, fix
        return self

    def lines(self) -> list[str]:
        line = f"{self.MARKS[self.status]} {self.what}" + (f": {self.detail}" if self.detail else "")
        return [line] + ([f"       fix: {self.fix}"] if self.fix else [])


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def check_python() -> Check:
    check = Check("Python 3.10 to 3.13")
    version = sys.version_info[:2]
    found = ".".join(map(str, sys.version_info[:3]))
    if SUPPORTED_PYTHON[0] <= version <= SUPPORTED_PYTHON[1]:
        return check.passed(f"{found} at {sys.executable}")
    return check.failed(f"found {found}", "install Python 3.12 and run: make check PYTHON=python3.12")


def check_packages() -> list[Check]:
    checks, pins = [], pinned_versions()
    for requirement, module in MODULES.items():
        check = Check(f"import {module}")
        try:
            importlib.import_module(module)
            installed = importlib.metadata.version(requirement)
        except Exception as error:  # a broken install raises anything
            checks.append(check.failed(f"{type(error).__name__}: {error}", "rm -rf .venv && make check"))
            continue
        wanted = pins.get(requirement)
        if wanted and installed != wanted:
            checks.append(check.failed(f"{installed} installed, {wanted} pinned", "rm -rf .venv && make check"))
        else:
            checks.append(check.passed(installed))
    return checks


def check_round_trip() -> Check:
    check = Check("a server starts in the background and a WebSocket echoes")
    try:
        from workshop import connect_ws, fetch, serve_asgi
        from workshop.examples import hello_and_echo

        async def echo(url):
            async with connect_ws(url) as ws:
                await ws.send("ping")
                return await ws.recv()

        with serve_asgi(hello_and_echo, name="preflight") as server:
            status = fetch(server.url).status
            reply = asyncio.run(echo(server.ws_url("echo/")))
        if (status, reply) != (200, "ping"):
            return check.failed(f"got {status} and {reply!r}", "see README, Troubleshooting")
        return check.passed("HTTP 200, echo 'ping'")
    except Exception as error:
        return check.failed(
            f"{type(error).__name__}: {error}",
            "is something blocking 127.0.0.1 (a firewall, a proxy)? See README, Troubleshooting",
        )


def check_channels() -> Check:
    check = Check("a Channels consumer echoes JSON (WebsocketCommunicator)")
    try:
        from workshop.django_setup import configure_django

        configure_django()
        from channels.generic.websocket import AsyncJsonWebsocketConsumer
        from channels.testing import WebsocketCommunicator

        class Echo(AsyncJsonWebsocketConsumer):
            async def receive_json(self, content, **kwargs):
                await self.send_json(content)

        async def round_trip():
            communicator = WebsocketCommunicator(Echo.as_asgi(), "/echo/")
            connected, _ = await communicator.connect()
            await communicator.send_json_to({"ch": "x"})
            reply = await communicator.receive_json_from()
            await communicator.disconnect()
            return connected, reply

        connected, reply = asyncio.run(round_trip())
        if connected and reply == {"ch": "x"}:
            return check.passed()
        return check.failed(f"connected={connected}, reply={reply!r}", "rm -rf .venv && make check")
    except Exception as error:
        return check.failed(f"{type(error).__name__}: {error}", "rm -rf .venv && make check")


def check_redis() -> Check:
    from workshop.redis_server import INSTALL_HINT, find_redis_server

    check = Check("redis-server (lesson 06)", required=False)
    found = find_redis_server()
    return check.passed(found) if found else check.failed("not found", INSTALL_HINT.split(". ", 1)[1])


def check_kernel() -> Check:
    check = Check("the workshop's Jupyter kernel is registered", required=False)
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().find_kernel_specs()
    except Exception as error:
        return check.failed(f"{type(error).__name__}: {error}", "make lab")
    if "realtime-workshop" in specs:
        return check.passed("Python (realtime workshop)")
    return check.failed("not found", "make lab (it registers the kernel), then pick it in JupyterLab")


OWNER_ENV = (
    "WORKSHOP_SERVER_OWNER"  # workshop.serving marks its children so; not imported: preflight runs when imports fail
)


def find_strays() -> list[tuple[int, str]]:
    """Workshop servers still running whose owner (kernel, script) is gone: (pid, command line).

    The kit marks each child server with its owner's pid in ``WORKSHOP_SERVER_OWNER``;
    Linux (WSL too) reads it from /proc, macOS from ``ps -E``. The kit's watchdog normally
    ends them; strays come from a kit without it, or a watchdog that was killed too.
    """
    strays = []
    for pid, owner, command in _marked_processes():
        if "_watchdog.py" in command or _alive(owner):
            continue
        strays.append((pid, command))
    return sorted(strays)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _marked_processes():
    """(pid, owner pid, command line) of every process carrying the kit's mark that we may read."""
    marker = re.compile(rf"(?:^|\s|\x00){OWNER_ENV}=(\d+)")
    if pathlib.Path("/proc/self/environ").exists():
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                found = marker.search((entry / "environ").read_bytes().decode(errors="replace"))
                if found and _state(entry) != "Z":
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    yield int(entry.name), int(found.group(1)), command.strip()
            except OSError:  # gone meanwhile, or not ours
                continue
        return
    try:  # macOS and other BSDs: ps -E appends each process's environment to its command line
        listing = subprocess.run(
            ["ps", "-A", "-E", "-ww", "-o", "pid=,command="], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return
    for line in listing.splitlines():
        pid, _, command = line.strip().partition(" ")
        found = marker.search(command)
        if found and pid.isdigit() and int(pid) != os.getpid():
            yield int(pid), int(found.group(1)), command.split(f" {OWNER_ENV}=")[0][:200]


def _state(entry: pathlib.Path) -> str:
    return (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]


def check_strays() -> Check:
    check = Check("no workshop server left running by an earlier session", required=False)
    strays = find_strays()
    if not strays:
        return check.passed()
    shown = "; ".join(f"{pid} {command[:70]}" for pid, command in strays[:5])
    more = f" (and {len(strays) - 5} more)" if len(strays) > 5 else ""
    return check.failed(
        f"{len(strays)} found: {shown}{more}", "stop them: kill " + " ".join(str(pid) for pid, _ in strays)
    )


def run_checks() -> list[Check]:
    return [
        check_python(),
        *check_packages(),
        check_round_trip(),
        check_channels(),
        check_kernel(),
        check_redis(),
        check_strays(),
    ]


def main() -> int:
    print("Preflight for 'Real time with Django Channels'\n")
    checks = run_checks()
    for check in checks:
        print("\n".join(check.lines()))
    failed = [c for c in checks if c.status == "fail"]
    warned = [c for c in checks if c.status == "warn"]
    print()
    if failed:
        print(f"{len(failed)} required check(s) failed: fix them before the workshop (README, Troubleshooting).")
        return 1
    print("Ready for the workshop." + (f" ({len(warned)} optional check(s) warned.)" if warned else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
