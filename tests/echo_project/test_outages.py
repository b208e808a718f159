"""Redis killed, then restarted, under a real uvicorn serving echo_project as the README runs it.

The rooms' channel layer is Redis: while it is down, the room's members are closed with 1011 and a
reason (not dropped without a close frame, 1006), a join is closed with 1013 and a reason (not an HTTP
500), and the echo, which needs no channel layer, serves a bystander throughout. Once Redis is back,
every join is welcomed at once (a burst of them too) and members talk again, and the server's log
holds no traceback and no "Task exception was never retrieved". A Redis that hangs (SIGSTOP) is handled as
one that is down, after ECHO_LAYER_TIMEOUT; and a consumer that ends just as it popped another consumer's
message loses it no more (echo/layers.py). Stock and tuned consumers, at the shipped settings.
"""

import asyncio
import contextlib
import json
import os
import signal

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import require_redis_server
from workshop import connect_ws, serve_echo_project
from workshop.redis_server import serve_redis

MEMBERS = 20


@pytest.fixture(autouse=True)
def redis_server_installed():
    require_redis_server()


async def serve_a_bystander(server, served: list, done: asyncio.Event):
    """Echo on `echo/` all along, one round trip after another; ``served`` counts them."""
    async with connect_ws(server.ws_url("echo/")) as ws:
        while not done.is_set():
            await ws.send(json.dumps({"n": len(served)}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"n": len(served)}
            served.append(True)
            await asyncio.sleep(0.01)  # a person typing, not a flood: the round trips go on all along


async def join(server, room: str):
    member = await connect_ws(server.ws_url(f"chamber/{room}/")).__aenter__()
    member.name = json.loads(await asyncio.wait_for(member.recv(), 10))["you"]
    return member


async def how_it_closed(member) -> tuple:
    """Read until the connection closes; return its close code and reason (None for no close frame: 1006)."""
    try:
        while True:
            await member.recv()
    except ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "no close frame")


async def kill_and_restart_redis(flavour):
    redis = serve_redis(name=f"outages ({flavour}): redis")
    port = redis.port
    env = {"REDIS_URL": redis.redis_url, "ECHO_CONSUMERS": flavour}
    try:
        with serve_echo_project(env, name=f"outages ({flavour})") as server:
            served, done = [], asyncio.Event()
            bystander = asyncio.create_task(serve_a_bystander(server, served, done))
            # Joining and speaking at once: the layer's pool then holds several connections, idle at the kill.
            members = await asyncio.gather(*(join(server, "outage") for _ in range(MEMBERS)))
            endings = [asyncio.create_task(how_it_closed(member)) for member in members]
            await asyncio.gather(*(member.send(json.dumps(f"hello from {member.name}")) for member in members))
            await asyncio.sleep(1)  # what they said goes round (a room at rest, not a race with the kill)

            os.kill(redis.pid, signal.SIGKILL)  # Redis is killed
            redis.stop()
            closes = await asyncio.wait_for(asyncio.gather(*endings), 60)
            served_when_all_closed = len(served)

            refusal = None
            try:
                await join(server, "outage")
            except ConnectionClosed as refused:
                refusal = (refused.rcvd.code, refused.rcvd.reason) if refused.rcvd else None
            except InvalidStatus as status:  # a refused handshake: an HTTP status instead of a close
                refusal = status.response.status_code
            async with connect_ws(server.ws_url("echo/")) as newcomer:  # a new echo, during the outage
                await newcomer.send(json.dumps("still here"))
                echoed = json.loads(await asyncio.wait_for(newcomer.recv(), 10))
            while len(served) < served_when_all_closed + 3 and not bystander.done():
                await asyncio.sleep(0.01)  # the bystander goes on meanwhile, or has failed (its error is raised below)
            served_during_outage = len(served) - served_when_all_closed

            redis = serve_redis(name=f"outages ({flavour}): redis again", port=port)  # Redis is back
            # From now on no join is refused: the connections the layer's pool kept from before the kill are
            # stale, and each must be replaced when next used, not fail the join (a burst, as the pages
            # that were closed come back).
            comeback = await asyncio.gather(*(join(server, "back") for _ in range(MEMBERS)), return_exceptions=True)
            refused_after = [repr(member) for member in comeback if isinstance(member, BaseException)]
            for member in comeback:
                if not isinstance(member, BaseException):
                    await member.close()
            ada, bob = await join(server, "outage"), await join(server, "outage")
            await ada.send(json.dumps("we are back"))
            while "message" not in (heard := json.loads(await asyncio.wait_for(bob.recv(), 10))):
                pass  # the history, presence (ada's "joined" may come after bob joined)
            await ada.close(), await bob.close()
            done.set()
            await asyncio.wait_for(bystander, 30)
            logs = server.logs
    finally:
        redis.stop()
    return closes, refusal, echoed, served_during_outage, refused_after, heard, ada.name, logs


@pytest.mark.parametrize("flavour", ["stock", "tuned"])
def test_redis_killed_and_restarted_closes_with_codes_refuses_joins_and_the_echo_serves_throughout(flavour):
    closes, refusal, echoed, served_during_outage, refused_after, heard, ada, logs = asyncio.run(
        asyncio.wait_for(kill_and_restart_redis(flavour), 240)
    )
    assert closes == [(1011, "the server lost its channel layer: reconnect")] * MEMBERS, closes
    assert refusal == (1013, "the server lost its channel layer: try later"), refusal
    assert echoed == "still here", "a new echo connection is served while Redis is down"
    assert served_during_outage > 0, "the bystander's echo went on while Redis was down"
    assert refused_after == [], "once Redis is back, every join is welcomed"
    assert heard == {"who": ada, "message": "we are back"}, "members who reconnected talk again"
    problems = [
        line
        for line in logs
        if "Traceback" in line or "never retrieved" in line or " 500" in line or "Exception in ASGI" in line
    ]
    assert problems == [], "\n".join(logs[-40:])
    assert any("the channel layer failed" in line for line in logs), "the failure is logged, in one line each"


async def redis_hung_then_back(flavour):
    with serve_redis(name=f"hung ({flavour}): redis") as redis:
        env = {"REDIS_URL": redis.redis_url, "ECHO_CONSUMERS": flavour}
        with serve_echo_project(env, name=f"hung ({flavour})") as server:
            served, done = [], asyncio.Event()
            bystander = asyncio.create_task(serve_a_bystander(server, served, done))
            ada, bob = await join(server, "hung"), await join(server, "hung")
            ending = asyncio.create_task(how_it_closed(ada))
            os.kill(redis.pid, signal.SIGSTOP)  # Redis hangs: connections stay open, nothing answers
            served_before = len(served)
            try:
                await ada.send(json.dumps("anyone there?"))
                close = await asyncio.wait_for(ending, 60)
                async with connect_ws(server.ws_url("chamber/hung/"), open_timeout=60) as newcomer:
                    refusal = await asyncio.wait_for(how_it_closed(newcomer), 60)
                served_during_hang = len(served) - served_before
            finally:
                os.kill(redis.pid, signal.SIGCONT)
            carol, dave = await join(server, "after"), await join(server, "after")
            await carol.send(json.dumps("back"))
            while "message" not in (heard := json.loads(await asyncio.wait_for(dave.recv(), 30))):
                pass  # the history, presence
            await carol.close(), await dave.close(), await bob.close()
            done.set()
            await asyncio.wait_for(bystander, 30)
            return close, refusal, served_during_hang, heard, carol.name, server.logs


@pytest.mark.parametrize("flavour", ["stock", "tuned"])
def test_a_hung_redis_closes_speakers_refuses_joins_and_the_echo_serves_throughout(flavour):
    """Redis stopped (SIGSTOP), not gone: every layer call gives up after ECHO_LAYER_TIMEOUT, as when Redis is down."""
    close, refusal, served_during_hang, heard, carol, logs = asyncio.run(
        asyncio.wait_for(redis_hung_then_back(flavour), 180)
    )
    assert close == (1011, "the server lost its channel layer: reconnect"), close
    assert refusal == (1013, "the server lost its channel layer: try later"), refusal
    assert served_during_hang > 0, "the bystander's echo went on while Redis hung"
    assert heard == {"who": carol, "message": "back"}, "once Redis answers again, rooms talk again"
    problems = [line for line in logs if "Traceback" in line or "never retrieved" in line or " 500" in line]
    assert problems == [], "\n".join(logs[-40:])


@pytest.mark.parametrize("next_receive", ["at once", "after the pop is over"])
async def test_a_receive_cancelled_while_it_holds_another_consumers_message_loses_nothing(next_receive):
    """A consumer that ends (its receive cancelled) just after it popped a message for another consumer of its process:
    the message still reaches its receiver (echo.layers.RedisChannelLayer; channels_redis alone loses it)."""
    from echo.layers import RedisChannelLayer

    popped, go_on = asyncio.Event(), asyncio.Event()

    class SlowAfterPopping(RedisChannelLayer):
        """Holds the moment between BZPOPMIN's answer and the backup copy (a round trip to Redis) open."""

        def connection(self, index):
            client = super().connection(index)
            if not hasattr(client, "real_bzpopmin"):
                client.real_bzpopmin = client.bzpopmin

                async def bzpopmin(*args, **kwargs):
                    answer = await client.real_bzpopmin(*args, **kwargs)
                    if answer is not None:
                        popped.set()
                        await go_on.wait()
                    return answer

                client.bzpopmin = bzpopmin
            return client

    with serve_redis(name="cancelled receive") as redis:
        layer = SlowAfterPopping(hosts=[redis.redis_url])
        leaving, staying = await layer.new_channel(), await layer.new_channel()
        receiving = asyncio.ensure_future(layer.receive(leaving))  # the only receiver: it pops for the process
        await layer.send(staying, {"type": "chamber.presence", "who": "ada", "event": "left"})
        await asyncio.wait_for(popped.wait(), 10)
        receiving.cancel()  # its consumer ended, holding the message for `staying`
        go_on.set()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
        if next_receive != "at once":  # the pop is over before anyone receives: what it popped waits for them
            for _ in range(200):
                if layer.abandoned_pop.done():
                    break
                await asyncio.sleep(0.05)
            assert layer.abandoned_pop.done()
        message = await asyncio.wait_for(layer.receive(staying), 10)
        assert message == {"type": "chamber.presence", "who": "ada", "event": "left"}
        await layer.flush()


async def sigterm_while_redis_hangs(record: list):
    with serve_redis(name="sigterm: redis") as redis:
        with serve_echo_project({"REDIS_URL": redis.redis_url}, name="sigterm while redis hangs") as server:
            ada, bob = await join(server, "hung"), await join(server, "hung")
            os.kill(redis.pid, signal.SIGSTOP)
            try:
                await ada.close()  # her leave waits on Redis, retrying
                await bob.send(json.dumps("anyone?"))  # his message waits on Redis too
                os.kill(server.pid, signal.SIGTERM)
                await asyncio.to_thread(server.process.wait, 60)
                record.append("the server stopped on SIGTERM")
            finally:
                os.kill(redis.pid, signal.SIGCONT)
                record.append("Redis answers again")
            return server.logs


def test_sigterm_stops_the_server_while_redis_hangs():
    """A leave retrying on a Redis that hangs must not hold the server up: uvicorn's --timeout-graceful-shutdown (the
    README's command) cancels what is still running, before Redis answers again."""
    record = []
    logs = asyncio.run(asyncio.wait_for(sigterm_while_redis_hangs(record), 120))
    assert record == ["the server stopped on SIGTERM", "Redis answers again"]
    assert [line for line in logs if "Finished server process" in line], logs[-20:]
