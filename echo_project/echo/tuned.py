"""Opt-in speed-ups for the echo chamber: faster, but they reach into Channels' internals.

Set ``ECHO_CONSUMERS=tuned`` (settings.py) and the routes serve ``TunedEchoChamberConsumer``
and ``TunedChamberConsumer``, the WebSocket routes stand behind the ``AuthMiddlewareStack`` below
(asgi.py), and the in-memory channel layer becomes the one below. They
behave exactly as the stock consumers in ``consumers.py`` (one behaviour suite runs against
both: echo/tests/test_behaviour.py) and are measured by ``make bench``.

The trade-off: each piece overrides a method Channels does not document as a hook
(``AsyncConsumer.__call__``, ``AsyncConsumer.dispatch``, ``InMemoryChannelLayer._clean_expired``,
``InstanceSessionWrapper.send``, the three middlewares of ``AuthMiddlewareStack``,
``InMemoryChannelLayer.send``, ``receive`` and ``group_send``),
so a Channels upgrade can change what they replace without warning; echo/tests/test_tuned_internals.py
fails if the parts of Channels they rely on change. Pin Channels, rerun the
behaviour suite on every upgrade, and use the stock consumers unless ``make bench`` shows you
need these. What each one saves is in benchmarks/RESULTS.md.
"""

import asyncio
import functools
import time
from copy import deepcopy
from importlib import import_module

from channels.auth import AuthMiddlewareStack as ChannelsAuthMiddlewareStack
from channels.auth import UserLazyObject, get_user
from channels.consumer import get_handler_name
from channels.exceptions import ChannelFull, StopConsumer
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels.layers import get_channel_layer
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from django.http import parse_cookie
from django.utils.functional import LazyObject

from .consumers import ChamberConsumer, EchoChamberConsumer


class DatabaseFreeMixin:
    """For consumers that never touch the database: skip the clean-up before every message.

    Channels' ``AsyncConsumer.dispatch`` awaits ``aclose_old_connections()`` before each
    handler, a round trip through a worker thread that closes stale database
    connections. A consumer that makes no query has none to close, and for a small
    message that hop costs more than everything else the consumer does. Put this mixin
    first in the bases of such consumers only: one that uses the ORM needs the clean-up
    (Django closes connections after each request; nothing else does it for a long-lived
    WebSocket). The clean-up on disconnect stays (``websocket_disconnect`` does it).
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class LeanEventLoopMixin:
    """Feed events to ``dispatch`` without making a new task for every message.

    Channels' ``AsyncConsumer.__call__`` waits on the client and on the channel layer with
    ``await_many_dispatch``, which creates a task and an ``asyncio.wait`` per message. Here
    the client is read directly when the consumer has no channel layer; with one, one
    long-lived task per source reads a message, hands it over, and reads the next only once
    that one has been dispatched. So, as in Channels, at most one message per source is out
    of its source and not yet handled: a consumer that cannot keep up stops reading its
    client (the server's flow control then stops reading the socket) and its channel (the
    layer's ``capacity`` then applies).

    A consumer that never uses groups sets ``uses_channel_layer = False`` and gets no channel.
    """

    uses_channel_layer = True

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.base_send = send_past_session_wrapper(send)
        self.channel_layer = get_channel_layer(self.channel_layer_alias) if self.uses_channel_layer else None
        try:
            if self.channel_layer is None:
                while True:
                    await self.dispatch(await receive())
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            await self._dispatch_from(receive, self.channel_receive)
        except StopConsumer:
            pass

    async def _dispatch_from(self, *sources):
        arrived: asyncio.Queue = asyncio.Queue()  # holds at most one message per source: see pump

        async def pump(source):
            handled = asyncio.Event()
            try:
                while True:
                    handled.clear()
                    arrived.put_nowait((await source(), None, handled))
                    await handled.wait()  # the next read waits until this message is dispatched
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # handed to the dispatching loop, which raises it
                arrived.put_nowait((None, error, handled))

        pumps = [asyncio.ensure_future(pump(source)) for source in sources]
        try:
            while True:
                event, error, handled = await arrived.get()
                if error is not None:
                    raise error
                await self.dispatch(event)
                handled.set()
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)


def send_past_session_wrapper(send):
    """The ``send`` that Channels' ``SessionMiddleware`` wraps, when its wrapper would only pass messages on.

    ``SessionMiddleware`` (in ``AuthMiddlewareStack``) hands the application its
    ``InstanceSessionWrapper.send``, which, before every message, reads the session's
    ``modified`` and ``is_empty()`` through Django's ``LazyObject``, then saves the session or
    sets its cookie only for a message type in ``save_message_types`` or
    ``cookie_response_message_types`` (``http.response.start``). A WebSocket consumer sends
    none of those, so for it the wrapper only passes each message on: the same message then
    goes straight to the server's ``send``. If a Channels upgrade makes the wrapper act on a
    WebSocket message type, ``send`` is kept as it is.
    """
    wrapper = getattr(send, "__self__", None)
    while type(wrapper) is InstanceSessionWrapper and getattr(send, "__func__", None) is InstanceSessionWrapper.send:
        acted_on = {*wrapper.save_message_types, *wrapper.cookie_response_message_types}
        if any(message_type.startswith("websocket.") for message_type in acted_on):
            return send
        send = wrapper.real_send
        wrapper = getattr(send, "__self__", None)
    return send


class AuthMiddlewareStack:
    """Channels' ``AuthMiddlewareStack`` in one step for a WebSocket: the same scope, a quarter of the copies.

    Channels' stack is three middlewares, ``CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))``;
    for each connection they copy the scope four times (``AuthMiddleware`` twice), keep four
    coroutine frames and a session wrapper alive as long as the connection lasts, and hand the
    application the wrapper's ``send`` (see ``send_past_session_wrapper``). This does what they do
    for a WebSocket scope, in their order, with one copy: ``scope["cookies"]`` parsed from the
    ``Cookie`` header as ``CookieMiddleware`` does, ``scope["session"]`` a ``LazyObject`` around
    ``SESSION_ENGINE``'s store for the session cookie, ``scope["user"]`` a ``UserLazyObject``
    around ``channels.auth.get_user`` (on a database thread, as in Channels), and the server's own
    ``send``. Any other scope, or one that already has cookies, a session or a user, goes through
    Channels' stack. echo_project/asgi.py uses it with ``ECHO_CONSUMERS=tuned``.
    """

    def __init__(self, inner):
        self.inner = inner
        self.channels_stack = ChannelsAuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or "headers" not in scope or {"cookies", "session", "user"} & scope.keys():
            return await self.channels_stack(scope, receive, send)
        cookies = {}
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        scope = dict(scope, cookies=cookies, session=LazyObject(), user=UserLazyObject())
        scope["session"]._wrapped = import_module(settings.SESSION_ENGINE).SessionStore(
            cookies.get(settings.SESSION_COOKIE_NAME)
        )
        scope["user"]._wrapped = await get_user(scope)
        return await self.inner(scope, receive, send)


class DirectSendMixin:
    """``send_json`` hands its message to the server's ``send`` itself.

    Channels' ``send_json`` goes through ``AsyncWebsocketConsumer.send`` and ``AsyncConsumer.send``,
    two coroutines that build ``{"type": "websocket.send", "text": ...}`` and pass it on; this
    builds the same message (``encode_json``, the documented hook, still makes the text).
    """

    async def send_json(self, content, close=False):
        await self.base_send({"type": "websocket.send", "text": await self.encode_json(content)})
        if close:
            await self.close(close)


class TunedEchoChamberConsumer(DatabaseFreeMixin, LeanEventLoopMixin, DirectSendMixin, EchoChamberConsumer):
    """``EchoChamberConsumer``, faster: no clean-up hop, no task per message, no channel, no session wrapper."""

    uses_channel_layer = False  # it talks to its own client only


class TunedChamberConsumer(DatabaseFreeMixin, LeanEventLoopMixin, DirectSendMixin, ChamberConsumer):
    """``ChamberConsumer``, faster: no clean-up hop, no task per message, no session wrapper."""


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer, with its expiry sweep run at most once a second, and a lighter ``group_send``.

    Channels' ``InMemoryChannelLayer`` sweeps every channel and every group for expired
    messages each time any consumer receives. In a room of N members, one group message
    means N receives, each sweeping N channels: the fan-out grows with N², and the sweep
    was the largest single cost of a 100-member fan-out (benchmarks/RESULTS.md). Sweeping
    at most once per ``sweep_interval`` keeps the same rules; an expired message may just
    linger up to that long before it is dropped.

    Channels' ``group_send`` also makes an asyncio task per member, each running ``send``, and
    waits for them with ``asyncio.as_completed``; ``send`` has nothing to wait for, so here it
    is awaited member after member: the same messages, in the same order, a full member's
    ``ChannelFull`` ignored as there. And ``send`` and ``receive`` build a new ``asyncio.Queue``
    on every call, for ``dict.setdefault``, even when the channel has one; here only when it
    has none. Messages are still deep copies, one per member, as in Channels.
    """

    sweep_interval = 1.0  # seconds

    def __init__(self, *args, sweep_interval: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if sweep_interval is not None:
            self.sweep_interval = sweep_interval
        self._last_sweep = float("-inf")

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._last_sweep >= self.sweep_interval:
            self._last_sweep = now
            super()._clean_expired()

    def _queue(self, channel) -> asyncio.Queue:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    async def send(self, channel, message):
        """Channels' ``send``, with no queue built unless the channel needs one."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel):
        """Channels' ``receive``, with no queue built unless the channel needs one."""
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty():
                self.channels.pop(channel, None)
        return message

    async def group_send(self, group, message):
        """Channels' ``group_send``, each member's ``send`` awaited in turn instead of in a task of its own."""
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        first_error = None
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)
            except ChannelFull:
                pass  # as in Channels: a member whose channel is full misses this message
            except Exception as error:  # as in Channels, the other members still get theirs
                first_error = first_error or error
        if first_error is not None:
            raise first_error
