"""See the ASGI messages of a connection, as on the talk's "Example ASGI message" slide.

``trace(app)`` wraps any ASGI app (a raw callable, a consumer, a router) in a
middleware that records the scope and every message received and sent::

    traced = trace(echo_app)
    server = serve_asgi(traced)
    ...                              # a client connects, talks, leaves
    print(traced.last().table())     # waits until that connection is over

The recording leaves out what changes from run to run (client ports), so a
table printed in a notebook is the same every time.
"""

from __future__ import annotations

import threading

__all__ = ["Connection", "Trace", "trace"]


def _summary(message: dict) -> str:
    details = []
    for key, value in message.items():
        if key == "type":
            continue
        if key == "headers":
            value = {k.decode("latin-1"): v.decode("latin-1") for k, v in value}
            details.append(f"headers={value}")
        elif isinstance(value, (bytes, bytearray)) and len(value) > 40:
            details.append(f"{key}=<{len(value)} bytes>")
        elif isinstance(value, str) and len(value) > 40:
            details.append(f"{key}={value[:37]!r}...")
        elif value is not None:
            details.append(f"{key}={value!r}")
    return " ".join(details)


class Connection:
    """One scope (an HTTP request, a WebSocket, a lifespan) and its messages in order."""

    def __init__(self, scope: dict):
        self.scope = scope
        self.messages: list[tuple[str, dict]] = []
        self.error: BaseException | None = None
        self._done = threading.Event()

    def record(self, direction: str, message: dict) -> None:
        self.messages.append((direction, dict(message)))

    @property
    def types(self) -> list[str]:
        """The message types in order, e.g. ['websocket.connect', 'websocket.accept', ...]."""
        return [message["type"] for _, message in self.messages]

    def wait(self, timeout: float = 10) -> Connection:
        if not self._done.wait(timeout):
            raise TimeoutError(f"the {self.scope['type']} connection was still open after {timeout} s")
        return self

    def scope_summary(self) -> dict:
        """The scope without what changes between runs (client and server ports)."""
        keep = ("type", "http_version", "method", "scheme", "path", "query_string", "subprotocols")
        summary = {key: self.scope[key] for key in keep if key in self.scope}
        if "headers" in self.scope:
            summary["headers"] = [name.decode("latin-1") for name, _ in self.scope["headers"]]
        return summary

    def table(self) -> str:
        """The messages as a table: who, which type, and the interesting fields."""
        rows = [("#", "direction", "type", "details")]
        for index, (direction, message) in enumerate(self.messages, 1):
            arrow = "app <- server" if direction == "receive" else "app -> server"
            rows.append((str(index), arrow, message["type"], _summary(message)))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3]
                 for row in rows]
        if self.error is not None:
            lines.append(f"(the app raised {type(self.error).__name__}: {self.error})")
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self):
        return self.table()


class Trace:
    """ASGI middleware that records every connection it sees."""

    def __init__(self, app):
        self.app = app
        self.connections: list[Connection] = []
        self._changed = threading.Condition()

    async def __call__(self, scope, receive, send):
        connection = Connection(scope)
        with self._changed:
            self.connections.append(connection)
            self._changed.notify_all()

        async def traced_receive():
            message = await receive()
            connection.record("receive", message)
            return message

        async def traced_send(message):
            connection.record("send", message)
            await send(message)

        try:
            await self.app(scope, traced_receive, traced_send)
        except BaseException as error:
            connection.error = error
            raise
        finally:
            connection._done.set()

    def last(self, scope_type: str | None = None, timeout: float = 10) -> Connection:
        """The latest connection (of this scope type), once it is over."""
        def latest():
            matching = [c for c in self.connections if scope_type in (None, c.scope["type"])]
            return matching[-1] if matching else None

        with self._changed:
            if not self._changed.wait_for(lambda: latest() is not None, timeout):
                raise TimeoutError(f"no {scope_type or 'connection'} reached the app in {timeout} s")
            connection = latest()
        return connection.wait(timeout)

    def clear(self) -> None:
        with self._changed:
            self.connections.clear()


def trace(app) -> Trace:
    """Wrap an ASGI app so its connections and messages can be looked at."""
    return Trace(app)
