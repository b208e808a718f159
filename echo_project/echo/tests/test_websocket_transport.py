"""echo_project/websocket_transport.py on the installed uvicorn: the methods it builds on, and what it does.

Fails if a new uvicorn renames, re-signs or stops calling what the subclass overrides and
uses (then read the new uvicorn's sans-I/O implementation before changing the pin), and
checks its behaviour with a fake transport: pongs over the high-water mark pause reading,
and each of the two reasons to pause clears only its own.
"""

import asyncio
import inspect

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from echo_project.websocket_transport import FlowControlledPongsProtocol

# uvicorn 0.54.0's (and 0.55.0's) WebSocketsSansIOProtocol.receive, which FlowControlledPongsProtocol copies
UVICORN_RECEIVE = """\
    async def receive(self) -> ASGIReceiveEvent:
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            self.transport.resume_reading()
        return message
"""
HIGH_WATER = 2**16  # asyncio's and uvloop's default high-water mark for a transport's write buffer


def test_the_methods_it_builds_on_are_still_there_with_the_same_signatures():
    parameters = {
        "__init__": ["self", "config", "server_state", "app_state", "_loop"],
        "handle_ping": ["self"],
        "pause_writing": ["self"],
        "resume_writing": ["self"],
        "receive": ["self"],
        "send": ["self", "message"],
        "data_received": ["self", "data"],
        "handle_events": ["self"],
    }
    found = {name: list(inspect.signature(getattr(WebSocketsSansIOProtocol, name)).parameters) for name in parameters}
    assert found == parameters
    assert inspect.iscoroutinefunction(WebSocketsSansIOProtocol.receive)
    assert inspect.iscoroutinefunction(WebSocketsSansIOProtocol.send)
    # pause_writing()/resume_writing() are what `writable` follows, and the only places it changes
    # besides connection_lost(); the pong is written by handle_ping(), called for each ping event.
    assert "self.writable.clear()" in inspect.getsource(WebSocketsSansIOProtocol.pause_writing)
    assert "self.writable.set()" in inspect.getsource(WebSocketsSansIOProtocol.resume_writing)
    assert "self.handle_ping()" in inspect.getsource(WebSocketsSansIOProtocol.handle_events)
    assert "self.transport.write(" in inspect.getsource(WebSocketsSansIOProtocol.handle_ping)
    # uvicorn's own reason to pause: `read_paused`, resumed only in receive() (which the subclass
    # copies, with one condition added) and in send() when the app closes; a new place would let a
    # pong flood resume reading, a changed receive() would be lost.
    assert inspect.getsource(WebSocketsSansIOProtocol.receive) == UVICORN_RECEIVE
    resumers = {
        name
        for name, method in inspect.getmembers(WebSocketsSansIOProtocol, inspect.isfunction)
        if "resume_reading()" in inspect.getsource(method)
    }
    assert resumers == {"receive", "send"}
    assert "self.read_paused = False" in inspect.getsource(WebSocketsSansIOProtocol.__init__)


class FakeTransport:
    """What the protocol needs of an asyncio transport: a write buffer with a high-water mark, reading on/off."""

    def __init__(self):
        self.protocol, self.buffered, self.writing_paused, self.reading = None, 0, False, True
        self.written = []

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data):
        self.written.append(bytes(data))
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self.writing_paused:
            self.writing_paused = True
            self.protocol.pause_writing()

    def drain(self):
        """The peer reads everything: the buffer empties, and the protocol may write again."""
        self.buffered = 0
        if self.writing_paused:
            self.writing_paused = False
            self.protocol.resume_writing()

    def pause_reading(self):
        self.reading = False

    def resume_reading(self):
        self.reading = True

    def is_closing(self):
        return False

    def close(self):
        pass


def masked(opcode: int, payload: bytes) -> bytes:
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload  # zero mask


async def test_pongs_over_the_high_water_mark_pause_reading_and_each_reason_clears_only_its_own():
    received = asyncio.Queue()

    async def app(scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            await received.put(await receive())

    config = Config(app=app, lifespan="off", ws_ping_interval=None)
    protocol = FlowControlledPongsProtocol(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    transport = FakeTransport()
    transport.protocol = protocol
    protocol.connection_made(transport)
    protocol.data_received(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    for _ in range(100):  # the app accepts on the event loop
        if protocol.handshake_complete:
            break
        await asyncio.sleep(0)
    assert protocol.handshake_complete and transport.written[0].startswith(b"HTTP/1.1 101")
    transport.drain()

    # A few pings: pongs below the mark, reading goes on.
    protocol.data_received(masked(0x9, b"p" * 125) * 10)
    assert transport.reading and not protocol.paused_for_pongs
    # Pongs over the mark: reading pauses for them.
    protocol.data_received(masked(0x9, b"p" * 125) * 1000)
    assert protocol.paused_for_pongs and not transport.reading

    # A message read in the same batch: uvicorn pauses too, and when the app takes the message it
    # resumes for its own reason; the pongs' reason still holds, so reading stays paused.
    protocol.data_received(masked(0x1, b"hello"))
    message = await asyncio.wait_for(received.get(), 5)
    assert message == {"type": "websocket.receive", "text": "hello"}
    await asyncio.sleep(0)
    assert not protocol.read_paused and protocol.paused_for_pongs and not transport.reading
    # The peer reads its pongs: reading resumes.
    transport.drain()
    assert not protocol.paused_for_pongs and transport.reading

    # The other way round: a message waits (uvicorn's reason), pongs fill the buffer, the buffer drains:
    # reading stays paused until the app has taken the message.
    protocol.data_received(masked(0x1, b"one") + masked(0x1, b"two") + masked(0x9, b"p" * 125) * 1000)
    assert protocol.read_paused and protocol.paused_for_pongs and not transport.reading
    transport.drain()
    assert not protocol.paused_for_pongs and protocol.read_paused and not transport.reading
    assert (await asyncio.wait_for(received.get(), 5))["text"] == "one"
    assert (await asyncio.wait_for(received.get(), 5))["text"] == "two"
    await asyncio.sleep(0)
    assert transport.reading
    protocol.connection_lost(None)
