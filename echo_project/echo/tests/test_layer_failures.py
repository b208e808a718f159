"""When the channel layer fails (Redis gone), in-process: each failure is a close with a code and a reason, and
one line of log.

What redis-py raises is raised by hand, so these need no Redis; the workshop's tests/echo_project/test_outages.py
kills and restarts a real Redis under a real uvicorn.
"""

import inspect

import pytest
from django.conf import settings

from .test_behaviour import FLAVOURS

# Rooms read and store their history in the database, from other threads than the test's: pytest-django's
# test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)


IN_MEMORY = ("channels.layers.InMemoryChannelLayer", "echo.tuned.InMemoryChannelLayer")  # tests without REDIS_URL


async def test_the_redis_layers_clean_up_after_a_receive_fails_in_one_line_of_log(caplog):
    """echo.layers.RedisChannelLayer overrides channels_redis's ``_clean_receive_backup``, a task nobody awaits."""
    from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer

    from echo.layers import RedisChannelLayer

    assert list(inspect.signature(ChannelsRedisChannelLayer._clean_receive_backup).parameters) == [
        "self",
        "index",
        "channel",
    ], "channels_redis changed the method echo.layers.RedisChannelLayer overrides"
    assert list(inspect.signature(ChannelsRedisChannelLayer.receive_single).parameters) == ["self", "channel"]
    assert "receive_single(" in inspect.getsource(ChannelsRedisChannelLayer.receive), "receive pops through it"
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] in ("echo.layers.RedisChannelLayer", *IN_MEMORY)
    layer = RedisChannelLayer(hosts=["redis://127.0.0.1:1/0"])  # nothing listens there
    await layer._clean_receive_backup(0, "asgi:specific.x!y")  # raises nothing
    assert "could not clean a received message's backup in Redis" in caplog.text


@pytest.mark.parametrize("flavour", ["stock", "tuned"])
async def test_a_member_who_speaks_while_redis_is_down_is_closed_with_1011_and_a_reason(flavour, monkeypatch, caplog):
    """In-process: the layer's group_send raises what redis-py raises; one line of log, no traceback."""
    from channels.layers import get_channel_layer
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.urls import re_path
    from redis.exceptions import ConnectionError as RedisConnectionError

    chamber = FLAVOURS[flavour][1]
    app = URLRouter([re_path(r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$", chamber.as_asgi())])
    ada = WebsocketCommunicator(app, "/chamber/down/")
    assert (await ada.connect())[0]
    for _ in range(3):  # welcome, history, joined
        await ada.receive_json_from(timeout=5)
    layer = get_channel_layer()

    async def down(*args):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(layer, "group_send", down)
    await ada.send_json_to("anyone?")
    closing = await ada.receive_output(timeout=5)
    reason = "the server lost its channel layer: reconnect"
    assert closing == {"type": "websocket.close", "code": 1011, "reason": reason}
    monkeypatch.undo()
    await ada.disconnect(code=1011)
    assert "the channel layer failed (ConnectionError: Error 111" in caplog.text
    assert "Traceback" not in caplog.text and not [record for record in caplog.records if record.exc_info]
    await layer.flush()


@pytest.mark.parametrize("flavour", ["stock", "tuned"])
async def test_a_join_while_redis_is_down_is_closed_with_1013_and_leaves_no_trace(flavour, monkeypatch, caplog):
    """In-process: group_add raises what redis-py raises; the join is refused, and the room's presence forgets it."""
    from channels.layers import get_channel_layer
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.urls import re_path
    from redis.exceptions import ConnectionError as RedisConnectionError

    from echo import consumers

    async def down(*args):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(get_channel_layer(), "group_add", down)
    app = URLRouter([re_path(r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$", FLAVOURS[flavour][1].as_asgi())])
    bob = WebsocketCommunicator(app, "/chamber/down/")
    assert (await bob.connect())[0]
    closing = await bob.receive_output(timeout=5)
    reason = "the server lost its channel layer: try later"
    assert closing == {"type": "websocket.close", "code": 1013, "reason": reason}
    await bob.wait(timeout=5)  # the consumer has stopped: it reads nothing more
    assert "chamber.down" not in consumers.PRESENT
    assert "refused a join to 'down'" in caplog.text and not [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize("flavour", ["stock", "tuned"])
async def test_close_when_it_fails_refuses_a_join_whose_channel_the_layer_cannot_make(flavour, monkeypatch, caplog):
    """Redis's pub/sub layer subscribes a consumer's channel before ``connect``: that failure is a 1013 refusal too."""
    from channels.layers import get_channel_layer
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.urls import re_path
    from redis.exceptions import ConnectionError as RedisConnectionError

    from echo.consumers import CloseWhenItFails

    async def down(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(get_channel_layer(), "new_channel", down)
    route = r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$"
    app = URLRouter([re_path(route, CloseWhenItFails(FLAVOURS[flavour][1].as_asgi()))])
    bob = WebsocketCommunicator(app, "/chamber/down/")
    assert (await bob.connect())[0]
    closing = await bob.receive_output(timeout=5)
    reason = "the server lost its channel layer: try later"
    assert closing == {"type": "websocket.close", "code": 1013, "reason": reason}
    await bob.wait(timeout=5)
    assert "refused a join, the channel layer failed" in caplog.text
    assert not [record for record in caplog.records if record.exc_info]
