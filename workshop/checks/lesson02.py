"""Exercise 02, raw ASGI: a middleware that traces every message (part 1), an app that shouts (part 2)."""

from __future__ import annotations

import asyncio
import inspect

from ..clients import connect_ws
from ..serving import serve_asgi
from ..tracing import trace
from ._common import SHORT, ExerciseHint, not_written, passed, run, unawaited_coroutines

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


class _ReturnedAMessage(Exception):
    """The app returned a message instead of sending it."""


def _is_an_async_app(app) -> bool:
    """Whether uvicorn calls ``app`` as an ASGI 3 app, ``await app(scope, receive, send)``: uvicorn's own test.

    Anything else, a plain ``def`` above all, uvicorn takes for an ASGI 2 app and calls with the scope alone.
    """
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    if inspect.isfunction(app):
        return asyncio.iscoroutinefunction(app)
    return callable(app) and asyncio.iscoroutinefunction(app.__call__)


def _ended(task) -> None:
    """Raise what a finished app raised; _ReturnedAMessage if it returned a message."""
    returned = task.result()
    if isinstance(returned, dict) and "type" in returned:
        raise _ReturnedAMessage(returned)


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
                _ended(task)  # raise what the app raised
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
        _ended(task)
        return "ok", sent
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _hint_for_an_error(error: BaseException) -> ExerciseHint:
    if isinstance(error, NotImplementedError):
        return not_written("shout")
    if isinstance(error, _ReturnedAMessage):
        return ExerciseHint(
            f"shout returned {error.args[0]}: an ASGI app returns nothing, it sends each reply with "
            "await send({'type': 'websocket.send', 'text': ...}) and keeps receiving in a loop"
        )
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
    if not _is_an_async_app(shout):
        raise ExerciseHint(
            "shout is a plain def: an ASGI app is an async def, async def shout(scope, receive, send), "
            "which awaits receive() and send(...). (uvicorn takes a plain def for an old ASGI 2 app, "
            "and calls it with the scope alone)"
        )
    try:
        with unawaited_coroutines() as unawaited:
            outcome, sent = run(_drive(shout, ["hello", "again"]))
    except Exception as error:
        raise _hint_for_an_error(error) from None
    if any(name.endswith(".send") for name in unawaited):
        raise ExerciseHint(
            "shout called send({...}) without await, so the message never went anywhere: "
            "write await send({'type': 'websocket.send', 'text': ...})"
        )
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


# --------------------------------------------------------------------------- part 1: the tracer

_CONVERSATION = [
    {"type": "websocket.connect"},
    {"type": "websocket.receive", "text": "hello"},
    {"type": "websocket.receive", "text": "again"},
    {"type": "websocket.disconnect", "code": 1000},
]


class _NotAMessage(Exception):
    """The app got something from receive() that is not an ASGI message (None, a coroutine)."""


def _insisting_on_messages(app):
    """``app``, failing with _NotAMessage as soon as receive() gives it something that is not a dict."""

    async def guarded(scope, receive, send):
        async def checked_receive():
            event = await receive()
            if not isinstance(event, dict):
                raise _NotAMessage(event)
            return event

        await app(scope, checked_receive, send)

    return guarded


async def _echo(scope, receive, send):
    """The known app the tracer wraps: accept, echo each text, return on disconnect."""
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event["text"]})
        elif event["type"] == "websocket.disconnect":
            return


async def _drive_traced(traced, log):
    """Play ``_CONVERSATION`` to ``traced`` directly, as a server would.

    Answers (what happened, what the server sent, what the server got, the log's length at each send).
    What happened is "ok", "no accept", "stuck" or "still running".
    """
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    events = [dict(event) for event in _CONVERSATION]
    logged_at_send = []

    async def receive():
        return await inbox.get()

    async def send(message):
        logged_at_send.append(len(log))
        await outbox.put(dict(message))

    async def next_sent():
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHORT
        while loop.time() < deadline:
            if not outbox.empty():
                return outbox.get_nowait()
            if task.done():
                task.result()
                return None
            await asyncio.sleep(0.005)
        return None

    task = asyncio.ensure_future(traced(dict(_SCOPE), receive, send))
    sent = []
    try:
        for event in events[:-1]:
            await inbox.put(event)
            reply = await next_sent()
            if reply is None:
                return ("no accept" if not sent else "stuck"), sent, logged_at_send
            sent.append(reply)
        await inbox.put(events[-1])
        done, _ = await asyncio.wait([task], timeout=SHORT)
        if not done:
            return "still running", sent, logged_at_send
        task.result()
        return "ok", sent, logged_at_send
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _hint_for_a_tracer_error(error: BaseException) -> ExerciseHint:
    if isinstance(error, NotImplementedError):
        return not_written("trace_messages")
    if isinstance(error, _NotAMessage):
        got = error.args[0]
        if got is None:
            return ExerciseHint(
                "the app got None from receive(): your receive wrapper must return the message "
                "it got (return message), or the app never sees the events"
            )
        if inspect.iscoroutine(got):
            got.close()
            return ExerciseHint(
                "the app got a coroutine from receive(), not a message: await receive() inside "
                "your wrapper (message = await receive()), then record it and return it"
            )
        return ExerciseHint(f"the app got {got!r} from receive(): return the message itself")
    if isinstance(error, TypeError) and "coroutine" in str(error):
        return ExerciseHint(
            f"{error}: receive() gives a coroutine; await it first (message = await receive()), "
            "then read message['type']"
        )
    if isinstance(error, KeyError) and error.args == ("type",):
        return ExerciseHint(
            "the app got a message without 'type': your wrapper took it out (message.pop?). "
            "Read message['type'] and pass the message on unchanged"
        )
    return ExerciseHint(f"the traced app raised {type(error).__name__}: {error}")


def _hint_for_the_log(log, truth) -> ExerciseHint | None:
    """What is wrong with ``log`` compared with ``truth`` (the kit's trace), or None."""
    if log == truth:
        return None
    if not log:
        return ExerciseHint(
            "the log is empty: append each record to the list trace_messages was given (log), "
            "not to a new or a global list"
        )
    if any(inspect.iscoroutine(value) for entry in log for value in (entry if isinstance(entry, tuple) else [entry])):
        for entry in log:
            for value in entry if isinstance(entry, tuple) else [entry]:
                if inspect.iscoroutine(value):
                    value.close()
        return ExerciseHint(
            "the log holds a coroutine: you recorded receive() before awaiting it. Record after "
            "message = await receive(), and record message['type']"
        )
    if not all(isinstance(entry, tuple) and len(entry) == 2 for entry in log):
        return ExerciseHint(f"the log is {log[:3]}...: append one tuple per message, (direction, message['type'])")
    directions = {direction for direction, _ in log}
    if not directions & {"receive", "send"}:
        return ExerciseHint(
            f"the log is {log}: nothing from receive or send. The scope describes the connection; "
            "the messages go through receive() and send(): wrap those two and record each message"
        )
    if any(isinstance(kind, dict) for _, kind in log):
        return ExerciseHint("the log holds whole messages: record (direction, message['type'])")
    swapped = {"receive": "send", "send": "receive"}
    if [(swapped.get(direction), kind) for direction, kind in log] == truth:
        return ExerciseHint(
            "the directions are swapped: what the app gets from receive() is ('receive', ...), "
            "what it passes to send() is ('send', ...)"
        )
    if "send" not in directions:
        return ExerciseHint(
            f"the log is {log}: only what the app received. Wrap send too, and record what the app sends"
        )
    if "receive" not in directions:
        return ExerciseHint(
            f"the log is {log}: only what the app sent. Wrap receive too, and record what the app receives"
        )
    return ExerciseHint(f"the log is {log}, but the app's messages were {truth}, in that order")


def check_tracer(trace_messages) -> None:
    """Exercise 02, part 1: ``trace_messages(app, log)`` records every message, in order, and passes it on."""
    log: list = []
    reference = trace(_echo)
    try:
        with unawaited_coroutines() as unawaited:
            traced = trace_messages(_insisting_on_messages(reference), log)
            if traced is None:
                raise ExerciseHint(
                    "trace_messages returned None: define the wrapping app inside it and return it (return traced)"
                )
            if not _is_an_async_app(traced):
                raise ExerciseHint(
                    "trace_messages returned a plain def: the app it returns is an ASGI app, so an async def, "
                    "async def traced(scope, receive, send), which ends with "
                    "await app(scope, traced_receive, traced_send)"
                )
            outcome, sent, logged_at_send = run(_drive_traced(traced, log))
    except ExerciseHint:
        raise
    except Exception as error:
        raise _hint_for_a_tracer_error(error) from None
    if any(name.endswith(".guarded") for name in unawaited):  # the app trace_messages was given
        raise ExerciseHint(
            "your wrapper called app(scope, ...) without await, so the app never ran: "
            "write await app(scope, traced_receive, traced_send)"
        )
    if any(name.endswith(".send") for name in unawaited):
        raise ExerciseHint(
            "your send wrapper called send(message) without await, so the message never went "
            "anywhere: write await send(message)"
        )
    if outcome == "no accept":
        raise ExerciseHint(
            "the server never got websocket.accept: your send wrapper must pass the message on, "
            "with await send(message)"
        )
    seen = reference.connections[-1].messages if reference.connections else []
    got = [message for direction, message in seen if direction == "receive"]
    if got != _CONVERSATION[: len(got)]:
        raise ExerciseHint(
            f"the app got {got} but the server gave {_CONVERSATION[: len(got)]}: your wrapper changed "
            "the messages; record message['type'] and pass each message on unchanged"
        )
    truth = [(direction, message["type"]) for direction, message in seen]
    if sent != [message for direction, message in seen if direction == "send"]:
        raise ExerciseHint(
            f"the app sent {[m for d, m in seen if d == 'send']} but the server got {sent}: pass each "
            "message on unchanged"
        )
    hint = _hint_for_the_log(log, truth)
    if hint is not None:
        raise hint
    if outcome != "ok":
        raise ExerciseHint(f"the conversation did not finish ({outcome}): pass every message on, both ways")
    sends_before = [index for index, (direction, _) in enumerate(log) if direction == "send"]
    if logged_at_send != [index + 1 for index in sends_before]:
        raise ExerciseHint(
            "your wrapper records a sent message after awaiting send(): record it first, then "
            "await send(message). A send can fail (the client has gone) or wait a long time, and "
            "the log must already show what the app tried to send"
        )

    async def talk(url):
        async with connect_ws(url) as websocket:
            await websocket.send("hello")
            return await asyncio.wait_for(websocket.recv(), 2)

    served_log: list = []
    served_reference = trace(_echo)
    with serve_asgi(trace_messages(served_reference, served_log), name="check_tracer") as server:
        try:
            reply = run(talk(server.ws_url("echo/")))
            served_reference.last(timeout=2)
        except Exception as error:
            problems = " ".join(f"{type(e).__name__}: {e}" for e in server.exceptions)
            raise ExerciseHint(
                f"served by uvicorn, the conversation failed ({type(error).__name__}: {error}). {problems}"
            ) from None
    served_truth = [(d, m["type"]) for d, m in served_reference.last().messages]
    if reply != "hello" or served_log != served_truth:
        raise ExerciseHint(f"served by uvicorn, the log was {served_log}, expected {served_truth}")
    passed(f"trace_messages records {len(log)} messages in order and passes them on; served by uvicorn too")
