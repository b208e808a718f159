"""Rooms that remember: history stored with the ORM, read back on joining, against a real server.

Each test serves echo_project with uvicorn in a child process on a database of its own, a
SQLite file and a real PostgreSQL server, migrated first with `manage.py migrate`.
"""

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time

import psycopg
import pytest

from tests.postgres_server import find_postgres_bin, serve_postgres
from workshop import ECHO_PROJECT, connect_ws, serve_echo_project, serve_echo_worker, serve_redis


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` for echo_project, with ``env`` added to this environment."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ECHO_PROJECT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


class SQLiteFile:
    """echo_project's default database: a SQLite file."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "echo.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def stored(self) -> list:
        with sqlite3.connect(self.path) as db:
            return [json.loads(row[0]) for row in db.execute("SELECT message FROM echo_message ORDER BY id")]

    @contextlib.contextmanager
    def locked(self):
        """Hold the write lock from another connection: every write of the server waits."""
        lock = sqlite3.connect(self.path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()


class PostgreSQL:
    """A database of its own on a real PostgreSQL server, as production would use through DATABASE_URL."""

    def __init__(self, server, name):
        with psycopg.connect(server.database_url, autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        self.url = server.database_url.rsplit("/", 1)[0] + "/" + name

    def stored(self) -> list:
        with psycopg.connect(self.url) as db:
            return [row[0] for row in db.execute("SELECT message FROM echo_message ORDER BY id")]

    @contextlib.contextmanager
    def locked(self):
        with psycopg.connect(self.url) as db:
            db.execute("LOCK TABLE echo_message IN ACCESS EXCLUSIVE MODE")
            yield
            db.rollback()


@pytest.fixture
def postgres_server():
    if find_postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL: install Debian's postgresql (.ci/run does)", pytrace=False)
        pytest.skip("PostgreSQL is not installed (sudo apt-get install postgresql)")
    with serve_postgres(name="history: postgres") as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        database = SQLiteFile(tmp_path)
    else:
        server = request.getfixturevalue("postgres_server")
        database = PostgreSQL(server, "echo")
    assert manage("migrate", "--verbosity", "0", env={"DATABASE_URL": database.url}).returncode == 0
    return database


async def join(server, room):
    member = await connect_ws(server.ws_url(f"chamber/{room}/")).__aenter__()
    welcome = json.loads(await member.recv())
    member.name = welcome["you"]
    member.history = json.loads(await member.recv())["history"]
    assert json.loads(await member.recv()) == {"who": member.name, "event": "joined"}
    return member


async def next_message(member, timeout=3.0):
    """The next chat message (presence events skipped)."""
    while True:
        event = json.loads(await asyncio.wait_for(member.recv(), timeout))
        if "message" in event or "error" in event:
            return event


async def test_history_survives_a_restart_and_stays_in_its_room(database):
    with serve_echo_project({"DATABASE_URL": database.url}, name="history: first life") as server:
        ada = await join(server, "garden")
        assert ada.history == []
        for text in ["one", "two", None]:
            await ada.send(json.dumps({"ch": text} if text else None))
            await next_message(ada)
        eve = await join(server, "cellar")
        await eve.send(json.dumps("secret"))
        await next_message(eve)
        await ada.close(), await eve.close()
    with serve_echo_project({"DATABASE_URL": database.url}, name="history: second life") as server:
        bob = await join(server, "garden")
        assert bob.history == [
            {"who": ada.name, "message": {"ch": "one"}},
            {"who": ada.name, "message": {"ch": "two"}},
            {"who": ada.name, "message": None},
        ]
        cat = await join(server, "cellar")
        assert cat.history == [{"who": eve.name, "message": "secret"}]
        await bob.close(), await cat.close()


async def test_history_holds_the_last_twenty_oldest_first(database):
    with serve_echo_project({"DATABASE_URL": database.url}, name="history: twenty") as server:
        ada = await join(server, "long")
        for n in range(25):
            await ada.send(json.dumps(n))
            await next_message(ada)
        bob = await join(server, "long")
        assert bob.history == [{"who": ada.name, "message": n} for n in range(5, 25)]
        await ada.close(), await bob.close()


async def test_bad_input_is_never_stored(database):
    with serve_echo_project({"DATABASE_URL": database.url}, name="history: bad input") as server:
        ada = await join(server, "garden")
        for bad in ["{oops", "NaN", '{"x": Infinity}', "1e400", "[" * 5000 + "]" * 5000]:
            await ada.send(bad)
            assert "error" in await next_message(ada), bad
        await ada.send(b"\x00binary")
        assert "error" in await next_message(ada)
        await ada.send(json.dumps("fine"))
        assert (await next_message(ada))["message"] == "fine"
        await ada.close()
    assert database.stored() == ["fine"]


async def test_a_slow_database_never_stalls_the_other_members(database):
    """While another connection holds SQLite's write lock, members still hear each other at once."""
    with serve_echo_project({"DATABASE_URL": database.url}, name="history: slow database") as server:
        ada, bob = await join(server, "garden"), await join(server, "garden")
        # Every write of the server now waits, for as long as the lock is held: whatever arrives inside this
        # block arrived while the database could store nothing (the generous timeouts only end a stalled test).
        with database.locked():
            await ada.send(json.dumps("first"))
            assert (await next_message(bob, timeout=30))["message"] == "first"
            assert (await next_message(ada, timeout=30))["message"] == "first"  # her own, while it is stored
            await bob.send(json.dumps("second"))
            assert (await next_message(ada, timeout=30))["message"] == "second"
        await ada.close(), await bob.close()
    assert database.stored() == ["first", "second"]  # stored once the lock was gone


@pytest.fixture
def shared_by_processes(tmp_path):
    """The environment several echo_project processes share: a migrated SQLite file and a real Redis."""
    database = SQLiteFile(tmp_path)
    env = {"DATABASE_URL": database.url}
    assert manage("migrate", "--verbosity", "0", env=env).returncode == 0
    with serve_redis(name="history: redis") as redis:
        env["REDIS_URL"] = redis.redis_url
        yield database, env


async def test_a_management_command_announces_to_a_room_across_processes(shared_by_processes):
    """`manage.py announce` is sync code in another process: Redis carries its group_send to the server."""
    database, env = shared_by_processes
    with serve_echo_project(env, name="history: announce") as server:
        ada = await join(server, "garden")
        done = await asyncio.to_thread(manage, "announce", "garden", "tea is ready", env=env)
        assert done.returncode == 0, done.stderr
        assert await next_message(ada) == {"who": "announcer", "message": "tea is ready"}
        bob = await join(server, "garden")
        assert bob.history == [{"who": "announcer", "message": "tea is ready"}]
        refused = manage("announce", "no room!", "x", env=env)
        assert refused.returncode != 0 and "not a room name" in refused.stderr
        alone = manage("announce", "garden", "x", env={**env, "REDIS_URL": ""})  # its own in-memory layer
        assert alone.returncode != 0 and "set REDIS_URL" in alone.stderr
        await ada.close(), await bob.close()


async def test_a_worker_summarizes_a_room_off_the_consumers(shared_by_processes):
    """`manage.py runworker room-summary` takes a job from a named channel and reports to the room."""
    from channels_redis.core import RedisChannelLayer

    database, env = shared_by_processes
    with (
        serve_echo_project(env, name="history: chamber") as server,
        serve_echo_worker("room-summary", env=env, name="history: worker") as worker,
    ):
        ada, bob = await join(server, "garden"), await join(server, "garden")
        for speaker, text in [(ada, "one"), (ada, "two"), (bob, "three")]:
            await speaker.send(json.dumps(text))
            for member in (ada, bob):  # both hear it
                assert (await next_message(member))["message"] == text
        deadline = time.monotonic() + 5  # each message is stored just after the room has it
        while len(database.stored()) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        layer = RedisChannelLayer(hosts=[env["REDIS_URL"]])
        await layer.send("room-summary", {"type": "room.summary", "room": "garden"})
        assert await next_message(ada) == {"who": "summary", "message": {"messages": 3, "members": 2}}
        asked = await asyncio.to_thread(manage, "summarize", "garden", env=env)  # the same from sync code
        assert asked.returncode == 0, asked.stderr
        assert await next_message(bob) == {"who": "summary", "message": {"messages": 3, "members": 2}}
        await ada.close(), await bob.close()
        # A SyncConsumer here warned "async_to_sync was passed a non-async-marked callable" on its first job.
        assert not [line for line in worker.logs if "Warning" in line or "Traceback" in line], worker.logs


async def test_a_locked_database_holds_no_one_and_a_newcomer_is_told_the_history_is_unavailable(database):
    """While another connection holds the lock: the room talks, a newcomer hears the history is unavailable
    (not an empty room) if the lock holds readers too, and a member who closes is announced "left", all before
    the lock is released."""
    with serve_echo_project({"DATABASE_URL": database.url}, name="history: locked") as server:
        ada, cat = await join(server, "garden"), await join(server, "garden")
        with database.locked():  # every write of the server now waits, up to the database timeout
            await ada.send(json.dumps("first"))  # its write waits for the lock
            assert (await next_message(cat, timeout=30))["message"] == "first"
            await ada.send(json.dumps("second"))  # the member is not held by the first write
            assert (await next_message(cat, timeout=30))["message"] == "second"
            bob = await connect_ws(server.ws_url("chamber/garden/")).__aenter__()
            assert "you" in json.loads(await bob.recv())
            told = json.loads(await asyncio.wait_for(bob.recv(), 30))
            if isinstance(database, SQLiteFile):
                # WAL: a reader never waits for the writer's lock; what is still queued to be stored fills the rest.
                said = [{"who": ada.name, "message": "first"}, {"who": ada.name, "message": "second"}]
                assert told == {"history": said}, told
            else:  # PostgreSQL's ACCESS EXCLUSIVE lock holds readers too
                assert told["history"] is None and "unavailable" in told["error"], told
            await ada.close()
            while (event := json.loads(await asyncio.wait_for(cat.recv(), 30))).get("event") != "left":
                pass
            assert event == {"who": ada.name, "event": "left"}
        await bob.close(), await cat.close()
    assert not [line for line in server.logs if "Traceback" in line], "\n".join(server.logs[-30:])


async def test_the_commands_apply_the_rooms_limits_and_the_worker_survives_bad_jobs(shared_by_processes):
    """announce and summarize apply the room's rules; bad jobs cost the worker nothing, nor the job after them."""
    from channels_redis.core import RedisChannelLayer

    database, env = shared_by_processes
    too_big = manage("announce", "garden", "x" * 5000, env=env)
    assert too_big.returncode != 0 and "too large for a room" in too_big.stderr, too_big.stderr
    bad_room = manage("summarize", "no room!", env=env)
    assert bad_room.returncode != 0 and "not a room name" in bad_room.stderr, bad_room.stderr
    assert database.stored() == []
    with (
        serve_echo_project(env, name="history: limits") as server,
        serve_echo_worker("room-summary", env=env, name="history: sturdy worker") as worker,
    ):
        ada = await join(server, "garden")
        layer = RedisChannelLayer(hosts=[env["REDIS_URL"]])
        for bad in [
            {"type": "room.summary"},
            {"type": "room.summary", "room": "no room!"},
            {"type": "room.summary", "room": 5},
        ]:
            await layer.send("room-summary", bad)
        await layer.send("room-summary", {"type": "room.summary", "room": "garden"})  # right after the bad ones
        assert await next_message(ada, timeout=30) == {"who": "summary", "message": {"messages": 0, "members": 0}}
        assert worker.running
        await ada.close()


async def test_a_burst_of_200_newcomers_each_gets_the_rooms_history(database):
    """Every open page reconnects at once after a server restart: each newcomer reads the history, none is told it
    is unavailable. (With a new database connection per read, on one reading thread, about half of them were.)"""
    with serve_echo_project({"DATABASE_URL": database.url}, name="newcomers' burst") as server:
        speaker = await join(server, "burst")
        await speaker.send(json.dumps("before the burst"))
        assert (await next_message(speaker))["message"] == "before the burst"
        deadline = asyncio.get_running_loop().time() + 30
        while not database.stored() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)

        async def newcomer():
            async with connect_ws(server.ws_url("chamber/burst/"), open_timeout=60) as member:
                await asyncio.wait_for(member.recv(), 60)  # the welcome
                return json.loads(await asyncio.wait_for(member.recv(), 60))

        told = await asyncio.gather(*(newcomer() for _ in range(200)))
        await speaker.close()
    unavailable = [entry for entry in told if entry.get("history") is None]
    assert unavailable == [], f"{len(unavailable)} of 200 newcomers were told {unavailable[0]}"
    assert all(entry["history"][-1]["message"] == "before the burst" for entry in told)
