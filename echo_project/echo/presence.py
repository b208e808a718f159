"""Who is in each room, across every server process that serves it: the names a newcomer's snapshot lists.

On the in-memory layer one process serves a room, and ``ChamberConsumer`` knows its members
(``consumers.PRESENT``): nothing to share. With Redis, several processes serve one room, and each
knows only its own members; the room's members then live in Redis too, in a hash per room (a
member's channel name: its process and its name). A process that dies without a word (``kill -9``,
its machine gone) cannot remove its members: each process keeps a key of its own alive
(``PROCESS_TTL``, refreshed three times as often), and a snapshot drops, and deletes, the members of
a process whose key has expired. Stock Redis commands, through the same client as the history's
numbers (``history._redis``, ``settings.REDIS_URL``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from django.conf import settings

from . import history

logger = logging.getLogger(__name__)

PROCESS = uuid.uuid4().hex  # this server process, in the room hashes
PROCESS_TTL = 30  # seconds a process's members outlive it in snapshots, if it dies without a word
_heartbeats: dict = {}  # {event loop: the task that keeps this process's key alive}


def _room_key(room: str) -> str:
    return f"echo:members:{room}"


def _process_key(process: str) -> str:
    return f"echo:process:{process}"


async def enter(room: str, channel: str, name: str):
    """``name`` (on ``channel``) is in ``room``: listed in snapshots from now on, by every process."""
    if not settings.REDIS_URL:
        return
    client = history._redis()
    await client.set(_process_key(PROCESS), 1, ex=PROCESS_TTL)
    await client.hset(_room_key(room), channel, f"{PROCESS} {name}")
    loop = asyncio.get_running_loop()
    if _heartbeats.get(loop) is None or _heartbeats[loop].done():
        _heartbeats[loop] = asyncio.ensure_future(_keep_this_process_alive())


async def leave(room: str, channel: str):
    """The member on ``channel`` has left ``room``."""
    if settings.REDIS_URL:
        await history._redis().hdel(_room_key(room), channel)


async def members(room: str, here: dict[str, str]) -> list[str]:
    """The names of everyone in ``room``, in every process (``here``: this process's, by channel name), sorted."""
    if not settings.REDIS_URL:
        return sorted(here.values())
    client = history._redis()
    listed = await client.hgetall(_room_key(room))
    entries = {channel.decode(): value.decode().split(" ", 1) for channel, value in listed.items()}
    processes = sorted({process for process, _ in entries.values()} - {PROCESS})
    alive = {PROCESS}
    if processes:
        found = await client.mget([_process_key(process) for process in processes])
        alive.update(process for process, key in zip(processes, found, strict=True) if key is not None)
    gone = [channel for channel, (process, _) in entries.items() if process not in alive]
    if gone:  # members of a process that died without a word
        await client.hdel(_room_key(room), *gone)
    named = {channel: name for channel, (process, name) in entries.items() if process in alive}
    named.update(here)  # this process's own, even if Redis lost them (a restart without persistence)
    return sorted(named.values())


async def _keep_this_process_alive():
    """Refresh this process's key for as long as it serves members (its event loop runs)."""
    failing = False
    while True:
        await asyncio.sleep(PROCESS_TTL / 3)
        try:
            await history._redis().set(_process_key(PROCESS), 1, ex=PROCESS_TTL)
            failing = False
        except Exception as error:  # Redis down: the layer says so louder; say it once until it is back
            if not failing:
                logger.warning("presence: could not tell Redis this process is alive: %r", error)
            failing = True
