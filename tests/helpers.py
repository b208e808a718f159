"""Helpers for tests that count what a server leaves behind."""

import os
import pathlib
import sys

import pytest


def require_redis_server(allow_module_level: bool = False) -> None:
    """Skip a test that needs redis-server where it is missing; in CI, fail: CI must run them (.ci/run installs it)."""
    from workshop.redis_server import find_redis_server

    if find_redis_server() is not None:
        return
    if os.environ.get("CI"):
        pytest.fail("CI must run the Redis tests: install redis-server (.ci/run does)", pytrace=False)
    pytest.skip("redis-server not found (make check says how to install it)", allow_module_level=allow_module_level)


def live_group_members(pgid: int) -> list[int]:
    """Processes (not zombies) in a process group; Linux only."""
    members = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def open_sockets() -> int:
    """How many sockets this process has open; Linux only."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.connect((host, port))
        except OSError:
            return True
    return False


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
