"""Small, honest measurements for the lessons: ratios and verdicts, not raw timings.

A lesson prints what the learner should notice ("one after another"), which
is the same on every laptop; the raw seconds are returned for the curious.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from .clients import fetch

__all__ = ["describe_slowdown", "slowdown"]


def slowdown(url: str, clients: int = 5) -> float:
    """How many times longer ``clients`` simultaneous requests take than one alone."""
    fetch(url)  # warm up: connections, imports, first-request work
    started = time.perf_counter()
    fetch(url)
    alone = time.perf_counter() - started
    with ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        list(pool.map(lambda _: fetch(url), range(clients)))
        together = time.perf_counter() - started
    return together / alone


def describe_slowdown(ratio: float, clients: int = 5) -> str:
    """A verdict that reads the same on a fast and a slow machine."""
    if ratio >= clients * 0.7:
        return f"one after another: {clients} requests took about {clients}x as long as one"
    if ratio <= 1.6:
        return f"side by side: {clients} requests took about as long as one"
    return f"partly side by side: {clients} requests took {ratio:.1f}x as long as one"


def resident_kib(pid: int) -> int | None:
    """The resident memory of a process in KiB, from /proc (Linux); None elsewhere."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
