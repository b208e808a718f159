"""See the ASGI messages of a connection, as on the talk's "Example ASGI message" slide.

``trace(app)`` wraps any ASGI app (a raw callable, a consumer, a router) in a
middleware that records the scope and every message received and sent::

    traced = trace(echo_app)
    server = serve_asgi(traced)
    ...                              # a client connects, talks, leaves
    print(traced.last().table())     # waits until that connection is over

The recording leaves out what changes from run to run (client ports), so a
table printed in a notebook is the same every time.

Flows: the whole path of a scenario, not one app. Give each layer you wrap a
label, wrap the channel layer too, and record::

    app = trace(OriginValidator(trace(AuthMiddlewareStack(trace(consumer, label="consumer")),
                                      label="auth")), label="origin check")
    trace_channel_layer()                      # the "default" layer of this process
    with record_flow() as flow:
        ...                                    # clients connect, talk, leave
    flow.diagram()                             # a sequence diagram, drawn inline

Each labelled layer records the hops between itself and the layer around it
(the outermost one talks to "server", which talks to "client"), and notes the
keys the layers before it added to the scope (``session``, ``user``,
``url_route``). The traced channel layer records sends, group sends and what
each consumer receives. A server in another process records its own flow and
saves it (``Flow.save``); ``load_flows`` merges the files.

Over 400 lines: a connection's trace, a flow across layers and the traced channel layer share one recording
(hops, labels, the scope's keys); the diagrams are drawn elsewhere (``diagrams``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading

__all__ = [
    "Connection",
    "Flow",
    "Hop",
    "Trace",
    "flow_log_lengths",
    "load_flows",
    "record_flow",
    "trace",
    "trace_channel_layer",
]


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
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
            for row in rows
        ]
        if self.error is not None:
            lines.append(f"(the app raised {type(self.error).__name__}: {self.error})")
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self):
        return self.table()


class Trace:
    """ASGI middleware that records every connection it sees."""

    def __init__(self, app, label: str | None = None):
        self.app = app
        self.label = label
        self.connections: list[Connection] = []
        self._changed = threading.Condition()

    async def __call__(self, scope, receive, send):
        connection = Connection(scope)
        with self._changed:
            self.connections.append(connection)
            self._changed.notify_all()
        flow = _LayerInFlow(self.label, scope) if self.label else None

        async def traced_receive():
            message = await receive()
            connection.record("receive", message)
            if flow:
                flow.received(message)
            return message

        async def traced_send(message):
            connection.record("send", message)
            if flow:
                flow.sent(message)
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


def trace(app, label: str | None = None) -> Trace:
    """Wrap an ASGI app so its connections and messages can be looked at.

    With a ``label``, the layer also draws its hops in every active ``record_flow()``;
    traces nest, one around each layer whose messages you want to see.
    """
    return Trace(app, label)


# --------------------------------------------------------------------------- flows
#
# Order. Concurrent connections interleave differently from run to run, so a flow
# is sorted by a logical clock (Lamport's), not by time: a hop happens one tick
# after the previous hop of its connection; a message taken from the channel layer
# one tick after it was sent (the tick travels inside the message, as trace ids do
# in distributed tracing); what a client starts happens after everything recorded
# so far. Hops of the same tick are drawn by connection, left to right. A scenario
# that waits for each step, as a notebook does, draws the same diagram every run.

_CLOCK_KEY = "__flow_clock__"  # inside channel-layer messages; removed before a consumer sees them
SHARED = 0  # the lane of a participant every connection shares: the server, the channel layer


class Hop:
    """One arrow of a flow (or a note, when ``source == target``), at a logical tick.

    ``source_lane``/``target_lane`` say whose connection an end belongs to (``SHARED``
    for the server or the channel layer), so that three consumers of one class can
    be told apart in the diagram as "consumer 1", "consumer 2", "consumer 3".
    """

    def __init__(
        self,
        clock: int,
        source: str,
        target: str,
        text: str,
        *,
        source_lane: int = SHARED,
        target_lane: int = SHARED,
        process: str = "",
    ):
        self.clock, self.source, self.target, self.text = clock, source, target, text
        self.source_lane, self.target_lane, self.process = source_lane, target_lane, process

    @property
    def is_note(self) -> bool:
        return self.source == self.target and self.source_lane == self.target_lane

    def as_dict(self) -> dict:
        return dict(vars(self))

    def _key(self):
        return (self.clock, self.process, self.source_lane or self.target_lane)


class _Lane:
    """One connection: its number, its clock, and the traced layers it went through."""

    def __init__(self, number: int, clock: int):
        self.number, self.clock = number, clock
        self.path: list[str] = []  # labels of the traced layers entered, outermost first
        self.scope_keys: set[str] = set()


_current_lane: contextvars.ContextVar[_Lane | None] = contextvars.ContextVar("workshop_flow_lane", default=None)


class Flow:
    """The hops recorded while ``record_flow()`` was active.

    ``repr(flow)`` and ``flow.text()`` give the arrows as text, ``flow.diagram()``
    draws them.
    """

    def __init__(self, process: str = "", log=None):
        self.process = process
        self.hops: list[Hop] = []
        self._log = log  # a text file: each hop is written as a JSON line when it happens
        self._lock = threading.Lock()
        self._clock = 0
        self._lanes = 0

    def _new_lane(self) -> _Lane:
        with self._lock:
            self._lanes += 1
            return _Lane(self._lanes, self._clock)

    def _add(
        self,
        lane: _Lane | None,
        source: str,
        target: str,
        text: str,
        *,
        source_lane=SHARED,
        target_lane=SHARED,
        after: int = 0,
        starts: bool = False,
    ) -> int:
        """Record a hop; ``starts``: it begins a new step (the client acts), after all so far."""
        with self._lock:
            base = self._clock if lane is None or starts else lane.clock
            clock = max(base, after) + 1
            if lane is not None:
                lane.clock = clock
            self._clock = max(self._clock, clock)
            hop = Hop(
                clock, source, target, text, source_lane=source_lane, target_lane=target_lane, process=self.process
            )
            self.hops.append(hop)
            if self._log is not None and not self._log.closed:  # a child server's: its parent reads it
                self._log.write(json.dumps(hop.as_dict()) + "\n")
                self._log.flush()
            return clock

    def ordered(self) -> list[Hop]:
        """The hops with participants named for display, in a stable order."""
        hops = sorted(self.hops, key=Hop._key)
        lanes: dict[str, list] = {}
        for hop in hops:
            for name, lane in ((hop.source, hop.source_lane), (hop.target, hop.target_lane)):
                if lane != SHARED and (hop.process, lane) not in lanes.setdefault(name, []):
                    lanes[name].append((hop.process, lane))

        processes = {hop.process for hop in hops}

        def display(name, lane, process):
            where = f" ({process})" if len(processes) > 1 else ""
            if lane == SHARED:
                return f"{name}{where}" if name == "server" else name
            where = "" if name == "client" else where  # clients are numbered across processes
            if len(lanes[name]) == 1:
                return f"{name}{where}"
            return f"{name} {lanes[name].index((process, lane)) + 1}{where}"

        return [
            Hop(
                hop.clock,
                display(hop.source, hop.source_lane, hop.process),
                display(hop.target, hop.target_lane, hop.process),
                hop.text,
                source_lane=hop.source_lane,
                target_lane=hop.target_lane,
                process=hop.process,
            )
            for hop in hops
        ]

    def text(self) -> str:
        """One line per hop, ``source -> target: text``: a stable summary to read or compare."""
        lines = []
        for hop in self.ordered():
            where = f"[{hop.process}] " if hop.process else ""
            if hop.is_note:
                lines.append(f"{where}note over {hop.source}: {hop.text}")
            else:
                lines.append(f"{where}{hop.source} -> {hop.target}: {hop.text}")
        return "\n".join(lines)

    def diagram(self, title: str = ""):
        """A sequence diagram of the flow, drawn inline in a notebook."""
        from .diagrams import SequenceDiagram

        return SequenceDiagram(self.ordered(), title=title)

    def save(self, path) -> None:
        """Write the hops as JSON lines, for another process to read with ``load_flows``."""
        with self._lock:
            hops = list(self.hops)
        with open(path, "w", encoding="utf-8") as file:
            for hop in hops:
                file.write(json.dumps(hop.as_dict()) + "\n")

    def __repr__(self):
        return self.text()


_flows: list[Flow] = []
_flows_lock = threading.Lock()


def _active_flows() -> list[Flow]:
    with _flows_lock:
        return list(_flows)


@contextlib.contextmanager
def record_flow(process: str = "", log=None):
    """Record the hops of labelled traces and traced channel layers, from any thread.

    ``process`` names the process the hops happen in, for flows merged across processes;
    ``log``, an open text file, receives each hop as a JSON line as it happens (``load_flows``).
    """
    flow = Flow(process, log)
    with _flows_lock:
        _flows.append(flow)
    try:
        yield flow
    finally:
        with _flows_lock:
            _flows.remove(flow)


def load_flows(*paths, skip: dict | None = None) -> Flow:
    """One flow made of the hops other processes wrote (``Flow.save``, or ``record_flow(log=...)``).

    ``skip`` maps a path to how many of its first hops to leave out: what happened before
    the part you want to draw (``flow_log_lengths`` gives those numbers).
    """
    merged = Flow()
    for path in paths:
        with open(path, encoding="utf-8") as file:
            lines = [line for line in file if line.endswith("\n")][(skip or {}).get(path, 0) :]
        merged.hops.extend(Hop(**json.loads(line)) for line in lines)
    return merged


def flow_log_lengths(*paths) -> dict:
    """How many hops each log holds now: pass it to ``load_flows(skip=...)`` to draw what comes next."""
    lengths = {}
    for path in paths:
        with open(path, encoding="utf-8") as file:
            lengths[path] = sum(1 for line in file if line.endswith("\n"))
    return lengths


def _on_the_wire(message: dict) -> str | None:
    """What travels between client and server for an ASGI message (RFC 6455), if anything."""
    kind = message["type"]
    if kind == "websocket.connect":
        return "GET, Upgrade: websocket"
    if kind == "websocket.accept":
        return "101 Switching Protocols"
    if kind == "websocket.close" and message.get("_before_accept"):
        return "403 Forbidden"
    if kind in ("websocket.receive", "websocket.send"):
        return "text frame" if message.get("text") is not None else "binary frame"
    if kind == "websocket.disconnect" and message.get("code") == 1006:
        return "gone, no close frame (1006)"  # RFC 6455, 7.1.5: closed abnormally
    if kind in ("websocket.disconnect", "websocket.close"):
        return f"close frame {message.get('code', 1000)}"
    if kind == "http.request":
        return "HTTP request"
    if kind == "http.response.start":
        return f"HTTP {message.get('status')}"
    return None


def _hop_text(message: dict) -> str:
    fields = {k: v for k, v in message.items() if k not in ("headers", _CLOCK_KEY)}
    return f"{message.get('type')} {_summary(fields)}".strip()


class _LayerInFlow:
    """What one labelled Trace writes into the active flows, for one connection."""

    def __init__(self, label: str, scope: dict):
        self.flows = _active_flows()
        lane = _current_lane.get()
        self.outermost = lane is None or not lane.path
        if lane is None:
            lane = self.flows[0]._new_lane() if self.flows else _Lane(0, 0)
            _current_lane.set(lane)
            self.parent = "server"
        else:
            self.parent = lane.path[-1] if lane.path else "server"
        self.lane, self.label, self.accepted = lane, label, False
        added = sorted(set(scope) - lane.scope_keys) if not self.outermost else []
        lane.scope_keys |= set(scope)
        lane.path.append(label)
        self.scope_note = "scope + " + ", ".join(added) if added else None  # drawn with the first message

    def _add(self, *args, **how) -> None:
        for flow in self.flows:
            flow._add(self.lane, *args, **how)

    def received(self, message: dict) -> None:
        if not self.flows:
            return
        n = self.lane.number
        parent_lane = SHARED if self.outermost else n
        if self.outermost:
            wire = _on_the_wire(message)
            if wire:
                self._add("client", "server", wire, source_lane=n, starts=True)
        self._add(self.parent, self.label, _hop_text(message), source_lane=parent_lane, target_lane=n)
        if self.scope_note:
            self._add(self.label, self.label, self.scope_note, source_lane=n, target_lane=n)
            self.scope_note = None

    def sent(self, message: dict) -> None:
        if not self.flows:
            return
        n = self.lane.number
        if message["type"] == "websocket.accept":
            self.accepted = True
        self._add(
            self.label, self.parent, _hop_text(message), source_lane=n, target_lane=SHARED if self.outermost else n
        )
        if self.outermost:
            wire = _on_the_wire({**message, "_before_accept": not self.accepted})
            if wire:
                self._add("server", "client", wire, target_lane=n)


class _TracedChannelLayer:
    """A channel layer that draws its sends, group sends and deliveries in the active flows."""

    def __init__(self, layer, label: str, outside: str, alias: str):
        self.layer, self.label, self.outside, self.alias = layer, label, outside, alias

    def __getattr__(self, name):  # new_channel, flush, capacity, ...: the layer's own
        return getattr(self.layer, name)

    def restore(self) -> None:
        """Put the wrapped layer back; consumers that connect from now on get it, untraced."""
        from channels.layers import channel_layers

        channel_layers.set(self.alias, self.layer)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.restore()

    def _record(self, to_layer: bool, text: str, after: int = 0) -> int:
        lane = _current_lane.get()
        who = lane.path[-1] if lane and lane.path else self.outside
        number = lane.number if lane else SHARED
        source, target = (who, self.label) if to_layer else (self.label, who)
        lanes = dict(source_lane=number) if to_layer else dict(target_lane=number)
        clock = 0
        for flow in _active_flows():
            clock = flow._add(lane, source, target, text, after=after, **lanes)
        return clock

    async def send(self, channel, message):
        clock = self._record(True, f"send {message.get('type')}")
        await self.layer.send(channel, {**message, _CLOCK_KEY: clock})

    async def group_send(self, group, message):
        clock = self._record(True, f"group_send {group!r} {message.get('type')}")
        await self.layer.group_send(group, {**message, _CLOCK_KEY: clock})

    async def group_add(self, group, channel):
        self._record(True, f"group_add {group!r}")
        await self.layer.group_add(group, channel)

    async def group_discard(self, group, channel):
        self._record(True, f"group_discard {group!r}")
        await self.layer.group_discard(group, channel)

    async def receive(self, channel):
        message = dict(await self.layer.receive(channel))
        clock = message.pop(_CLOCK_KEY, 0)
        self._record(False, _hop_text(message), after=clock)
        return message


def trace_channel_layer(alias: str = "default", *, label: str = "channel layer", outside: str = "cell"):
    """Wrap this process's channel layer ``alias`` so its traffic appears in flows.

    A consumer looks its layer up when its connection starts, so call this before
    clients connect. ``outside`` names the sender when no traced connection sends (a
    notebook cell, a management command). Returns the wrapper; every other method is
    the wrapped layer's. Calling it again returns the same wrapper. Used as a context
    manager (``with trace_channel_layer():``), it puts the plain layer back at the end.
    """
    from channels.layers import channel_layers

    layer = channel_layers[alias]
    if not isinstance(layer, _TracedChannelLayer):
        layer = _TracedChannelLayer(layer, label, outside, alias)
        channel_layers.set(alias, layer)
    return layer
