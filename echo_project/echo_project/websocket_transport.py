"""uvicorn's sans-I/O WebSocket implementation, with pongs under flow control.

Run it with ``--ws echo_project.websocket_transport:FlowControlledPongsProtocol`` (uvicorn
takes a class path there, as it takes one for the app); the README's command does.

What it fixes: uvicorn's sans-I/O implementation (``--ws websockets-sansio``, what ``--ws auto``
picks) answers every ping with a pong written straight from ``data_received``, and pauses
reading only while an application message waits in its queue, never for a pong. A client that
sends pings and never reads makes the server buffer every pong: 4 such clients sending 96 MiB
of pings grew a server by 80 MiB (tests/test_transport.py, which keeps it out; over 10 s,
76 to 198 MiB: benchmarks/RESULTS.md). Here, once a pong has pushed the write buffer over its
high-water mark (the transport calls ``pause_writing``), reading from that peer pauses, and it
resumes when the buffer has drained (``resume_writing``): the peer's pings wait in its own
socket, not in our memory.
RFC 6455 §5.5.2 asks for a pong "as soon as is practical", and §5.5.3 lets an endpoint that
has not yet answered earlier pings answer only the most recent one, so a pong delayed until
the peer reads is within the protocol (https://www.rfc-editor.org/rfc/rfc6455#section-5.5.3).

Why not uvicorn's legacy ``--ws websockets``, which awaits ``drain()`` after each pong and so
holds the flood: uvicorn 0.54 deprecates it, and says ``--ws websockets`` will later point at
the sans-I/O implementation, so an upgrade would silently bring the unbounded pongs back. It is
also slower here (benchmarks/CHANGELOG.md, issue 12's section).

Reading now has two reasons to pause, and each clears only its own: uvicorn's (a message
waits in the queue: ``read_paused``) and this class's (pongs wait in the write buffer:
``paused_for_pongs``). ``receive()`` is uvicorn's, with one condition added: it resumes reading
only if no pongs wait. (When the app closes, uvicorn also resumes reading, to hear the peer's
close frame; the next ping read then pauses it again, and uvicorn drops the connection at most
10 s after its close.) No wrapper is added on the way of a message: this costs nothing per
message (benchmarks/RESULTS.md).

Tested on uvicorn 0.54.0 (pinned in requirements.txt) with websockets 16.1.1, and on uvicorn
0.55.0 (its tests, benchmarks/RESULTS.md); ``echo/tests/test_websocket_transport.py`` fails if a
new uvicorn changes the methods this builds on. It goes away when uvicorn bounds pongs itself:
then use ``--ws websockets-sansio`` (or ``auto``) and keep tests/test_transport.py, which says
whether it does.
"""

from __future__ import annotations

from uvicorn._types import ASGIReceiveEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class FlowControlledPongsProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol that stops reading a peer whose pongs it cannot send."""

    paused_for_pongs = False  # reading is paused because pongs fill the write buffer

    def handle_ping(self) -> None:
        super().handle_ping()  # writes the pong(s) websockets queued for this read
        # pause_writing() has cleared `writable` if the write buffer is over its high-water mark.
        if not self.writable.is_set() and not self.transport.is_closing():
            self.paused_for_pongs = True
            self.transport.pause_reading()  # idempotent (asyncio's and uvloop's transports)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.paused_for_pongs:
            self.paused_for_pongs = False
            if not self.read_paused and not self.transport.is_closing():  # uvicorn's own reason may still hold
                self.transport.resume_reading()

    async def receive(self) -> ASGIReceiveEvent:
        # uvicorn 0.54's receive(), with `not self.paused_for_pongs` added (the guard test compares the two).
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            if not self.paused_for_pongs:
                self.transport.resume_reading()
        return message
