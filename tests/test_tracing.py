"""The tracer and its diagrams: what they record comes from a real server, in a stable order."""

import base64
import html.parser
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from workshop import (
    configure_django,
    connect_ws,
    diagrams,
    load_flows,
    record_flow,
    serve_asgi,
    trace,
    trace_channel_layer,
)
from workshop.diagrams import SequenceDiagram
from workshop.tracing import Flow, Hop, flow_log_lengths

configure_django("echo_project.settings")  # what pytest-django set up (pytest.ini): this process's settings

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs settings)
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.layers import InMemoryChannelLayer, channel_layers  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


async def echo(scope, receive, send):
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event["text"]})
        else:
            break


async def refuse(scope, receive, send):
    await receive()
    await send({"type": "websocket.close"})


class Room(AsyncJsonWebsocketConsumer):
    seen: list = []

    async def connect(self):
        await self.channel_layer.group_add("room", self.channel_name)
        await self.accept()

    async def receive_json(self, content):
        await self.channel_layer.group_send("room", {"type": "room.key", "ch": content["ch"]})

    async def room_key(self, event):
        Room.seen.append(event)
        await self.send_json({"ch": event["ch"]})

    async def disconnect(self, code):
        await self.channel_layer.group_discard("room", self.channel_name)


@pytest.fixture
def fresh_layer():
    """A new in-memory layer, traced; the old one is put back afterwards."""
    old = channel_layers.set("default", InMemoryChannelLayer())
    yield trace_channel_layer()
    channel_layers.set("default", old)


async def one_echo(app, word="hi"):
    traced = trace(app, label="app")
    server = serve_asgi(traced)
    try:
        with record_flow() as flow:
            async with connect_ws(server.ws_url("/")) as websocket:
                await websocket.send(word)
                await websocket.recv()
            traced.last().wait()
        return flow
    finally:
        server.stop()


async def test_a_labelled_trace_draws_the_client_the_server_and_the_app():
    flow = await one_echo(echo)
    assert flow.text().splitlines() == [
        "client -> server: GET, Upgrade: websocket",
        "server -> app: websocket.connect",
        "app -> server: websocket.accept",
        "server -> client: 101 Switching Protocols",
        "client -> server: text frame",
        "server -> app: websocket.receive text='hi'",
        "app -> server: websocket.send text='hi'",
        "server -> client: text frame",
        "client -> server: close frame 1000",
        "server -> app: websocket.disconnect code=1000 reason=''",
    ]


async def test_change_the_app_and_the_diagram_changes():
    accepted = (await one_echo(echo, "one")).diagram()
    assert "websocket.send text=&#x27;one&#x27;" in accepted.svg()
    assert "websocket.send text=&#x27;two&#x27;" in (await one_echo(echo, "two")).diagram().svg()

    server = serve_asgi(trace(refuse, label="app"))
    with record_flow() as flow:
        with pytest.raises(Exception, match="403"):
            await connect_ws(server.ws_url("/"))
    server.stop()
    assert "app -> server: websocket.close" in flow.text()
    assert "server -> client: 403 Forbidden" in flow.text()
    assert "101 Switching Protocols" not in flow.text()


async def test_an_unlabelled_trace_draws_nothing_and_no_flow_records_nothing():
    traced = trace(echo)
    server = serve_asgi(traced)
    with record_flow() as flow:
        async with connect_ws(server.ws_url("/")) as websocket:
            await websocket.send("x")
            await websocket.recv()
        traced.last()
    server.stop()
    assert flow.hops == [] and len(traced.last().messages) == 5
    assert (await one_echo(echo)).hops


async def test_nested_traces_show_each_middleware_and_the_scope_growing(fresh_layer):
    inner = trace(URLRouter([path("room/", trace(Room.as_asgi(), label="consumer"))]), label="router")
    outer = trace(AuthMiddlewareStack(inner), label="auth")
    server = serve_asgi(outer)
    with record_flow() as flow:
        async with connect_ws(server.ws_url("/room/")) as websocket:
            await websocket.send(json.dumps({"ch": "h"}))
            await websocket.recv()
        outer.last().wait()
    server.stop()
    lines = flow.text().splitlines()
    assert lines[:5] == [
        "client -> server: GET, Upgrade: websocket",
        "server -> auth: websocket.connect",
        "auth -> router: websocket.connect",
        "note over router: scope + cookies, session, user",
        "router -> consumer: websocket.connect",
    ]
    assert lines[5] == "note over consumer: scope + path_remaining, url_route"
    assert "consumer -> channel layer: group_send 'room' room.key" in lines
    assert "channel layer -> consumer: room.key ch='h'" in lines
    assert lines[-1] == "consumer -> channel layer: group_discard 'room'"


async def fan_out(members: int) -> Flow:
    traced = trace(Room.as_asgi(), label="consumer")
    server = serve_asgi(traced)
    with record_flow() as flow:
        clients = [await connect_ws(server.ws_url("/")) for _ in range(members)]
        await clients[0].send(json.dumps({"ch": "k"}))
        for client in clients:
            assert json.loads(await client.recv()) == {"ch": "k"}
        for client in clients:
            await client.close()
        for connection in traced.connections:
            connection.wait()
    server.stop()
    return flow


async def test_a_group_send_fans_out_to_every_member_the_same_way_every_run(fresh_layer):
    Room.seen.clear()
    first = await fan_out(3)
    text = first.text()
    for n in (1, 2, 3):
        assert f"channel layer -> consumer {n}: room.key ch='k'" in text
        assert f"server -> client {n}: text frame" in text
    assert text.count("group_send") == 1
    assert all("__flow_clock__" not in event for event in Room.seen), "the tick must not reach consumers"
    for _ in range(2):
        assert (await fan_out(3)).text() == text
    assert "consumer 4" in (await fan_out(4)).text()


async def test_a_cell_sending_to_a_group_is_drawn_as_the_cell(fresh_layer):
    traced = trace(Room.as_asgi(), label="consumer")
    server = serve_asgi(traced)
    with record_flow() as flow:
        async with connect_ws(server.ws_url("/")) as websocket:
            await server.run(fresh_layer.group_send("room", {"type": "room.key", "ch": "!"}))
            await websocket.recv()
        traced.last().wait()
    server.stop()
    assert "cell -> channel layer: group_send 'room' room.key" in flow.text()


def test_flows_saved_by_two_processes_merge_by_tick(tmp_path):
    sender, receiver = Flow("worker A"), Flow("worker B")
    sender.hops = [Hop(1, "consumer", "channel layer", "group_send 'room' room.key", source_lane=1, process="worker A")]
    receiver.hops = [
        Hop(2, "channel layer", "consumer", "room.key", target_lane=1, process="worker B"),
        Hop(1, "client", "server", "text frame", source_lane=1, process="worker B"),
    ]
    sender.save(tmp_path / "a.jsonl")
    receiver.save(tmp_path / "b.jsonl")
    merged = load_flows(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    assert merged.text().splitlines() == [
        "[worker A] consumer 1 (worker A) -> channel layer: group_send 'room' room.key",
        "[worker B] client -> server (worker B): text frame",
        "[worker B] channel layer -> consumer 2 (worker B): room.key",
    ]


def test_the_svg_is_well_formed_escaped_and_brings_its_own_colours():
    hops = [Hop(1, "client", "server", 'GET <&> "x"'), Hop(2, "server", "server", "note")]
    diagram = SequenceDiagram(hops, title="t")
    root = ElementTree.fromstring(diagram.svg())
    assert root.tag.endswith("svg")
    texts = [element.text for element in root.iter() if element.tag.endswith("text")]
    assert texts == ["client", "server", 'GET <&> "x"', "note"]
    # Shown as an <img>, it inherits no colour from the page: every colour is its own, dark ink on a light plate.
    colours = {element.get(attr) for element in root.iter() for attr in ("fill", "stroke") if element.get(attr)}
    assert colours <= {diagrams.INK, diagrams.PLATE, diagrams._EDGE, "none"}, colours
    plate = next(element for element in root.iter() if element.tag.endswith("rect"))
    assert (plate.get("width"), plate.get("fill")) == (str(int(root.get("width")) - 1), diagrams.PLATE)
    assert repr(diagram) == 't\nclient -> server: GET <&> "x"\nnote over server: note'


def test_its_text_is_never_smaller_than_jupyterlabs_body_text():
    root = ElementTree.fromstring(SequenceDiagram([Hop(1, "client", "server", "text frame")]).svg())
    assert float(root.get("font-size")) >= 14  # --jp-content-font-size1
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"  # drawn at its own size
    assert "max-width" not in (root.get("style") or "")


class _Tags(html.parser.HTMLParser):
    def __init__(self, markup):
        super().__init__()
        self.tags = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_in_a_notebook_it_is_an_image_at_its_own_size_in_a_box_that_scrolls():
    """JupyterLab keeps an <img> of a data: URL when it sanitizes an untrusted notebook's HTML; an
    inline <svg> comes out a jumble, and an image/svg+xml output is not shown at all."""
    names = ["client 1", "client 2", "server", "consumer 1", "consumer 2", "channel layer", "worker", "redis"]
    diagram = SequenceDiagram([Hop(i, names[i], names[i + 1], f"hop {i}") for i in range(7)], title='a "wide" one')
    (box, box_attrs), (img, attrs) = _Tags(diagram._repr_html_()).tags
    assert (box, img) == ("div", "img")
    assert "overflow-x: auto" in box_attrs["style"]
    assert set(attrs["class"].split()) == {"workshop-sequence", "jp-mod-unconfined"}  # JupyterLab: not fit to width
    assert "max-width: none" in attrs["style"]
    prefix = "data:image/svg+xml;base64,"
    assert attrs["src"].startswith(prefix)
    assert base64.b64decode(attrs["src"][len(prefix) :]).decode() == diagram.svg()
    root = ElementTree.fromstring(diagram.svg())
    assert (attrs["width"], attrs["height"]) == (root.get("width"), root.get("height")) and int(attrs["width"]) > 1400
    assert attrs["alt"] == 'a "wide" one'
    assert "<svg" not in diagram._repr_html_()


def _references(svg: str) -> tuple[list[str], list[str]]:
    """The ids an SVG defines, and the ids it refers to (url(#...), href="#...")."""
    defined = re.findall(r'\bid="([^"]+)"', svg)
    used = re.findall(r"url\(#([^)]+)\)", svg) + re.findall(r'href="#([^"]+)"', svg)
    return defined, used


def test_each_diagram_has_ids_of_its_own_and_refers_only_to_them():
    """Ids are per diagram: two diagrams shown inline in one page (an HTML export, two notebooks in
    JupyterLab) never point at each other's marker."""
    one = SequenceDiagram([Hop(1, "client", "server", "text frame")], title="one")
    two = SequenceDiagram([Hop(1, "client", "server", "close frame 1000")], title="two")
    ids = []
    for diagram in (one, two):
        defined, used = _references(diagram.svg())
        assert used and set(used) <= set(defined), (defined, used)
        assert all(diagram.diagram_id in name for name in defined)
        ids += defined
    assert len(ids) == len(set(ids)), ids
    assert one.diagram_id != SequenceDiagram(one.hops, title="one, renamed").diagram_id


def test_the_ids_are_the_same_on_every_run():
    """nbval compares the stored image with a new run's: an id from a counter, id() or hash() would differ.
    Two diagrams that draw the same share an id, and their markers are the same."""
    hops = [Hop(1, "client", "server", "text frame"), Hop(2, "server", "client", "text frame")]
    code = (
        "from workshop.diagrams import SequenceDiagram; from workshop.tracing import Hop; "
        f"print(SequenceDiagram([Hop(*h) for h in {[(h.clock, h.source, h.target, h.text) for h in hops]!r}]).svg())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert runs == {SequenceDiagram(hops).svg()}


async def test_a_flow_log_is_written_as_it_happens_and_read_from_a_mark(tmp_path):
    log_path = tmp_path / "worker.jsonl"
    traced = trace(echo, label="app")
    server = serve_asgi(traced)
    with open(log_path, "w", encoding="utf-8") as log, record_flow("worker A", log=log):
        async with connect_ws(server.ws_url("/")) as websocket:
            await websocket.send("one")
            await websocket.recv()
            mark = flow_log_lengths(log_path)
            assert mark[log_path] == 8  # written already, while the connection is still open
            await websocket.send("two")
            await websocket.recv()
        traced.last().wait()
    server.stop()
    assert load_flows(log_path, skip=mark).text().splitlines() == [
        "[worker A] client -> server: text frame",
        "[worker A] server -> app: websocket.receive text='two'",
        "[worker A] app -> server: websocket.send text='two'",
        "[worker A] server -> client: text frame",
        "[worker A] client -> server: close frame 1000",
        "[worker A] server -> app: websocket.disconnect code=1000 reason=''",
    ]


def test_a_traced_layer_as_a_context_manager_puts_the_plain_layer_back():
    plain = InMemoryChannelLayer()
    old = channel_layers.set("default", plain)
    try:
        with trace_channel_layer() as traced:
            assert channel_layers["default"] is traced and traced.layer is plain
            assert trace_channel_layer() is traced  # wrapping twice would draw every hop twice
        assert channel_layers["default"] is plain
    finally:
        channel_layers.set("default", old)


def test_no_lifeline_runs_through_a_label():
    hops = [
        Hop(1, "client", "server", "GET, Upgrade: websocket"),
        Hop(2, "server", "echo", "websocket.receive text='a rather long message, as a learner types'"),
        Hop(3, "client", "echo", "across the server: " + "x" * 60),
        Hop(4, "echo", "echo", "a note over the last participant, wider than its box"),
        Hop(5, "server", "client", "text frame"),
    ]
    root = ElementTree.fromstring(SequenceDiagram(hops).svg())
    lifelines = [
        (float(e.get("x1")), float(e.get("y1")), float(e.get("y2")))
        for e in root.iter()
        if e.tag.endswith("line") and e.get("stroke-dasharray")
    ]
    assert len(lifelines) > 3, "broken where labels lie"
    participants = {"client", "server", "echo"}
    labels = [e for e in root.iter() if e.tag.endswith("text") and e.text not in participants]
    assert len(labels) == len(hops)
    for label in labels:
        half = len(label.text) * diagrams._CHAR / 2  # the diagram's own estimate of its monospace
        x, baseline = float(label.get("x")), float(label.get("y"))
        through = [
            line
            for line in lifelines
            if x - half < line[0] < x + half and line[1] < baseline and line[2] > baseline - diagrams.FONT_SIZE
        ]
        assert not through, (label.text, through)
