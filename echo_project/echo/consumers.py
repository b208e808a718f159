"""The echo chamber's consumers.

`EchoChamberConsumer` is the talk's consumer: every JSON value a client sends
comes straight back. It stands on `CarefulJsonWebsocketConsumer`, which makes
sure nothing a client sends can hurt the server or the other clients.
"""

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


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Refuses WebSocket connections to paths nothing is routed to (HTTP 403)."""

    async def connect(self):
        await self.close()
