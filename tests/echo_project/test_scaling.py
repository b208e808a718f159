"""Two server processes share a room only through Redis, and leave nothing running."""

import asyncio
import json
import os
import signal

import pytest

from echo import presence
from tests.helpers import live_group_members, port_is_free, require_redis_server
from workshop import connect_ws, serve_echo_project
from workshop.redis_server import serve_redis

require_redis_server(allow_module_level=True)


def workers(env: dict) -> list:
    return [serve_echo_project(env, name=f"worker {n}") for n in (1, 2)]


async def message_crosses(first, second, timeout=3.0, quiet=0.0) -> bool:
    """Ada joins a room on the first worker, Bob on the second; does Bob see Ada's key?

    ``quiet``: seconds the room stays silent before Ada types, as a real room often does.
    """
    async with connect_ws(first.ws_url("chamber/lobby/")) as ada, connect_ws(second.ws_url("chamber/lobby/")) as bob:
        for client in (ada, bob):
            await client.recv()  # {"you": ...}
        await asyncio.sleep(quiet)
        await ada.send(json.dumps({"ch": "x"}))
        try:
            while True:  # skip presence events until the letter, or time out
                event = json.loads(await asyncio.wait_for(bob.recv(), timeout))
                if "message" in event:
                    return event["message"] == {"ch": "x"}
        except asyncio.TimeoutError:
            return False


@pytest.mark.parametrize("layer", ["core", "pubsub"])
def test_a_group_message_crosses_processes_through_redis(layer):
    redis = serve_redis(name="redis for scaling test")
    servers = [redis, *workers({"REDIS_URL": redis.redis_url, "REDIS_LAYER": layer})]
    try:
        assert asyncio.run(message_crosses(servers[1], servers[2]))
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        assert live_group_members(server.pid) == [] and port_is_free(server.port)


def test_with_the_in_memory_layer_it_does_not_cross():
    first, second = workers({"REDIS_URL": ""})
    with first, second:
        assert asyncio.run(message_crosses(first, second, timeout=1.0)) is False
    assert port_is_free(first.port) and port_is_free(second.port)


@pytest.mark.parametrize("layer", ["core", "pubsub"])
def test_a_room_that_stays_quiet_longer_than_redis_clients_time_out_still_works(layer):
    """redis-py 8 times socket reads out after 5 s by default, and a layer's receive blocks on Redis longer
    than that when nothing happens: with that default, every member was dropped after 5 s of quiet
    (django/channels_redis#422). echo_project's settings turn the client-side timeout off."""
    redis = serve_redis(name="redis for the quiet room")
    servers = [redis, *workers({"REDIS_URL": redis.redis_url, "REDIS_LAYER": layer})]
    try:
        assert asyncio.run(message_crosses(servers[1], servers[2], quiet=6.5))
        for server in servers[1:]:
            assert not [line for line in server.logs if "Timeout reading" in line], server.name
    finally:
        for server in servers:
            server.stop()


async def snapshot(server, room: str) -> tuple:
    """A newcomer's name and the members it is told, on ``server``; it leaves at once."""
    async with connect_ws(server.ws_url(f"chamber/{room}/")) as newcomer:
        welcome = json.loads(await asyncio.wait_for(newcomer.recv(), 10))
    return welcome["you"], welcome["members"]


async def members_across_processes(first, second) -> list:
    """What newcomers are told, as members come and go on two processes, and one process dies without a word."""
    told = []
    async with connect_ws(first.ws_url("chamber/two/")) as ada, connect_ws(second.ws_url("chamber/two/")) as bob:
        names = {"ada": json.loads(await ada.recv())["you"], "bob": json.loads(await bob.recv())["you"]}
        you, members = await snapshot(first, "two")
        told.append(members == sorted([names["ada"], names["bob"], you]))
        await bob.close()
        for _ in range(100):  # bob's leave is under way in its process
            you, members = await snapshot(first, "two")
            if names["bob"] not in members:
                break
            await asyncio.sleep(0.1)
        told.append(members == sorted([names["ada"], you]))
        erin = await connect_ws(second.ws_url("chamber/two/")).__aenter__()
        names["erin"] = json.loads(await erin.recv())["you"]
        you, members = await snapshot(first, "two")
        told.append(members == sorted([names["ada"], names["erin"], you]))
        os.kill(second.pid, signal.SIGKILL)  # erin's process dies: it cannot say she left
        deadline = asyncio.get_running_loop().time() + presence.PROCESS_TTL + 30
        while asyncio.get_running_loop().time() < deadline:
            you, members = await snapshot(first, "two")
            if names["erin"] not in members:
                break
            await asyncio.sleep(1)
        told.append(members == sorted([names["ada"], you]))
    return told


def test_a_newcomer_is_told_the_members_of_every_process_and_not_those_of_a_process_that_died():
    redis = serve_redis(name="redis for presence across processes")
    first, second = workers({"REDIS_URL": redis.redis_url})
    try:
        with redis, first, second:
            told = asyncio.run(asyncio.wait_for(members_across_processes(first, second), 120))
    finally:
        second.stop()
    assert told == [True, True, True, True], "both processes' members; bob gone; erin in; erin's process gone"
