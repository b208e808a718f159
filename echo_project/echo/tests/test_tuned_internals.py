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


def signed_session(data: dict) -> str:
    """A session cookie's value for ``data``, as echo_project's session engine (signed cookies) makes it."""
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def cookie_headers(cookie: str | None) -> list:
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    return headers + ([(b"cookie", cookie.encode("latin1"))] if cookie is not None else [])


async def scope_and_send(stack, cookie):
    """What ``stack`` hands its application for a WebSocket scope with ``cookie``: the scope, and the send."""
    handed = {}

    async def application(scope, receive, send):
        handed["scope"], handed["send"] = scope, send

    async def server_send(message):
        pass

    scope = {"type": "websocket", "path": "/echo/", "headers": cookie_headers(cookie), "query_string": b""}
    await stack(application)(scope, None, server_send)
    return handed["scope"], handed["send"], server_send


def comparable(scope: dict) -> dict:
    session, user = scope["session"], scope["user"]
    return {
        **{key: value for key, value in scope.items() if key not in ("session", "user")},
        "session": (type(session._wrapped), session.session_key, dict(session.items()), session.modified),
        "user": (type(user._wrapped), user.is_anonymous, user.pk),
    }


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "theme=dark",
        "sessionid=garbage; theme=dark",
        "SESSION",  # replaced by a signed session holding data, but no user
        "SESSION-USER",  # a session naming a user, through a backend the settings do not list: anonymous
    ],
)
async def test_the_tuned_auth_stack_hands_over_what_channels_stack_does(cookie):
    from channels.auth import AuthMiddlewareStack as ChannelsAuthMiddlewareStack

    if cookie == "SESSION":
        cookie = f"sessionid={signed_session({'seen': 3})}; theme=dark"
    elif cookie == "SESSION-USER":
        user = {"_auth_user_id": "1", "_auth_user_backend": "not.a.Backend", "_auth_user_hash": "x"}
        cookie = f"sessionid={signed_session(user)}"
    channels_scope, channels_send, channels_server_send = await scope_and_send(ChannelsAuthMiddlewareStack, cookie)
    tuned_scope, tuned_send, tuned_server_send = await scope_and_send(tuned.AuthMiddlewareStack, cookie)
    assert comparable(tuned_scope) == comparable(channels_scope)
    assert tuned_send is tuned_server_send  # the wrapper Channels' send would be: it passes WebSocket messages on
    assert send_past_session_wrapper(channels_send) is channels_server_send


async def test_the_tuned_auth_stack_leaves_other_scopes_to_channels_stack():
    seen = []

    async def application(scope, receive, send):
        seen.append(scope)

    stack = tuned.AuthMiddlewareStack(application)
    http = {"type": "http", "headers": cookie_headers("theme=dark")}
    await stack(http, None, None)
    assert seen[-1]["cookies"] == {"theme": "dark"} and "user" in seen[-1]
    with pytest.raises(ValueError, match="headers"):  # as Channels' CookieMiddleware says
        await stack({"type": "websocket"}, None, None)
