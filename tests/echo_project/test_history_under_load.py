"""Rooms that keep talking while their history lags or fails, against a real uvicorn at the shipped settings.

Every server is ``serve_echo_project`` (the README's command, the settings' defaults) with a
bystander echoing on ``echo/`` all along. Storing never gates the live path: a database slowed to
10 ms per row, or stopped outright (SIGSTOP), holds no other room, no leaving member, no newcomer
and no SIGTERM. Newcomers joining a busy room get a history and a live stream that fit together:
each message once, none missing, in the order of the room's sequence numbers.
"""

import asyncio
import contextlib
import json
import os
import signal
import sqlite3

import psycopg
import pytest

from tests.helpers import require_redis_server
from workshop import connect_ws, serve_echo_project
from workshop.redis_server import serve_redis

from .test_history import PostgreSQL, SQLiteFile, manage, postgres_server  # noqa: F401 (a fixture)
from .test_presence import serve_a_bystander

SENDERS, RATE = 10, 20  # connections, and messages each sends a second
NEWCOMERS = 30


async def enter(server, room, **options):
    """A member of ``room``: ``.name``, and ``.told``, the history message it got."""
    member = await connect_ws(server.ws_url(f"chamber/{room}/"), **options).__aenter__()
    member.name = json.loads(await asyncio.wait_for(member.recv(), 30))["you"]
    member.told = json.loads(await asyncio.wait_for(member.recv(), 30))
    return member


async def heard(member, wanted, timeout=30.0):
    """Read ``member`` until ``wanted(event)``; return that event (everything before it is skipped)."""
    while not wanted(event := json.loads(await asyncio.wait_for(member.recv(), timeout))):
        pass
    return event


async def say_at(member, rate: float, count: int, tag: str):
    """Say ``{tag: n}`` for n in range(count), ``rate`` a second (the traffic under test, not a pace to pass)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        await member.send(json.dumps({tag: n}))


async def read_all_along(member, into: list):
    """Keep reading ``member`` (a member that stops reading fills its channel), keeping the chat messages."""
    with contextlib.suppress(Exception):
        async for text in member:
            event = json.loads(text)
            if "message" in event:
                into.append(event)


@contextlib.asynccontextmanager
async def a_bystander(server):
    """A client echoing on ``echo/`` all along the block, which must get answers all along."""
    done = asyncio.Event()
    task = asyncio.ensure_future(serve_a_bystander(server, done))
    try:
        yield
    except BaseException:
        task.cancel()
        raise
    done.set()
    assert await task > 0, "the bystander was served throughout"


def no_tracebacks(server):
    problems = [line for line in server.logs if "Traceback" in line or "never retrieved" in line]
    assert problems == [], "\n".join(server.logs[-40:])


# --- a database slowed to 10 ms per insert ------------------------------------------------------------


@pytest.fixture
def slow_postgres(postgres_server):  # noqa: F811 (the fixture imported above)
    """A migrated PostgreSQL database where every row inserted into the history takes 10 ms more."""
    database = PostgreSQL(postgres_server, "slow")
    assert manage("migrate", "--verbosity", "0", env={"DATABASE_URL": database.url}).returncode == 0
    with psycopg.connect(database.url, autocommit=True) as db:
        db.execute(
            "CREATE FUNCTION slowly() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$"
            " LANGUAGE plpgsql"
        )
        db.execute("CREATE TRIGGER slowly BEFORE INSERT ON echo_message FOR EACH ROW EXECUTE FUNCTION slowly()")
    return database


def stored_in(database, room) -> int:
    with psycopg.connect(database.url) as db:
        return db.execute("SELECT count(*) FROM echo_message WHERE room = %s", [room]).fetchone()[0]


async def a_busy_room_and_a_quiet_one(server, database, seconds=4):
    busy = [await enter(server, "busy") for _ in range(SENDERS)]
    quiet = [await enter(server, "quiet") for _ in range(2)]
    heard_in_busy = [[] for _ in busy]
    readers = [
        asyncio.ensure_future(read_all_along(member, into)) for member, into in zip(busy, heard_in_busy, strict=True)
    ]
    async with a_bystander(server):
        talking = [
            asyncio.ensure_future(say_at(member, RATE, RATE * seconds, f"from {n}")) for n, member in enumerate(busy)
        ]
        await asyncio.sleep(1)  # the busy room is well under way: its writes queue up behind the slow inserts
        # The quiet room talks meanwhile, each message heard by the other member before the next is said.
        speaker, listener = quiet
        for n in range(20):
            await speaker.send(json.dumps({"quiet": n}))
            assert (await heard(listener, lambda event: "message" in event, 10))["message"] == {"quiet": n}
        stored_when_quiet_was_heard = stored_in(database, "busy")
        heard_when_quiet_was_heard = min(len(into) for into in heard_in_busy)
        await asyncio.gather(*talking)
    said = SENDERS * RATE * seconds
    # Every member of the busy room heard every message, however far behind the database was.
    for _ in range(600):
        if all(len(into) >= said for into in heard_in_busy):
            break
        await asyncio.sleep(0.05)
    assert [len(into) for into in heard_in_busy] == [said] * SENDERS
    for task in readers:
        task.cancel()
    return said, heard_when_quiet_was_heard, stored_when_quiet_was_heard


async def test_a_slow_database_holds_no_other_room(slow_postgres):
    """10 members x 20 msg/s in one room, 10 ms per insert: the database stores at most 100 rows a second, half
    of what is said. The other room's 20 messages are all heard while the busy room's writes are still queued;
    then the writer catches up and stores every one (the queue holds them all)."""
    with serve_echo_project({"DATABASE_URL": slow_postgres.url}, name="history: slow inserts") as server:
        said, heard_then, stored_then = await asyncio.wait_for(a_busy_room_and_a_quiet_one(server, slow_postgres), 120)
        # Heard by every member of the busy room, and not stored yet: queued.
        assert stored_then < heard_then, "the quiet room was heard while the busy room's writes were still queued"
        for _ in range(1200):  # the writer catches up, at 100 rows a second
            if stored_in(slow_postgres, "busy") == said:
                break
            await asyncio.sleep(0.05)
        assert stored_in(slow_postgres, "busy") == said, "every message stored in the end"
        newcomer = await enter(server, "busy")
        assert len(newcomer.told["history"]) == 20 and "incomplete" not in newcomer.told
        await newcomer.close()
    no_tracebacks(server)


# --- a full queue costs history, never the conversation -------------------------------------------------


async def test_a_full_queue_is_counted_in_the_log_and_a_newcomer_is_told_the_history_is_incomplete(tmp_path):
    """A smaller queue than shipped (5) and a locked SQLite file: the writer waits, the queue fills, and what
    does not fit is not stored. The room hears everything; the log counts what was not stored; a newcomer
    gets what could be kept, in order, and ``"incomplete": true``."""
    database = SQLiteFile(tmp_path)
    env = {"DATABASE_URL": database.url, "ECHO_HISTORY_QUEUE": "5"}
    assert manage("migrate", "--verbosity", "0", env=env).returncode == 0
    with serve_echo_project(env, name="history: full queue") as server:
        ada, bob = await enter(server, "garden"), await enter(server, "garden")
        with database.locked():
            for n in range(30):
                await ada.send(json.dumps(n))
                assert (await heard(bob, lambda event: "message" in event))["message"] == n
            cat = await enter(server, "garden")  # WAL: it reads while the writer waits for the lock
            assert cat.told["incomplete"] is True
            shown = [entry["message"] for entry in cat.told["history"]]
            assert shown == sorted(shown) and len(shown) < 20, shown
        await ada.close(), await bob.close(), await cat.close()
    assert [line for line in server.logs if "messages were not stored (the queue of messages to store is full)" in line]
    no_tracebacks(server)


# --- retention ---------------------------------------------------------------------------------------


async def test_the_writer_keeps_each_room_within_its_bound(tmp_path):
    """A smaller bound than shipped (25 rows): after 60 messages, a room keeps its newest 25, another room its own."""
    database = SQLiteFile(tmp_path)
    env = {"DATABASE_URL": database.url, "ECHO_HISTORY_RETENTION": "25"}
    assert manage("migrate", "--verbosity", "0", env=env).returncode == 0
    with serve_echo_project(env, name="history: retention") as server:
        ada, eve = await enter(server, "garden"), await enter(server, "cellar")
        await eve.send(json.dumps("kept"))
        await heard(eve, lambda event: "message" in event)
        for n in range(60):
            await ada.send(json.dumps(n))
            await heard(ada, lambda event, n=n: event.get("message") == n)
        for _ in range(200):  # stored just after the room has it
            if list(range(35, 60)) == database.stored()[-25:]:
                break
            await asyncio.sleep(0.05)
        await ada.close(), await eve.close()
    assert database.stored() == ["kept", *range(35, 60)]
    no_tracebacks(server)


# --- a database stopped for 10 s ---------------------------------------------------------------------


async def a_stopped_database(server, database_server, record: list):
    ada, cat = await enter(server, "garden"), await enter(server, "garden")
    eve, fred = await enter(server, "other"), await enter(server, "other")
    await ada.send(json.dumps("before"))
    assert (await heard(cat, lambda event: "message" in event))["message"] == "before"
    async with a_bystander(server):
        database_server.signal_every_process(signal.SIGSTOP)  # PostgreSQL and all its backends, for 10 s

        async def come_back():
            await asyncio.sleep(10)
            record.append("the database is back")
            database_server.signal_every_process(signal.SIGCONT)

        back = asyncio.ensure_future(come_back())
        try:
            for n in range(5):  # both rooms talk on: no member waits for the database
                await ada.send(json.dumps(f"garden {n}"))
                assert (await heard(cat, lambda event: "message" in event))["message"] == f"garden {n}"
                await eve.send(json.dumps(f"other {n}"))
                assert (await heard(fred, lambda event: "message" in event))["message"] == f"other {n}"
            record.append("both rooms talked")
            bob = await enter(server, "garden")
            assert bob.told["history"] is None and "unavailable" in bob.told["error"], bob.told
            record.append("a newcomer was told the history is unavailable")
            await ada.close()
            assert await heard(cat, lambda event: "event" in event and event["who"] == ada.name) == {
                "who": ada.name,
                "event": "left",
            }
            record.append("a leaving member's 'left' arrived")
        except BaseException:
            back.cancel()
            raise
    try:
        os.kill(server.pid, signal.SIGTERM)
        await asyncio.to_thread(server.process.wait, 60)
        record.append("the server stopped on SIGTERM")
    finally:
        await back
    for member in (bob, cat, eve, fred):
        await member.close()


async def test_a_stopped_database_holds_no_room_no_leaving_no_newcomer_and_no_sigterm(postgres_server):  # noqa: F811
    """PostgreSQL stopped (SIGSTOP) for 10 s, with a statement of the writer possibly in flight: while it is
    stopped, both rooms talk, a newcomer is told the history is unavailable, a member who leaves is announced
    "left", and SIGTERM stops the server. All of it happens before the database comes back."""
    database = PostgreSQL(postgres_server, "stopped")
    assert manage("migrate", "--verbosity", "0", env={"DATABASE_URL": database.url}).returncode == 0
    record = []
    try:
        with serve_echo_project({"DATABASE_URL": database.url}, name="history: stopped database") as server:
            await asyncio.wait_for(a_stopped_database(server, postgres_server, record), 120)
    finally:
        postgres_server.signal_every_process(signal.SIGCONT)  # whatever happened, the database may be stopped by now
    assert record == [
        "both rooms talked",
        "a newcomer was told the history is unavailable",
        "a leaving member's 'left' arrived",
        "the server stopped on SIGTERM",
        "the database is back",
    ]
    assert [line for line in server.logs if "Finished server process" in line], server.logs[-20:]


# --- newcomers to a busy room: history and live fit together ---------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def layer(request):
    return request.param


@pytest.fixture(params=["stock", "tuned"])
def rooms(request, layer, tmp_path):
    """One server on the in-memory layer; or, with Redis, two server processes sharing the room and a database."""
    database = SQLiteFile(tmp_path)
    env = {"DATABASE_URL": database.url, "REDIS_URL": "", "ECHO_CONSUMERS": request.param}
    assert manage("migrate", "--verbosity", "0", env=env).returncode == 0
    if layer == "memory":
        with serve_echo_project(env, name="newcomers: memory") as server:
            yield database, [server]
        return
    require_redis_server()
    with serve_redis(name="newcomers: redis") as redis:
        env["REDIS_URL"] = redis.redis_url
        with (
            serve_echo_project(env, name="newcomers: redis 1") as first,
            serve_echo_project(env, name="newcomers: redis 2") as second,
        ):
            yield database, [first, second]


def stored_in_order(database) -> list:
    """(who, message) of every stored message, in the order of the room's sequence numbers."""
    with sqlite3.connect(database.path) as db:
        rows = db.execute("SELECT who, message FROM echo_message WHERE room = 'stream' ORDER BY seq").fetchall()
    return [(who, json.loads(message)) for who, message in rows]


async def newcomers_to_a_busy_room(servers, database):
    # One speaker per server process, 20 messages a second in all; a watcher on the first server.
    speakers = [await enter(server, "stream") for server in servers]
    watcher = await enter(servers[0], "stream")
    watched = []
    readers = [asyncio.ensure_future(read_all_along(member, [])) for member in speakers]
    readers.append(asyncio.ensure_future(read_all_along(watcher, watched)))
    seconds = 2 + NEWCOMERS  # a newcomer stays for ten live messages, half a second: the room outlasts them all
    per_speaker = RATE * seconds // len(speakers)
    newcomers = []
    async with a_bystander(servers[0]):
        talking = [
            asyncio.ensure_future(say_at(member, RATE / len(speakers), per_speaker, f"from {n}"))
            for n, member in enumerate(speakers)
        ]
        await asyncio.sleep(1)
        for n in range(NEWCOMERS):  # one after another, on each server in turn, while the room talks
            newcomer = await enter(servers[n % len(servers)], "stream")
            live = []
            while len(live) < 10:  # ten live messages after its history, then it leaves
                event = json.loads(await asyncio.wait_for(newcomer.recv(), 30))
                if "message" in event:
                    live.append((event["who"], event["message"]))
            newcomers.append((newcomer.told, live))
            await newcomer.close()
        await asyncio.gather(*talking)
        said = per_speaker * len(speakers)
        for _ in range(600):
            if len(watched) >= said and len(stored_in_order(database)) >= said:
                break
            await asyncio.sleep(0.05)
    for task in readers:
        task.cancel()
    return said, [(event["who"], event["message"]) for event in watched], newcomers


async def test_newcomers_to_a_busy_room_see_each_message_once_and_none_missing(rooms):
    database, servers = rooms
    said, watched, newcomers = await asyncio.wait_for(newcomers_to_a_busy_room(servers, database), 180)
    in_order = stored_in_order(database)  # the order of the room's sequence numbers
    assert len(in_order) == said and len(set(map(json.dumps, in_order))) == said, "each message stored once"
    assert watched == in_order, "the history's order is the order members heard"
    place = {json.dumps(item): n for n, item in enumerate(in_order)}
    for told, live in newcomers:
        assert "incomplete" not in told and told["history"], told
        history = [(entry["who"], entry["message"]) for entry in told["history"]]
        seen = [place[json.dumps(item)] for item in history + live]
        assert len(set(seen)) == len(seen), f"a message seen twice: {history + live}"
        assert [place[json.dumps(item)] for item in history] == sorted(place[json.dumps(item)] for item in history)
        # No gap: from the oldest message in its history, it saw every message up to the newest it saw, in order.
        assert seen == list(range(min(seen), max(seen) + 1)), f"a message missing or out of order: {history + live}"
        assert len(history) == 20
    for server in servers:
        no_tracebacks(server)
