"""The commands (`manage.py announce`, `summarize`) and the worker (`manage.py runworker room-summary`), for real.

Each test runs the commands as a shell would, in processes of their own, against a real uvicorn
serving echo_project and a real Redis, on a migrated SQLite file of its own.
"""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import require_redis_server
from workshop import ECHO_PROJECT, connect_ws, serve_echo_project, serve_echo_worker
from workshop.redis_server import serve_redis


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` for echo_project (an argument may be bytes, as a shell may pass)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ECHO_PROJECT, env={**os.environ, **env}, capture_output=True
    )


def said(done: subprocess.CompletedProcess) -> str:
    return (done.stdout + done.stderr).decode("utf-8", "replace")


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "echo.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    assert manage("migrate", "--verbosity", "0", env=env).returncode == 0

    def stored():
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT room, message FROM echo_message ORDER BY id")
            return [(room, json.loads(message)) for room, message in rows]

    return env, stored


@pytest.fixture
def redis():
    require_redis_server()
    with serve_redis(name="commands: redis") as redis:
        yield redis


async def join(server, room):
    member = await connect_ws(server.ws_url(f"chamber/{room}/")).__aenter__()
    assert "you" in json.loads(await asyncio.wait_for(member.recv(), 10))
    return member


async def next_message(member, timeout=10):
    """The next message said in the room (not the history, not presence)."""
    while "message" not in (event := json.loads(await asyncio.wait_for(member.recv(), timeout))):
        pass
    return event


def test_announce_applies_the_rooms_limits_and_checks(database, redis):
    env, stored = database
    env = {**env, "REDIS_URL": redis.redis_url}
    refusals = {
        "a room name": (("announce", "no room!", "x"), "not a room name"),
        "4 KiB": (("announce", "garden", "x" * 5000), "too large for a room: 5002 bytes, at most 4096"),
        # invalid UTF-8 in argv arrives as lone surrogates (surrogateescape), which PostgreSQL and msgpack refuse
        "a lone surrogate": (("announce", "garden", b"tea \xed\xa0\x80"), "lone surrogate"),
        "an in-memory layer": (("announce", "garden", "x"), "set REDIS_URL"),
    }
    for what, (args, error) in refusals.items():
        done = manage(*args, env={**env, "REDIS_URL": ""} if what == "an in-memory layer" else env)
        assert done.returncode == 1 and error in said(done), (what, said(done))
        assert "Traceback" not in said(done), what
    assert stored() == []


def test_announce_stores_only_what_the_room_heard_so_a_rerun_never_stores_twice(database, redis):
    """Redis down: the command says so in one line and stores nothing; run again once Redis is back, stored once."""
    env, stored = database
    env = {**env, "REDIS_URL": redis.redis_url}
    port = redis.port
    with serve_echo_project(env, name="commands: announce") as server:
        os.kill(redis.pid, signal.SIGKILL)
        redis.stop()
        failed = manage("announce", "garden", "tea is ready", env=env)
        assert failed.returncode == 1, said(failed)
        assert "the channel layer did not take it" in said(failed) and "nothing was sent or stored" in said(failed)
        assert "Traceback" not in said(failed)
        assert stored() == []
        with serve_redis(name="commands: redis again", port=port):

            async def rerun():
                ada = await join(server, "garden")
                done = await asyncio.to_thread(manage, "announce", "garden", "tea is ready", env=env)
                assert done.returncode == 0, said(done)
                heard = await next_message(ada)
                await ada.close()
                return heard

            assert asyncio.run(rerun()) == {"who": "announcer", "message": "tea is ready"}
    assert stored() == [("garden", "tea is ready")], "stored once, by the run that was heard"
    assert "only once the channel layer has taken it" in said(manage("announce", "--help", env=env))


def test_summarize_validates_the_room(database, redis):
    env, _ = database
    env = {**env, "REDIS_URL": redis.redis_url}
    for room in ("no room!", "x" * 51, "ünïcode"):
        done = manage("summarize", room, env=env)
        assert done.returncode == 1 and "not a room name" in said(done) and "Traceback" not in said(done), room
    assert manage("summarize", "garden", env=env).returncode == 0


# Jobs nobody can do: no "type" (Channels' worker stopped on it), one that is not a string or is empty,
# one with no handler or a private one (the consumer ended on it, and the job queued after it with it), bad rooms.
BAD_JOBS = [
    {"room": "garden"},
    {"type": None, "room": "garden"},
    {"type": 5, "room": "garden"},
    {"type": "", "room": "garden"},
    {"type": "room.nothing", "room": "garden"},
    {"type": "_private", "room": "garden"},
    {"type": "room.summary"},
    {"type": "room.summary", "room": "no room!"},
    {"type": "room.summary", "room": ["garden"]},
]


def test_the_worker_survives_bad_jobs_and_never_loses_the_job_after_one(database, redis):
    from channels_redis.core import RedisChannelLayer

    env, _ = database
    env = {**env, "REDIS_URL": redis.redis_url}
    with (
        serve_echo_project(env, name="commands: chamber") as server,
        serve_echo_worker("room-summary", env=env, name="commands: worker") as worker,
    ):

        async def jobs():
            ada = await join(server, "garden")
            layer = RedisChannelLayer(hosts=[redis.redis_url])
            summaries = []
            for bad in BAD_JOBS:  # each right before a good one
                await layer.send("room-summary", bad)
                await layer.send("room-summary", {"type": "room.summary", "room": "garden"})
                summaries.append(await next_message(ada, timeout=30))
            await ada.close()
            return summaries

        summaries = asyncio.run(jobs())
        assert summaries == [{"who": "summary", "message": {"messages": 0, "members": 0}}] * len(BAD_JOBS)
        assert worker.running
        logs = worker.logs
    assert not [line for line in logs if "Traceback" in line], "\n".join(logs)
    assert sum("skipped a job" in line for line in logs) == len(BAD_JOBS), "\n".join(logs)


def test_the_worker_waits_for_redis_to_come_back(database, redis):
    from channels_redis.core import RedisChannelLayer

    env, _ = database
    env = {**env, "REDIS_URL": redis.redis_url}
    port = redis.port
    with serve_echo_worker("room-summary", env=env, name="commands: patient worker") as worker:
        os.kill(redis.pid, signal.SIGKILL)
        redis.stop()
        with serve_redis(name="commands: redis back", port=port) as back:
            with serve_echo_project(env, name="commands: chamber after") as server:

                async def job():
                    ada = await join(server, "garden")
                    job = {"type": "room.summary", "room": "garden"}
                    await RedisChannelLayer(hosts=[back.redis_url]).send("room-summary", job)
                    heard = await next_message(ada, timeout=30)  # the worker tries again up to 10 s apart
                    await ada.close()
                    return heard

                assert asyncio.run(job())["who"] == "summary"
            assert worker.running
            logs = worker.logs
    assert not [line for line in logs if "Traceback" in line], "\n".join(logs)
