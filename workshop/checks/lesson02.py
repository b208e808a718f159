"""Exercise 02, raw ASGI: a WebSocket app that answers '<n>: <TEXT>' to every message."""

from __future__ import annotations

import asyncio

from ..clients import connect_ws
from ..serving import serve_asgi
from ._common import SHORT, ExerciseHint, not_written, passed, run

_SCOPE = {
    "type": "websocket",
    "asgi": {"version": "3.0"},
    "path": "/shout/",
    "raw_path": b"/shout/",
    "query_string": b"",
    "headers": [],
    "scheme": "ws",
    "subprotocols": [],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


class _AfterDisconnect(Exception):
    """The app asked for another event after websocket.disconnect."""


async def _drive(shout, texts):
    """Play one connection's events to ``shout`` directly, as a server would; return what it did.

    Answers (what happened, the messages it sent). What happened is "ok", "no accept",
    "returned early", "received after disconnect" or "still running".
    """
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    state = {"disconnected": False}

    async def receive():
        if state["disconnected"]:
            raise _AfterDisconnect
        event = await inbox.get()
        state["disconnected"] = event["type"] == "websocket.disconnect"
        return event

    async def send(message):
        await outbox.put(message)

    async def next_sent():
        """What the app sends next, or None if it sends nothing within SHORT (or has ended)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHORT
        while loop.time() < deadline:
            if not outbox.empty():
                return outbox.get_nowait()
            if task.done():
                task.result()  # raise what the app raised
                return None
            await asyncio.sleep(0.005)
        return None

    task = asyncio.ensure_future(shout(dict(_SCOPE), receive, send))
    sent = []
    try:
        await inbox.put({"type": "websocket.connect"})
        first = await next_sent()
        if first is not None:
            sent.append(first)
        if first is None or first.get("type") != "websocket.accept":
            return ("returned early" if task.done() and first is None else "no accept"), sent
        for text in texts:
            await inbox.put({"type": "websocket.receive", "text": text})
            reply = await next_sent()
            if reply is None:
                return ("returned early" if task.done() else "ok"), sent
            sent.append(reply)
        await inbox.put({"type": "websocket.disconnect", "code": 1000})
        done, _ = await asyncio.wait([task], timeout=SHORT)
        if not done:
            return "still running", sent
        task.result()
        return "ok", sent
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _hint_for_an_error(error: BaseException) -> ExerciseHint:
    if isinstance(error, NotImplementedError):
        return not_written("shout")
    if isinstance(error, _AfterDisconnect):
        return ExerciseHint(
            "after websocket.disconnect, shout asked for another event: the connection is "
            "over, so return when event['type'] == 'websocket.disconnect'"
        )
    if isinstance(error, KeyError) and error.args == ("text",):
        return ExerciseHint(
            "shout read event['text'] from an event that has none (websocket.connect or "
            "websocket.disconnect): look at event['type'] first; only websocket.receive "
            "carries 'text'"
        )
    return ExerciseHint(f"shout raised {type(error).__name__}: {error}")


def check_shouting_app(shout) -> None:
    """Exercise 02: a WebSocket app answering each text message with '<n>: <TEXT>'."""
    try:
        outcome, sent = run(_drive(shout, ["hello", "again"]))
    except Exception as error:
        raise _hint_for_an_error(error) from None
    if outcome == "no accept":
        if sent and sent[0].get("type") == "websocket.send":
            raise ExerciseHint(
                "the app sent a message before accepting: answer the first event "
                "(websocket.connect) with {'type': 'websocket.accept'}"
            )
        raise ExerciseHint(
            f"the app answered websocket.connect with {sent[0] if sent else 'nothing'}: accept "
            "first, with await send({'type': 'websocket.accept'})"
        )
    if outcome == "returned early":
        raise ExerciseHint(
            "shout returned while the connection was still open: keep receiving events in a "
            "loop until websocket.disconnect"
        )
    replies = [message.get("text", message.get("bytes")) for message in sent[1:]]
    if any(message.get("type") != "websocket.send" for message in sent[1:]):
        raise ExerciseHint(f"the app sent {sent[1:]}: a reply is {{'type': 'websocket.send', 'text': ...}}")
    if len(replies) < 2:
        raise ExerciseHint(
            f"'hello' then 'again' got {len(replies)} replies: send a websocket.send for every "
            "websocket.receive (and keep receiving in a loop)"
        )
    if any(isinstance(reply, bytes) for reply in replies):
        raise ExerciseHint("the replies were bytes: send {'type': 'websocket.send', 'text': ...}, not 'bytes'")
    if replies != ["1: HELLO", "2: AGAIN"]:
        raise ExerciseHint(
            f"for 'hello' then 'again' the replies were {replies}, expected ['1: HELLO', '2: AGAIN']"
            ": upper-case the text, and count the messages of this connection from 1"
        )
    if outcome == "still running":
        raise ExerciseHint(
            "after websocket.disconnect, shout kept running: return when event['type'] == 'websocket.disconnect'"
        )
    try:
        _, second = run(_drive(shout, ["hello"]))  # a second connection
    except Exception as error:
        raise _hint_for_an_error(error) from None
    if second[1:] and second[1].get("text") != "1: HELLO":
        raise ExerciseHint(
            f"a second connection's first reply was {second[1].get('text')!r}: the count went on "
            "from the previous connection. Start it at 0 inside shout, once per connection, "
            "not in a global"
        )

    async def talk(url):
        async with connect_ws(url) as websocket:
            await websocket.send("hello")
            return await asyncio.wait_for(websocket.recv(), 2)

    with serve_asgi(shout, name="check_shouting_app") as server:
        try:
            reply = run(talk(server.ws_url("shout/")))
        except Exception as error:
            problems = " ".join(f"{type(e).__name__}: {e}" for e in server.exceptions)
            raise ExerciseHint(
                f"served by uvicorn, the conversation failed ({type(error).__name__}: {error}). {problems}"
            ) from None
    if reply != "1: HELLO":
        raise ExerciseHint(f"served by uvicorn, 'hello' got {reply!r}")
    passed("shout works: 'hello', 'again' -> '1: HELLO', '2: AGAIN', served by uvicorn too")
