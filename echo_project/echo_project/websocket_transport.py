"""uvicorn's sans-I/O WebSocket implementation, with pongs under flow control.

Run it with ``--ws echo_project.websocket_transport:FlowControlledPongsProtocol`` (uvicorn
takes a class path there, as it takes one for the app); the README's command does.

What it fixes: uvicorn's sans-I/O implementation (``--ws websockets-sansio``, what ``--ws auto``
picks) answers every ping with a pong written straight from ``data_received``, and pauses
reading only while an application message waits in its queue, never for a pong. A client that
sends pings and never reads makes the server buffer every pong: 4 such clients took a server
from 40 to 148 MiB in 20 s, and an honest client timed out (tests/test_transport.py keeps it
out). Here, once a pong has pushed the write buffer over its high-water mark (the transport
calls ``pause_writing``), reading from that peer pauses, and it resumes when the buffer has
drained (``resume_writing``): the peer's pings wait in its own socket, not in our memory.
RFC 6455 §5.5.2 asks for a pong "as soon as is practical", and §5.5.3 lets an endpoint that
has not yet answered earlier pings answer only the most recent one, so a pong delayed until
the peer reads is within the protocol (https://www.rfc-editor.org/rfc/rfc6455#section-5.5.3).

Why not uvicorn's legacy ``--ws websockets``, which awaits ``drain()`` after each pong and so
holds the flood: uvicorn 0.54 deprecates it, and says ``--ws websockets`` will later point at
the sans-I/O implementation, so an upgrade would silently bring the unbounded pongs back. It is
also slower here (benchmarks/RESULTS.md, issue 23).

Reading now has two reasons to pause, and each clears only its own: uvicorn's (a message
waits in the queue: ``read_paused``) and this class's (pongs wait in the write buffer:
``paused_for_pongs``). uvicorn resumes reading in ``receive()`` and when the app closes; after
either, this class pauses again at once, before the event loop can read, if pongs still wait.

Tested on uvicorn 0.54.0 (pinned in requirements.txt) with websockets 16.1.1, and on uvicorn
0.55.0 (its tests, benchmarks/RESULTS.md); ``echo/tests/test_websocket_transport.py`` fails if a
new uvicorn changes the methods this builds on. It goes away when uvicorn bounds pongs itself: then use ``--ws websockets-sansio``
(or ``auto``) and keep tests/test_transport.py, which says whether it does.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class FlowControlledPongsProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol that stops reading a peer whose pongs it cannot send."""

    paused_for_pongs = False  # reading is paused because pongs fill the write buffer

    def handle_ping(self) -> None:
        super().handle_ping()  # writes the pong(s) websockets queued for this read
        # pause_writing() has cleared `writable` if that write crossed the high-water mark.
        if not self.writable.is_set() and not self.paused_for_pongs and not self.transport.is_closing():
            self.paused_for_pongs = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.paused_for_pongs:
            self.paused_for_pongs = False
            if not self.read_paused and not self.transport.is_closing():  # uvicorn's own reason still holds
                self.transport.resume_reading()

    async def receive(self):
        message = await super().receive()  # may resume reading: its queue is empty
        self._keep_paused_for_pongs()
        return message

    async def send(self, message) -> None:
        await super().send(message)  # a close resumes reading, to hear the peer's close
        self._keep_paused_for_pongs()

    def _keep_paused_for_pongs(self) -> None:
        # Called right after uvicorn may have resumed reading, before the event loop runs again.
        if self.paused_for_pongs and not self.transport.is_closing():
            self.transport.pause_reading()
