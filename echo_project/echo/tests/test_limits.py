"""Limits, at the shipped settings, against the stock consumers (echo/consumers.py) and the tuned ones (echo/tuned.py).

A rate limit per connection (a token bucket: ``ECHO_RATE_LIMIT`` messages a second, bursts of
``ECHO_RATE_BURST``), and a bound on how many rooms one process serves at once (``ECHO_MAX_ROOMS``),
through Channels' ``WebsocketCommunicator``. The bucket's clock is stopped, so what a test sends
arrives all at once, however slow the machine: no figure here depends on time.
"""

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import override_settings
from django.urls import re_path

from echo import consumers

from .test_behaviour import (
    FLAVOURS,
    echo,
    empty_layer,  # noqa: F401 (autouse: the in-memory layer is emptied after each test)
    join,
    members,
)

# Rooms read and store their history in the database, from other threads than the test's: pytest-django's
# test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=FLAVOURS)
def app(request):
    echo, chamber = FLAVOURS[request.param]
    return URLRouter(
        [re_path(r"^echo/$", echo.as_asgi()), re_path(r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$", chamber.as_asgi())]
    )


class StoppedClock:
    """A clock for the rate limit's buckets that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    stopped = StoppedClock()
    monkeypatch.setattr(consumers.TokenBucket, "clock", stopped)
    return stopped


def test_the_shipped_limits_are_the_documented_ones():
    limits = (settings.ECHO_RATE_LIMIT, settings.ECHO_RATE_BURST, settings.ECHO_MAX_ROOMS)
    assert limits + (settings.ECHO_MAX_ROOMS_PER_CLIENT,) == (30, 60, 100, 20)


async def test_a_burst_passes_then_each_message_over_the_limit_gets_an_error_then_a_close_with_1008(app, clock):
    burst = settings.ECHO_RATE_BURST
    ada, bob = await join(app), await join(app)
    await ada.receive_json_from()  # bob joined
    for n in range(burst):  # the whole burst, at once
        await bob.send_json_to({"n": n})
    for n in range(burst):
        assert await ada.receive_json_from() == {"who": bob.name, "message": {"n": n}}
        assert await bob.receive_json_from() == {"who": bob.name, "message": {"n": n}}
    for n in range(burst, 2 * burst - 1):  # over the limit: answered, not passed on
        await bob.send_json_to({"n": n})
        error = (await bob.receive_json_from())["error"]
        assert error == "too many messages (at most 30 a second, 60 at once): this one was not handled"
    assert await ada.receive_nothing(timeout=0.1), "the room heard nothing over the limit"
    await bob.send_json_to({"n": "one more"})  # it keeps on: a whole burst owed
    closing = await bob.receive_output()
    limit = "too many messages (at most 30 a second, 60 at once)"
    assert closing == {"type": "websocket.close", "code": 1008, "reason": limit}
    await bob.send_json_to({"n": "after the close"})  # not read: no answer, nothing to the room
    assert await bob.receive_nothing(timeout=0.1)
    await bob.disconnect(code=1008)
    assert await ada.receive_json_from() == {"who": bob.name, "event": "left"}
    await ada.disconnect()
    assert members() == set()


async def test_a_client_that_slows_down_is_served_again_and_the_limit_is_per_connection(app, clock):
    ada, bob = await join(app), await join(app)
    await ada.receive_json_from()  # bob joined
    for n in range(settings.ECHO_RATE_BURST + 1):
        await bob.send_json_to({"n": n})
    heard = [await bob.receive_json_from() for _ in range(settings.ECHO_RATE_BURST + 1)]
    assert "too many messages" in heard[-1]["error"]
    for _ in range(settings.ECHO_RATE_BURST):
        await ada.receive_json_from()  # bob's burst
    await ada.send_json_to("ada is not bob")  # another connection, another bucket
    assert await ada.receive_json_from() == {"who": ada.name, "message": "ada is not bob"}
    clock.now += 2 / settings.ECHO_RATE_LIMIT  # two tokens: one to pay what bob owes, one to spend
    await bob.send_json_to("slower now")
    assert (await bob.receive_json_from())["who"] == ada.name  # ada's, then bob's own
    assert await bob.receive_json_from() == {"who": bob.name, "message": "slower now"}
    for member in (ada, bob):
        await member.disconnect()


async def test_every_frame_spends_a_token_whatever_it_holds(app, clock):
    """Bad JSON and binary frames are answered with an error too: they cannot be used to get around the limit."""
    bob = await join(app)
    for n in range(settings.ECHO_RATE_BURST):
        await bob.send_to(text_data="{oops" if n % 2 else "NaN")
    for _ in range(settings.ECHO_RATE_BURST):
        assert "invalid JSON" in (await bob.receive_json_from())["error"]
    await bob.send_to(bytes_data=b"\x00")
    assert "too many messages" in (await bob.receive_json_from())["error"]
    await bob.disconnect()


@override_settings(ECHO_RATE_LIMIT=2, ECHO_RATE_BURST=3)
async def test_the_limit_is_configured_in_settings(app, clock):
    bob = await join(app)
    for n in range(6):
        await bob.send_json_to(n)
    replies = [await bob.receive_json_from() for _ in range(5)]
    assert [reply.get("message") for reply in replies[:3]] == [0, 1, 2]
    assert all("at most 2 a second, 3 at once" in reply["error"] for reply in replies[3:])
    assert (await bob.receive_output())["code"] == 1008
    await bob.disconnect(code=1008)


@override_settings(ECHO_RATE_LIMIT=0)
async def test_no_limit_when_the_setting_is_0(app, clock):
    bob = await join(app)
    for n in range(3 * settings.ECHO_RATE_BURST):
        await bob.send_json_to(n)
    for n in range(3 * settings.ECHO_RATE_BURST):
        assert (await bob.receive_json_from())["message"] == n
    await bob.disconnect()


async def test_the_echo_has_no_rate_limit(app, clock):
    """It answers its own client only, as fast as that client reads: lesson 10 and the bench measure it so."""
    client = await echo(app)
    for n in range(3 * settings.ECHO_RATE_BURST):
        await client.send_json_to({"n": n})
    for n in range(3 * settings.ECHO_RATE_BURST):
        assert await client.receive_json_from() == {"n": n}
    await client.disconnect()


# --- a bound on the rooms one process serves at once ---


async def test_a_join_that_would_open_a_room_beyond_the_bound_is_closed_with_1013_and_a_reason(app):
    rooms = settings.ECHO_MAX_ROOMS
    present = [await join(app, f"room-{n}") for n in range(rooms)]
    assert len(consumers.PRESENT) == rooms
    one_more = WebsocketCommunicator(app, "/chamber/one-more/")
    assert (await one_more.connect())[0], "accepted, so that the close says why"
    closing = await one_more.receive_output()
    assert closing == {
        "type": "websocket.close",
        "code": 1013,
        "reason": f"this server has {rooms} rooms open, its most: try later",
    }
    await one_more.disconnect(code=1013)
    assert "chamber.one-more" not in consumers.PRESENT and members("one-more") == set()
    newcomer = await join(app, "room-7")  # a room already open takes anyone
    assert (await present[7].receive_json_from())["event"] == "joined"
    await newcomer.disconnect()
    await present.pop().disconnect()  # a room closes: a new one may open
    another = await join(app, "another")
    for member in (*present, another):
        await member.disconnect()
    assert consumers.PRESENT == {}


def from_address(app, host: str):
    """``app``, for connections from ``host`` (a communicator's scope has no client address; a server's has)."""

    async def app_from_address(scope, receive, send):
        return await app(dict(scope, client=(host, 50000)), receive, send)

    return app_from_address


async def test_one_client_opens_at_most_its_share_of_the_rooms_and_others_still_open_theirs(app):
    share = settings.ECHO_MAX_ROOMS_PER_CLIENT
    greedy = from_address(app, "192.0.2.1")
    opened = [await join(greedy, f"greedy-{n}") for n in range(share)]
    one_more = WebsocketCommunicator(greedy, "/chamber/greedy-more/")
    assert (await one_more.connect())[0], "accepted, so that the close says why"
    assert await one_more.receive_output() == {
        "type": "websocket.close",
        "code": 1013,
        "reason": f"you opened {share} rooms that are still open, your most: join one of them",
    }
    await one_more.disconnect(code=1013)
    assert "chamber.greedy-more" not in consumers.PRESENT
    joining = await join(greedy, "greedy-3")  # a room already open takes it, as anyone
    other = await join(from_address(app, "192.0.2.2"), "elsewhere")  # another client opens rooms as usual
    await opened.pop().disconnect()  # one of its rooms closes: it may open another
    again = await join(greedy, "greedy-again")
    for member in (*opened, joining, other, again):
        await member.disconnect()
    assert consumers.PRESENT == {} and consumers.OPENED_BY == {} and consumers.ROOMS_OPENED == {}


async def test_ipv6_clients_are_counted_by_their_64_network(app):
    """One subscriber usually holds a whole /64: new addresses from it do not give it a new share of the rooms."""
    share = settings.ECHO_MAX_ROOMS_PER_CLIENT
    opened = [await join(from_address(app, f"2001:db8::{n + 1:x}"), f"v6-{n}") for n in range(share)]
    one_more = WebsocketCommunicator(from_address(app, "2001:db8::ffff"), "/chamber/v6-more/")
    assert (await one_more.connect())[0]
    assert (await one_more.receive_output())["code"] == 1013
    await one_more.disconnect(code=1013)
    neighbour = await join(from_address(app, "2001:db8:0:1::1"), "v6-neighbour")  # another /64
    for member in (*opened, neighbour):
        await member.disconnect()
    assert consumers.ROOMS_OPENED == {}
