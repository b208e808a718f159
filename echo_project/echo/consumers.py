"""The echo chamber's consumers.

`EchoChamberConsumer` is the talk's consumer: every JSON value a client sends
comes straight back. `ChamberConsumer` is a room: every message goes to every
member. Both stand on `CarefulJsonWebsocketConsumer`, which makes sure nothing
a client sends can hurt the server or the other clients.
"""

import asyncio
import functools
import secrets

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings

from . import history

# WebSocket close codes (RFC 6455, section 7.4.1)
MESSAGE_TOO_BIG = 1009


class DatabaseFreeMixin:
    """For consumers that never touch the database: skip the clean-up before every message.

    Channels' ``AsyncConsumer.dispatch`` awaits ``aclose_old_connections()`` before each
    handler, a round trip through a worker thread that closes stale database
    connections. A consumer that makes no query has none to close, and for a small
    message that hop costs more than everything else the consumer does (see
    benchmarks/RESULTS.md). Put this mixin first in the bases of such consumers only:
    one that uses the ORM needs the clean-up (Django closes connections after each
    request; nothing else does it for a long-lived WebSocket). The clean-up on
    disconnect stays.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class LeanEventLoopMixin:
    """Feed events to ``dispatch`` without making a new task for every message.

    Channels' ``AsyncConsumer.__call__`` waits on the client and on the channel layer
    with ``await_many_dispatch``, which creates a task and an ``asyncio.wait`` per
    message. Here the client is read directly when the consumer has no channel layer;
    with one, two long-lived tasks feed a queue. Events are still dispatched one at a
    time, in arrival order; the only difference is that one event per source may be
    read while the previous one is being handled.

    A consumer that never uses groups sets ``uses_channel_layer = False`` and gets no
    channel name at all.
    """

    uses_channel_layer = True

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.base_send = send
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
        events: asyncio.Queue = asyncio.Queue()

        async def pump(source):
            try:
                while True:
                    await events.put((await source(), None))
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # handed to the dispatching loop, which raises it
                await events.put((None, error))

        pumps = [asyncio.ensure_future(pump(source)) for source in sources]
        try:
            while True:
                event, error = await events.get()
                if error is not None:
                    raise error
                await self.dispatch(event)
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)


class CarefulJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    """A JSON consumer that answers bad input instead of crashing on it.

    - a text frame that is not JSON gets ``{"error": ...}`` back; the connection stays open;
    - a binary frame gets ``{"error": ...}`` back; the connection stays open;
    - a frame larger than ``settings.ECHO_MAX_MESSAGE_BYTES`` closes the connection with 1009.

    Subclasses implement ``receive_json`` as usual; it only ever sees valid JSON.
    """

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        size = len(bytes_data) if bytes_data is not None else len(text_data.encode("utf-8"))
        if size > settings.ECHO_MAX_MESSAGE_BYTES:
            await self.close(code=MESSAGE_TOO_BIG)
            return
        if bytes_data is not None:
            await self.send_error("binary frames are not supported: send JSON as text")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError as error:
            await self.send_error(f"invalid JSON: {error}")
            return
        await self.receive_json(content, **kwargs)

    async def send_error(self, message: str):
        await self.send_json({"error": message})


class EchoChamberConsumer(DatabaseFreeMixin, LeanEventLoopMixin, CarefulJsonWebsocketConsumer):
    """The talk's echo chamber: sends every JSON value back, exactly."""

    uses_channel_layer = False  # it talks to its own client only

    async def connect(self):
        await self.accept()

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class ChamberConsumer(DatabaseFreeMixin, LeanEventLoopMixin, CarefulJsonWebsocketConsumer):
    """A broadcast chamber: members of a room see every message, and who sent it.

    Each connection gets an anonymous name and joins the room's group on connect;
    what a member sends goes to the group as ``{"who": name, "message": content}``;
    members are told when someone joins or leaves.
    """

    async def connect(self):
        self.room = self.scope["url_route"]["kwargs"]["room"]
        self.group = f"chamber.{self.room}"
        self.name = f"guest-{secrets.token_hex(2)}"
        self.storing: asyncio.Future | None = None  # the write of this member's last message
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"you": self.name, "room": self.room})
        await self.send_json({"history": await history.recent(self.room)})
        await self.channel_layer.group_send(self.group, {"type": "chamber.presence", "who": self.name,
                                                         "event": "joined"})

    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(self.group, {"type": "chamber.message", "who": self.name,
                                                         "message": content})
        # Stored in the background, after the room has it: while a slow database writes, this member
        # keeps receiving. One write in flight per member: whoever sends faster than the database
        # stores waits for the previous write, so a flood queues nothing.
        if self.storing is not None:
            await self.storing
        self.storing = asyncio.ensure_future(history.remember(self.room, self.name, content))

    async def disconnect(self, close_code):
        if getattr(self, "storing", None) is not None:
            await self.storing  # the member's last message joins the history before the member leaves
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_send(self.group, {"type": "chamber.presence", "who": self.name,
                                                             "event": "left"})

    # Handlers of group events: the event's "type", dots as underscores.
    async def chamber_message(self, event):
        await self.send_json({"who": event["who"], "message": event["message"]})

    async def chamber_presence(self, event):
        await self.send_json({"who": event["who"], "event": event["event"]})


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Refuses WebSocket connections to paths nothing is routed to (HTTP 403)."""

    async def connect(self):
        await self.close()
