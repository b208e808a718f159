"""A room's history: numbered as the room hears it, stored in batches off the live path, read back by newcomers.

Three pieces, each on its own so that a slow, locked or hung database never holds a member:

- **Numbering** (``next_seq``, ``current_seq``): every message gets a sequence number per room
  when it is broadcast, and the stored history is in that order. A number is
  ``max(previous + 1, ...)`` within an *epoch*: the first message of a room starts an epoch at the
  current time in microseconds (``epoch_start``), and the numbers that follow are consecutive. So a
  newcomer knows exactly which numbers its history must hold (the last ones up to the room's
  current number, back to the epoch's start), and numbers still grow when a server restarts or
  Redis forgets its keys (a new epoch starts above every number of the old one, unless the clock
  goes back). On the in-memory layer the numbers live in this process (the only one that serves the
  room). With Redis, several server processes serve one room, so a per-process counter would give
  two messages the same number: the room's number lives in Redis, taken by a four-line Lua script
  (``NEXT_SEQ_SCRIPT``: INCR, and a new epoch if the key is gone), one atomic round trip with
  redis-py's asyncio client and ``settings.REDIS_URL``: stock Redis, no Channels internals.
- **Storing** (``keep`` and the ``Writer``): a message is put in a bounded queue in this process
  (``settings.ECHO_HISTORY_QUEUE`` messages), never awaited. One writer thread of its own (not
  the thread Channels shares for sync code, which also runs the clean-up before every handler of
  every consumer) takes what is queued, stores it in one ``bulk_create`` per batch, and keeps each
  room within ``settings.ECHO_HISTORY_RETENTION`` rows. A full queue or a failing database costs
  messages from the history, never the conversation: their count is logged, and their numbers are
  remembered (``LOST``) so that newcomers are told the history is incomplete.
- **Reading** (``recent``, ``stored``): on a thread of its own too, the last messages of a room by
  sequence number. The reading and writing threads are daemon threads: a query stuck on a hung
  database (SIGSTOP: libpq's statement timeout is enforced by the server, which is stopped) never
  keeps the process from exiting on SIGTERM.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import json
import logging
import threading
import time
import weakref

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import JSONField, Value

from .models import Message

logger = logging.getLogger(__name__)

BATCH = 500  # the most messages one INSERT stores
JSON_NULL = Value(None, JSONField())


# --- Threads of their own ----------------------------------------------------------------------------


class DatabaseThread:
    """One daemon thread that runs database calls in order, for the event loop (an executor that never blocks exit).

    ``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits: a call
    stuck on a stopped database would hold SIGTERM for as long as the database is stopped. A call
    whose caller stopped waiting (a timeout cancelled it) is skipped, not run late.
    """

    def __init__(self, name: str):
        self.name = name
        self.jobs: collections.deque = collections.deque()
        self.ready = threading.Condition()
        self.thread: threading.Thread | None = None

    async def run(self, func, *args):
        future = concurrent.futures.Future()
        with self.ready:
            self.jobs.append((future, func, args))
            if self.thread is None:
                self.thread = threading.Thread(target=self.work, name=self.name, daemon=True)
                self.thread.start()
            self.ready.notify()
        return await asyncio.wrap_future(future)

    def work(self):
        while True:
            with self.ready:
                while not self.jobs:
                    self.ready.wait()
                future, func, args = self.jobs.popleft()
            if not future.set_running_or_notify_cancel():
                continue  # its caller gave up waiting
            try:
                close_broken_connections()
                future.set_result(func(*args))
            except BaseException as error:
                future.set_exception(error)


_reading = DatabaseThread("echo-history-read")


def close_broken_connections():
    """Close this thread's database connection if it failed and no longer answers; keep it otherwise.

    The reading and the writing thread each live as long as the process, and each keeps one
    connection: one per query, as Django's ``CONN_MAX_AGE`` 0 gives a request, took so long on
    PostgreSQL that a burst of 200 newcomers waited in line past ``ECHO_HISTORY_READ_TIMEOUT``
    and were told the history was unavailable. (Django's advice against persistent connections
    under ASGI is about the threads its async handler runs sync views in, which come and go.) A
    connection that had an error is tested, as ``close_old_connections`` does, and closed if it
    is broken (the database restarted): the next query opens a new one. Its own failure must not
    end a thread that serves every room.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or not connection.errors_occurred:
            continue
        try:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()
        except Exception as error:
            logger.warning("history: closing a broken database connection failed: %r", error)


# --- Numbering -------------------------------------------------------------------------------------------


def epoch_start() -> int:
    """Where a room's numbers start when it has none: now, in microseconds (above every earlier epoch's numbers)."""
    return time.time_ns() // 1000


# {room: [epoch's start, current number]}: the in-memory layer's numbers (one process serves the room).
SEQUENCES: dict[str, list[int]] = {}

# KEYS[1]: the room's current number; KEYS[2]: where its epoch started; ARGV[1]: a new epoch's start, begun if the
# room has no numbers. Then the next number (NEXT_SEQ_SCRIPT) or the current one (CURRENT_SEQ_SCRIPT).
START_AN_EPOCH_IF_NONE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], ARGV[1])
end
"""
NEXT_SEQ_SCRIPT = START_AN_EPOCH_IF_NONE + "return {redis.call('INCR', KEYS[1]), redis.call('GET', KEYS[2])}"
CURRENT_SEQ_SCRIPT = START_AN_EPOCH_IF_NONE + "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}"
_redis_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one client per event loop


def _redis():
    """redis-py's asyncio client for settings.REDIS_URL, one per event loop (its connections belong to it)."""
    import redis.asyncio

    loop = asyncio.get_running_loop()
    client = _redis_clients.get(loop)
    if client is None:
        # The same pool bound as the channel layer's; a Redis that hangs fails the call after 5 s.
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL,
            max_connections=settings.ECHO_REDIS_MAX_CONNECTIONS,
            socket_connect_timeout=5,
            socket_timeout=5,
            retry_on_error=list(settings.REDIS_RETRY_ON_ERROR),  # a connection from before a restart: see settings
        )
        client.next_seq = client.register_script(NEXT_SEQ_SCRIPT)
        client.current_seq = client.register_script(CURRENT_SEQ_SCRIPT)
        _redis_clients[loop] = client
    return client


def _keys(room: str) -> list[str]:
    return [f"echo:seq:{room}", f"echo:seq-start:{room}"]


async def next_seq(room: str) -> int:
    """The next sequence number of ``room``."""
    if not settings.REDIS_URL:
        numbers = SEQUENCES.setdefault(room, [epoch_start()] * 2)
        numbers[1] += 1
        return numbers[1]
    seq, _ = await _redis().next_seq(keys=_keys(room), args=[epoch_start()])
    return int(seq)


async def current_seq(room: str) -> tuple[int, int]:
    """``(start of the epoch, last number given)`` for ``room``; a room with no numbers yet starts its epoch now.

    Started by the first member rather than the first message, the epoch tells that member the number of the
    first message to come (the start, plus one), so it can pass the first messages on in their order too.
    """
    if not settings.REDIS_URL:
        return tuple(SEQUENCES.setdefault(room, [epoch_start()] * 2))
    seq, start = await _redis().current_seq(keys=_keys(room), args=[epoch_start()])
    return int(start), int(seq)


def forget_room(room: str):
    """The last member of ``room`` in this process has gone (in-memory layer): its numbering may start anew."""
    if not settings.REDIS_URL:
        SEQUENCES.pop(room, None)


# --- Storing ---------------------------------------------------------------------------------------------

# Numbers of messages this process could not store, per room: newcomers are told the history is incomplete.
LOST: dict[str, set[int]] = {}
MOST_ROOMS_REMEMBERED = 10_000


class Writer:
    """A bounded queue of messages to store, drained by one daemon thread in batches."""

    def __init__(self):
        self.pending: collections.deque = collections.deque()  # (room, seq, who, JSON text)
        self.storing: list = []  # the batch being written: still not in the database
        self.ready = threading.Condition()
        self.thread: threading.Thread | None = None
        self.not_stored = 0  # since the last log line about it

    def put(self, room: str, seq: int, who: str, text: str):
        with self.ready:
            if len(self.pending) >= settings.ECHO_HISTORY_QUEUE:
                self.lose(room, [seq], "the queue of messages to store is full")
                return
            self.pending.append((room, seq, who, text))
            if self.thread is None:
                self.thread = threading.Thread(target=self.work, name="echo-history-write", daemon=True)
                self.thread.start()
            self.ready.notify()

    def lose(self, room: str, seqs, why: str):
        """Messages not stored: remember their numbers, and log how many (at most one line a second)."""
        if room not in LOST and len(LOST) >= MOST_ROOMS_REMEMBERED:
            del LOST[next(iter(LOST))]  # the room that lost messages longest ago
        lost = LOST.setdefault(room, set())
        lost.update(seqs)
        if len(lost) > 10 * settings.ECHO_HISTORY_LENGTH:  # only the newest can be in anyone's history
            for seq in sorted(lost)[: -settings.ECHO_HISTORY_LENGTH]:
                lost.discard(seq)
        self.not_stored += len(seqs)
        now = time.monotonic()
        if now - getattr(self, "logged", float("-inf")) >= 1:
            self.logged = now
            logger.warning("history: %d messages were not stored (%s)", self.not_stored, why)
            self.not_stored = 0

    def lost(self, room: str) -> set[int]:
        """The numbers of the last messages of ``room`` that this process could not store."""
        with self.ready:
            return set(LOST.get(room, ()))

    def queued(self, room: str, up_to: int) -> dict[int, dict]:
        """The messages of ``room`` numbered up to ``up_to`` still waiting to be stored in this process, by number."""
        with self.ready:
            found = [item for item in (*self.storing, *self.pending) if item[0] == room and item[1] <= up_to]
        return {seq: {"who": who, "message": json.loads(text)} for _, seq, who, text in found}

    def work(self):
        while True:
            with self.ready:
                while not self.pending:
                    self.ready.wait()
                self.storing = [self.pending.popleft() for _ in range(min(BATCH, len(self.pending)))]
            try:
                close_broken_connections()
                self.store(self.storing)
            except Exception as error:  # DatabaseError, or a connection that failed in any way
                by_room = collections.defaultdict(list)
                for room, seq, _, _ in self.storing:
                    by_room[room].append(seq)
                with self.ready:
                    for room, seqs in by_room.items():
                        self.lose(room, seqs, f"the database failed: {error}")
            finally:
                with self.ready:
                    self.storing = []

    @staticmethod
    def store(batch):
        # A bare None would be stored as SQL NULL; JSON's null is Value(None, JSONField()) (Django's JSONField docs).
        Message.objects.bulk_create(
            Message(room=room, seq=seq, who=who, message=JSON_NULL if text == "null" else json.loads(text))
            for room, seq, who, text in batch
        )
        keep = settings.ECHO_HISTORY_RETENTION
        for room in {room for room, *_ in batch}:
            newest_first = Message.objects.filter(room=room).order_by("-seq").values_list("seq", flat=True)
            if oldest_kept := newest_first[keep - 1 : keep]:
                Message.objects.filter(room=room, seq__lt=oldest_kept[0]).delete()


writer = Writer()


def keep(room: str, seq: int, who: str, text: str):
    """Queue the message ``text`` (its JSON) said by ``who`` in ``room`` to be stored; never waits."""
    writer.put(room, seq, who, text)


# --- Reading ---------------------------------------------------------------------------------------------


def _recent(room: str, limit: int, up_to: int) -> list[dict] | None:
    said = Message.objects.filter(room=room, seq__lte=up_to).order_by("-seq")
    try:
        newest_first = list(said.values("seq", "who", "message")[:limit])
    except DatabaseError as error:
        logger.warning("history: the history of %r could not be read: %s", room, error)
        return None
    return newest_first[::-1]


async def recent(room: str, limit: int, up_to: int) -> list[dict] | None:
    """The room's last ``limit`` messages numbered up to ``up_to``, in order, as ``{"seq", "who", "message"}``.

    None (and a warning in the log) if the database cannot be read: not an empty list, which
    would say the room never said anything.
    """
    return await _reading.run(_recent, room, limit, up_to)


def _stored(room: str, seqs: list[int]) -> list[dict]:
    return list(Message.objects.filter(room=room, seq__in=seqs).values("seq", "who", "message"))


async def stored(room: str, seqs: list[int]) -> dict[int, dict] | None:
    """Those of the messages of ``room`` numbered ``seqs`` that are stored now, by number (None: unreadable)."""
    try:
        rows = await _reading.run(_stored, room, seqs)
    except DatabaseError:
        return None
    return {row.pop("seq"): row for row in rows}
