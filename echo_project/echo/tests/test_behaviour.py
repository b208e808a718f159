"""One behaviour suite, run against the stock consumers (echo/consumers.py) and the tuned ones (echo/tuned.py).

Echo, errors, 1009, rooms, presence, back-pressure and clean-up, through Channels'
``WebsocketCommunicator`` (no server: tests/test_attacks.py attacks a real uvicorn).
"""

import asyncio
import json
import re

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import re_path

from echo import consumers, history, tuned

# Rooms read and store their history in the database, from other threads than the test's: pytest-django's
# test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)


FLAVOURS = {
    "stock": (consumers.EchoChamberConsumer, consumers.ChamberConsumer),
    "tuned": (tuned.TunedEchoChamberConsumer, tuned.TunedChamberConsumer),
}


@pytest.fixture(params=FLAVOURS)
def app(request):
    echo, chamber = FLAVOURS[request.param]
    return URLRouter(
        [re_path(r"^echo/$", echo.as_asgi()), re_path(r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$", chamber.as_asgi())]
    )


@pytest.fixture(autouse=True)
async def empty_layer():
    yield
    await get_channel_layer().flush()  # the in-memory layer outlives each test's event loop


async def echo(app):
    communicator = WebsocketCommunicator(app, "/echo/")
    assert (await communicator.connect())[0]
    return communicator


async def join(app, room="lobby", communicator_class=WebsocketCommunicator):
    member = communicator_class(app, f"/chamber/{room}/")
    assert (await member.connect())[0]
    welcome = await member.receive_json_from(timeout=5)
    member.name, member.members = welcome["you"], welcome["members"]
    member.history = (await member.receive_json_from(timeout=5))["history"]
    assert await member.receive_json_from(timeout=5) == {"who": member.name, "event": "joined"}
    return member


async def until(condition, timeout=10.0):
    """Wait until ``condition()`` holds (a busy machine can be slow), or fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def members(room="lobby"):
    return set(get_channel_layer().groups.get(f"chamber.{room}", {}))


# --- echo and errors ---


@pytest.mark.parametrize(
    "value", [{"ch": "x"}, [1, "two", None, 2.5], "text", 12345678901234567890, {}, 2**64 - 1, -(2**63), "\U0001f600"]
)
async def test_echoes_any_json_value(app, value):
    client = await echo(app)
    await client.send_to(text_data=json.dumps(value))
    assert json.loads(await client.receive_from()) == value
    await client.disconnect()


BAD_INPUT = {
    "not JSON": ("{oops", "invalid JSON"),
    "NaN": ('{"x": NaN}', "NaN is not a JSON number"),
    "Infinity": ("[-Infinity]", "-Infinity is not a JSON number"),
    "out of range": ('{"x": 1e400}', "1e400 is out of range"),
    "deep, parsable": ("[" * 40 + "]" * 40, "nested deeper than 32 levels"),
    "deep, beyond the parser's stack": ("[" * 5000 + "]" * 5000, "nested deeper than 32 levels"),
    "NUL": ('{"ch": "\\u0000"}', "\\u0000 (NUL) is not text"),
    "NUL in a key": ('{"\\u0000": 1}', "\\u0000 (NUL) is not text"),
    "lone surrogate": ('["\\ud800"]', "a lone surrogate (\\ud800) is not text"),
    "beyond 64 bits": (str(2**64), "18446744073709551616 is beyond 64 bits"),
    "below 64 bits": (str(-(2**63) - 1), "-9223372036854775809 is beyond 64 bits"),
}


@pytest.mark.parametrize("text, error", BAD_INPUT.values(), ids=BAD_INPUT)
async def test_bad_input_gets_an_error_and_the_connection_stays_open(app, text, error):
    client = await echo(app)
    await client.send_to(text_data=text)
    reply = await client.receive_from()
    assert error in json.loads(reply)["error"]
    await client.send_json_to({"ch": "a"})
    assert await client.receive_json_from() == {"ch": "a"}
    await client.disconnect()


async def test_nesting_up_to_the_limit_echoes(app):
    client = await echo(app)
    deep = "[" * 32 + "]" * 32
    await client.send_to(text_data=deep)
    assert await client.receive_from() == deep
    await client.disconnect()


async def test_a_binary_frame_gets_an_error(app):
    client = await echo(app)
    await client.send_to(bytes_data=b"\x00")
    assert "binary" in (await client.receive_json_from())["error"]
    await client.disconnect()


@override_settings(ECHO_MAX_MESSAGE_BYTES=100)
async def test_a_frame_over_the_limit_closes_with_1009(app):
    client = await echo(app)
    await client.send_json_to({"ch": "x" * 200})
    closing = await client.receive_output()
    assert (closing["type"], closing["code"]) == ("websocket.close", 1009)


# --- rooms and presence ---


async def test_rooms_presence_and_separation(app):
    ada, bob = await join(app), await join(app)
    eve = await join(app, "elsewhere")
    assert await ada.receive_json_from() == {"who": bob.name, "event": "joined"}
    # 48 random bits: two of 1,000 members share a name with odds of about 2 in a billion
    assert all(re.fullmatch(r"guest-[0-9a-f]{12}", member.name) for member in (ada, bob, eve))
    await ada.send_json_to({"ch": "x"})
    for member in (ada, bob):
        assert await member.receive_json_from() == {"who": ada.name, "message": {"ch": "x"}}
    assert await eve.receive_nothing(timeout=0.1)
    await bob.disconnect()
    assert await ada.receive_json_from() == {"who": bob.name, "event": "left"}
    for member in (ada, eve):
        await member.disconnect()
    assert members() == set() and members("elsewhere") == set()


async def test_bad_input_in_a_room_is_answered_to_its_sender_only(app):
    ada, bob = await join(app), await join(app)
    await ada.receive_json_from()  # bob joined
    await bob.send_to(text_data="[" * 2000 + "]" * 2000)
    assert "nested deeper" in (await bob.receive_json_from())["error"]
    await bob.send_to(text_data="NaN")
    assert "NaN" in (await bob.receive_json_from())["error"]
    assert await ada.receive_nothing(timeout=0.1)
    await bob.send_json_to({"ch": "y"})
    assert (await ada.receive_json_from())["message"] == {"ch": "y"}
    await ada.disconnect()
    await bob.disconnect()


# --- clean-up: the room is told "left", and the group is empty, however the connection ends ---


async def test_a_crash_in_a_handler_closes_that_connection_only_and_it_leaves(app):
    ada = await join(app)
    before = members()
    bob = await join(app)
    (bobs_channel,) = members() - before
    await ada.receive_json_from()  # bob joined
    await get_channel_layer().send(bobs_channel, {"type": "chamber.message"})  # no "who": a KeyError
    closing = await bob.receive_output()
    assert (closing["type"], closing["code"]) == ("websocket.close", 1011)
    await bob.disconnect(code=1011)
    assert await ada.receive_json_from() == {"who": bob.name, "event": "left"}
    await ada.send_json_to({"ch": "still here"})
    assert (await ada.receive_json_from())["message"] == {"ch": "still here"}
    await ada.disconnect()
    assert members() == set()


async def test_a_cancelled_consumer_leaves(app):
    ada, bob = await join(app), await join(app)
    await ada.receive_json_from()  # bob joined
    bob.future.cancel()
    assert await ada.receive_json_from(timeout=10) == {"who": bob.name, "event": "left"}
    assert len(members()) == 1
    await ada.disconnect()
    assert members() == set()


class GoneClient(WebsocketCommunicator):
    """A client whose connection is gone: the server's send raises, as uvicorn's does (an OSError)."""

    gone = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        real_send = self.output_queue.put

        async def send(message):
            if self.gone:
                raise OSError("client disconnected")
            await real_send(message)

        self.output_queue.put = send


async def test_a_send_to_a_gone_client_is_not_an_error_and_it_leaves(app):
    ada, bob = await join(app), await join(app, communicator_class=GoneClient)
    await ada.receive_json_from()  # bob joined
    bob.gone = True
    await ada.send_json_to({"ch": "x"})  # bob's consumer sends it to a gone client
    assert (await ada.receive_json_from())["message"] == {"ch": "x"}
    await asyncio.sleep(0.05)
    assert not bob.future.done(), "no exception escaped the consumer"
    await bob.send_input({"type": "websocket.disconnect", "code": 1006})
    assert await ada.receive_json_from() == {"who": bob.name, "event": "left"}
    await ada.disconnect()
    assert members() == set()


# At the shipped capacity: a watcher reading at full speed must see every "joined" and "left".
async def test_churn_leaves_no_ghost(app):
    watcher = await join(app)
    talker = await join(app)
    await watcher.receive_json_from()  # talker joined
    joined, left = [], []

    async def watch():  # reads all along: a watcher that fell behind would see the layer drop events
        while True:
            event = json.loads(await watcher.receive_from(timeout=5))
            {"joined": joined, "left": left}.get(event.get("event"), []).append(event["who"])

    async def member(n):
        guest = await join(app)
        await guest.send_json_to({"n": n})
        if n % 3 == 0:
            guest.future.cancel()  # a consumer cancelled mid-stream
        else:
            await guest.disconnect()

    watching = asyncio.create_task(watch())
    for batch in range(0, 200, 20):
        await asyncio.gather(*(member(n) for n in range(batch, batch + 20)), talker.send_json_to({"b": batch}))
    await until(lambda: len(left) >= 200)
    assert not watching.done(), watching.exception()
    watching.cancel()
    assert len(joined) == 200 and sorted(joined) == sorted(left), "every joined was followed by a left"
    assert len(members()) == 2
    for survivor in (watcher, talker):
        await survivor.disconnect()
    assert members() == set()


# --- back-pressure: at most one message per source out and not yet handled, as in stock Channels ---


def stalling(app, gate: asyncio.Event):
    """``app`` whose sends to the client wait for ``gate`` once it is cleared: a member that does not read."""

    async def stalled_app(scope, receive, send):
        async def gated_send(message):
            await gate.wait()
            await send(message)

        return await app(scope, receive, gated_send)

    return stalled_app


async def test_a_slow_member_gets_the_layers_capacity_and_a_sender_that_never_reads_is_not_read(app):
    gate = asyncio.Event()
    gate.set()
    slow = await join(stalling(app, gate))
    gate.clear()  # from now on, slow's consumer cannot send: it is stuck on the first message
    layer = get_channel_layer()
    for n in range(layer.capacity + 50):
        await layer.group_send("chamber.lobby", {"type": "chamber.message", "who": "layer", "message": n})
    for n in range(10):
        await slow.send_json_to({"n": n})
    await until(lambda: slow.input_queue.qsize() < 10)
    await asyncio.sleep(0.1)  # time to read more, if it did
    assert slow.input_queue.qsize() == 9, "one message read from the client, the rest left to flow control"
    gate.set()
    received = []
    while not await slow.receive_nothing(timeout=1):
        received.append(await slow.receive_json_from())
    from_layer = [event["message"] for event in received if event.get("who") == "layer"]
    # one being handled when the layer filled up, plus the layer's capacity; the rest dropped by group_send
    assert from_layer == list(range(layer.capacity + 1))
    await slow.disconnect()


async def test_a_newcomer_is_told_who_is_in_the_room_even_when_events_were_dropped(app):
    """The snapshot on joining heals what a full channel lost: a "joined" whose "left" was dropped."""
    gate = asyncio.Event()
    gate.set()
    stalled = await join(stalling(app, gate))
    stayer = await join(app)
    assert stayer.members == sorted([stalled.name, stayer.name])
    gate.clear()  # the stalled member reads no more: its channel fills up, then the layer drops its events
    layer = get_channel_layer()
    for n in range(layer.capacity + 1):
        await layer.group_send("chamber.lobby", {"type": "chamber.message", "who": "layer", "message": n})
    guests = [await join(app) for _ in range(5)]
    for guest in guests:
        await guest.disconnect()
    newcomer = await join(app)
    assert newcomer.members == sorted([stalled.name, stayer.name, newcomer.name]), "no guest, every member"
    gate.set()
    heard = []
    while not await stalled.receive_nothing(timeout=1):
        heard.append(await stalled.receive_json_from())
    about_guests = [event for event in heard if event.get("who") in {guest.name for guest in guests}]
    assert about_guests == [], "the guests' presence events were dropped for the stalled member"
    for member in (stalled, stayer, newcomer):
        await member.disconnect()
    assert members() == set() and consumers.PRESENT == {}


async def test_leaving_survives_layer_errors_and_retries(app, monkeypatch, caplog):
    """A layer that fails (Redis restarting): leave() retries group_discard and group_send; the room hears "left"."""
    ada, bob = await join(app), await join(app)
    await ada.receive_json_from()  # bob joined
    layer = get_channel_layer()
    failures = {"group_discard": 2, "group_send": 2}
    for method in failures:
        real = getattr(layer, method)

        async def flaky(*args, method=method, real=real):
            if failures[method]:
                failures[method] -= 1
                raise ConnectionError(f"{method}: the layer is down")
            return await real(*args)

        monkeypatch.setattr(layer, method, flaky)
    await bob.disconnect()
    assert await ada.receive_json_from(timeout=10) == {"who": bob.name, "event": "left"}
    assert failures == {"group_discard": 0, "group_send": 0} and len(members()) == 1
    assert "Task exception was never retrieved" not in caplog.text
    await ada.disconnect()
    assert members() == set() and consumers.PRESENT == {}


async def test_members_hear_messages_in_the_order_of_their_numbers(app):
    """Sends that crossed on their way (with Redis, two senders take their numbers, then send) reach every member in
    the order of their numbers, the history's order; one that never comes holds those after it ``REORDER_WAIT`` at
    most, and one that comes after its wait is over is passed on late, not lost."""
    member = await join(app, "ordered")
    _, current = await history.current_seq("ordered")
    layer = get_channel_layer()

    async def said(*numbers):
        for n in numbers:
            event = {"type": "chamber.message", "who": "layer", "message": n, "seq": current + n}
            await layer.group_send("chamber.ordered", event)

    async def heard(count):
        return [(await member.receive_json_from(timeout=5))["message"] for _ in range(count)]

    await said(2, 3, 1, 4)
    assert await heard(4) == [1, 2, 3, 4]
    await said(7, 6)  # 5 never comes, then comes late
    assert await member.receive_nothing(timeout=consumers.REORDER_WAIT / 2), "held while 5 may still come"
    assert await heard(2) == [6, 7]
    await said(5, 8)
    assert await heard(2) == [5, 8]
    await member.disconnect()
