"""The echo chamber's consumers.

`EchoChamberConsumer` is the talk's consumer: every JSON value a client sends
comes straight back. `ChamberConsumer` is a room: every message goes to every
member. Both stand on `CarefulJsonWebsocketConsumer`, which makes sure nothing
a client sends can hurt the server or the other clients.
"""

import secrets

from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings

# WebSocket close codes (RFC 6455, section 7.4.1)
MESSAGE_TOO_BIG = 1009


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


class EchoChamberConsumer(CarefulJsonWebsocketConsumer):
    """The talk's echo chamber: sends every JSON value back, exactly."""

    async def connect(self):
        await self.accept()

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class ChamberConsumer(CarefulJsonWebsocketConsumer):
    """A broadcast chamber: members of a room see every message, and who sent it.

    Each connection gets an anonymous name and joins the room's group on connect;
    what a member sends goes to the group as ``{"who": name, "message": content}``;
    members are told when someone joins or leaves.
    """

    async def connect(self):
        self.room = self.scope["url_route"]["kwargs"]["room"]
        self.group = f"chamber.{self.room}"
        self.name = f"guest-{secrets.token_hex(2)}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"you": self.name, "room": self.room})
        await self.channel_layer.group_send(self.group, {"type": "chamber.presence", "who": self.name,
                                                         "event": "joined"})

    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(self.group, {"type": "chamber.message", "who": self.name,
                                                         "message": content})

    async def disconnect(self, close_code):
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
