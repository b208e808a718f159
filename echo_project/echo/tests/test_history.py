"""Rooms that remember: history stored with the ORM, read back on joining, against a real server.

Each test serves echo_project with uvicorn in a child process on a SQLite file of its own,
migrated first as `manage.py migrate` does it.
"""

import asyncio
import json
import sqlite3
import subprocess
import sys
import time

import pytest

from workshop import ECHO_PROJECT, connect_ws, serve_echo_project


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "echo.sqlite3"
    url = f"sqlite:///{path}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ECHO_PROJECT, check=True,
                   env={**__import__("os").environ, "DATABASE_URL": url})
    return path, url


def stored(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT room, who, message FROM echo_message ORDER BY id").fetchall()


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
    path, url = database
    with serve_echo_project({"DATABASE_URL": url}, name="history: first life") as server:
        ada = await join(server, "garden")
        assert ada.history == []
        for text in ["one", "two", None]:
            await ada.send(json.dumps({"ch": text} if text else None))
            await next_message(ada)
        eve = await join(server, "cellar")
        await eve.send(json.dumps("secret"))
        await next_message(eve)
        await ada.close(), await eve.close()
    with serve_echo_project({"DATABASE_URL": url}, name="history: second life") as server:
        bob = await join(server, "garden")
        assert bob.history == [{"who": ada.name, "message": {"ch": "one"}},
                               {"who": ada.name, "message": {"ch": "two"}},
                               {"who": ada.name, "message": None}]
        cat = await join(server, "cellar")
        assert cat.history == [{"who": eve.name, "message": "secret"}]
        await bob.close(), await cat.close()


async def test_history_holds_the_last_twenty_oldest_first(database):
    path, url = database
    with serve_echo_project({"DATABASE_URL": url}, name="history: twenty") as server:
        ada = await join(server, "long")
        for n in range(25):
            await ada.send(json.dumps(n))
            await next_message(ada)
        bob = await join(server, "long")
        assert bob.history == [{"who": ada.name, "message": n} for n in range(5, 25)]
        await ada.close(), await bob.close()


async def test_bad_input_is_never_stored(database):
    path, url = database
    with serve_echo_project({"DATABASE_URL": url}, name="history: bad input") as server:
        ada = await join(server, "garden")
        for bad in ["{oops", "NaN", '{"x": Infinity}', "1e400", "[" * 5000 + "]" * 5000]:
            await ada.send(bad)
            assert "error" in await next_message(ada), bad
        await ada.send(b"\x00binary")
        assert "error" in await next_message(ada)
        await ada.send(json.dumps("fine"))
        assert (await next_message(ada))["message"] == "fine"
        await ada.close()
    assert [message for _, _, message in stored(path)] == ['"fine"']


async def test_a_slow_database_never_stalls_the_other_members(database):
    """While another connection holds SQLite's write lock, members still hear each other at once."""
    path, url = database
    with serve_echo_project({"DATABASE_URL": url}, name="history: slow database") as server:
        ada, bob = await join(server, "garden"), await join(server, "garden")
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # every write of the server now waits (Django's default: up to 5 s)
        try:
            started = time.monotonic()
            await ada.send(json.dumps("first"))
            assert (await next_message(bob, timeout=1.0))["message"] == "first"
            assert (await next_message(ada, timeout=1.0))["message"] == "first"  # her own, while it is stored
            await bob.send(json.dumps("second"))
            assert (await next_message(ada, timeout=1.0))["message"] == "second"
            assert time.monotonic() - started < 1.0
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        await ada.close(), await bob.close()
    assert [message for _, _, message in stored(path)] == ['"first"', '"second"']  # stored once the lock went
