"""What echo/tuned.py relies on in Channels' internals: these fail if a Channels upgrade changes it.

The behaviour suite (test_behaviour.py) shows the tuned consumers behave as the stock ones; these
show each shortcut gives what the Channels code it skips would have given.
"""

import pytest
from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.sessions import InstanceSessionWrapper
from channels.testing import WebsocketCommunicator

from echo import tuned
from echo.tuned import DirectSendMixin, send_past_session_wrapper

WEBSOCKET_MESSAGES = [
    {"type": "websocket.accept", "subprotocol": None},
    {"type": "websocket.send", "text": '{"ch": "x"}'},
    {"type": "websocket.send", "bytes": b"x"},
    {"type": "websocket.close", "code": 1000},
]


def test_channels_session_wrapper_acts_on_no_websocket_message():
    for message_type in (
        *InstanceSessionWrapper.save_message_types,
        *InstanceSessionWrapper.cookie_response_message_types,
    ):
        assert not message_type.startswith("websocket."), message_type


@pytest.mark.parametrize("modified", [False, True], ids=["session unchanged", "session modified"])
async def test_channels_session_wrapper_only_passes_websocket_messages_on(modified):
    """What the tuned consumers skip: Channels' wrapper, given each WebSocket message, passes it on untouched."""
    passed = []

    async def server_send(message):
        passed.append(message)

    scope = {"type": "websocket", "headers": [], "cookies": {}}
    wrapper = InstanceSessionWrapper(scope, server_send)
    await wrapper.resolve_session()
    wrapper.scope["session"].modified = modified
    for message in WEBSOCKET_MESSAGES:
        sent = dict(message)
        await wrapper.send(sent)
        assert passed[-1] is sent and sent == message
    assert len(passed) == len(WEBSOCKET_MESSAGES)


async def test_the_send_past_the_session_wrapper_is_the_servers():
    async def server_send(message):
        pass

    wrapper = InstanceSessionWrapper({"type": "websocket", "cookies": {}}, server_send)
    assert send_past_session_wrapper(wrapper.send) is server_send
    outer = InstanceSessionWrapper({"type": "websocket", "cookies": {}}, wrapper.send)  # two session middlewares
    assert send_past_session_wrapper(outer.send) is server_send
    assert send_past_session_wrapper(server_send) is server_send  # no session middleware: kept as it is


async def test_a_session_wrapper_that_acts_on_websocket_messages_is_kept(monkeypatch):
    async def server_send(message):
        pass

    monkeypatch.setattr(InstanceSessionWrapper, "save_message_types", ["http.response.start", "websocket.accept"])
    wrapper = InstanceSessionWrapper({"type": "websocket", "cookies": {}}, server_send)
    assert send_past_session_wrapper(wrapper.send) == wrapper.send


class Recorder(DirectSendMixin, AsyncJsonWebsocketConsumer):
    """The tuned send_json, in a consumer whose every message the test sees."""


class StockRecorder(AsyncJsonWebsocketConsumer):
    pass


@pytest.mark.parametrize("close", [False, True, 4000])
async def test_direct_send_json_sends_what_channels_send_json_sends(close):
    sent = {}
    for consumer_class in (Recorder, StockRecorder):
        consumer, messages = consumer_class(), []

        async def record(message, messages=messages):
            messages.append(message)

        consumer.base_send = record
        await consumer.send_json({"ch": "x", "n": [1, 2.5, None]}, close=close)
        sent[consumer_class] = messages
    assert sent[Recorder] == sent[StockRecorder]


@pytest.mark.parametrize("consumer_class", [tuned.TunedEchoChamberConsumer])
async def test_the_tuned_echo_under_the_auth_stack_sends_to_the_server_directly(consumer_class):
    """Through echo_project's stack (AuthMiddlewareStack), the tuned echo's messages reach the server as they were."""
    application = AuthMiddlewareStack(consumer_class.as_asgi())
    communicator = WebsocketCommunicator(application, "/echo/")
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data='{"ch": "x"}')
    assert await communicator.receive_from(timeout=5) == '{"ch": "x"}'
    await communicator.disconnect()
