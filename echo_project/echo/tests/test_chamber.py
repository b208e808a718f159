"""The broadcast chamber: members of a room see each other's messages, and nobody else's."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from echo_project.asgi import application

# Rooms read and store their history in the database, from other threads than the test's: pytest-django's
# test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)

SAME_ORIGIN = [(b"origin", b"http://127.0.0.1")]


@pytest.fixture(autouse=True)
async def empty_layer():
    yield
    await get_channel_layer().flush()  # the in-memory layer outlives each test's event loop


async def join(room):
    member = WebsocketCommunicator(application, f"/chamber/{room}/", headers=SAME_ORIGIN)
    accepted, _ = await member.connect()
    assert accepted
    welcome = await member.receive_json_from()
    assert welcome["room"] == room and welcome["you"].startswith("guest-")
    assert "history" in await member.receive_json_from()
    assert await member.receive_json_from() == {"who": welcome["you"], "event": "joined"}
    member.name = welcome["you"]
    return member


async def test_members_of_a_room_see_who_typed_what():
    ada = await join("lobby")
    bob = await join("lobby")
    assert await ada.receive_json_from() == {"who": bob.name, "event": "joined"}
    assert ada.name != bob.name
    await ada.send_json_to({"ch": "x"})
    for member in (ada, bob):
        assert await member.receive_json_from() == {"who": ada.name, "message": {"ch": "x"}}
    await bob.disconnect()
    assert await ada.receive_json_from() == {"who": bob.name, "event": "left"}
    await ada.disconnect()


async def test_rooms_are_separate():
    ada = await join("lobby")
    eve = await join("elsewhere")
    await ada.send_json_to({"ch": "x"})
    assert (await ada.receive_json_from())["message"] == {"ch": "x"}
    assert await eve.receive_nothing(timeout=0.2)
    await ada.disconnect()
    await eve.disconnect()


async def test_bad_input_is_answered_to_its_sender_only():
    ada = await join("lobby")
    bob = await join("lobby")
    await ada.receive_json_from()  # bob joined
    await bob.send_to(text_data="{oops")
    assert (await bob.receive_json_from())["error"].startswith("invalid JSON")
    await bob.send_to(bytes_data=b"\x00")
    assert "binary" in (await bob.receive_json_from())["error"]
    assert await ada.receive_nothing(timeout=0.2)
    await bob.send_json_to({"ch": "y"})
    assert (await ada.receive_json_from())["message"] == {"ch": "y"}
    await ada.disconnect()
    await bob.disconnect()


@override_settings(ECHO_MAX_MESSAGE_BYTES=100)
async def test_a_member_sending_too_much_is_closed_and_the_others_carry_on():
    ada = await join("lobby")
    bob = await join("lobby")
    await ada.receive_json_from()  # bob joined
    await bob.send_json_to({"ch": "x" * 200})
    closing = await bob.receive_output()
    assert (closing["type"], closing["code"]) == ("websocket.close", 1009)
    await bob.disconnect(code=1009)
    assert await ada.receive_json_from() == {"who": bob.name, "event": "left"}
    await ada.send_json_to({"ch": "z"})
    assert (await ada.receive_json_from())["message"] == {"ch": "z"}
    await ada.disconnect()


@pytest.mark.parametrize("room", ["has space", "x" * 51, "dots.dots"])
async def test_an_invalid_room_name_is_refused(room):
    communicator = WebsocketCommunicator(application, f"/chamber/{room}/", headers=SAME_ORIGIN)
    accepted, _ = await communicator.connect()
    assert not accepted
