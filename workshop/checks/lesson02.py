"""Exercise 02, raw ASGI: a middleware that traces every message (part 1), an app that shouts (part 2).

Over 400 lines: two exercises' specifications, each requirement with its probe and its hint rule, kept in one
file so it says everything the checks ask.
"""

from __future__ import annotations

import asyncio
import inspect

from ..clients import connect_ws
from ..serving import serve_asgi
from ..tracing import trace
from ._common import (
    SHORT,
    Client,
    ExerciseHint,
    changed_outside,
    diagnose,
    hint_for,
    learner_code,
    leave_under_uvicorn,
    not_written,
    passed,
    run,
    state_outside,
    stop_clients,
    unawaited_coroutines,
)

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


def _is_an_async_app(app) -> bool:
    """Whether uvicorn calls ``app`` as an ASGI 3 app, ``await app(scope, receive, send)``: uvicorn's own test.

    Anything else, a plain ``def`` above all, uvicorn takes for an ASGI 2 app and calls with the scope alone.
    """
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    if inspect.isfunction(app):
        return asyncio.iscoroutinefunction(app)
    return callable(app) and asyncio.iscoroutinefunction(app.__call__)


def _ended(client) -> object:
    """What the app returned, if it has ended without an error (None otherwise)."""
    future = client.communicator.future
    return future.result() if future.done() and not future.cancelled() and future.exception() is None else None


def _texts(client) -> list:
    """What the app sent after its first message: the text (or bytes) of each send, or the message itself."""
    return [m.get("text", m.get("bytes")) if m.get("type") == "websocket.send" else m for m in client.got[1:]]


# Connection A and connection B, interleaved; the words are ones the text never shows, past the first two.
_A_SAYS = ["hello", "again", "Mixed case 42"]
_B_SAYS = ["ça va?"]
_EXPECTED = {"a": ["1: HELLO", "2: AGAIN", "3: MIXED CASE 42"], "b": ["1: ÇA VA?"]}


class _Event(dict):
    """An ASGI event that notes each key the app asked for and it does not have (event['text'] of a disconnect)."""

    def __init__(self, event, missing: list):
        super().__init__(event)
        self._missing = missing

    def __missing__(self, key):
        self._missing.append((self.get("type"), key))
        raise KeyError(key)


def _noting_missing_keys(app, missing: list):
    """``app``, given events that note in ``missing`` the keys it read and they lack: a KeyError it may swallow."""

    async def noted(scope, receive, send):
        async def receive_noted():
            event = await receive()
            return _Event(event, missing) if isinstance(event, dict) else event

        return await app(scope, receive_noted, send)

    return noted


async def _shout_probe(shout) -> dict:
    """A opens and says hello; B opens; A says again; B speaks; A speaks; both leave. What each got."""
    missing: list = []
    shout = _noting_missing_keys(shout, missing)
    a, b = Client(shout, "/shout/"), Client(shout, "/shout/")
    facts = {"a": a, "b": b, "first": None, "returned": None, "missing": missing}
    try:
        await a.open()
        facts["first"] = a.got[0] if a.got else None
        if facts["first"] is None or facts["first"]["type"] != "websocket.accept":
            return facts
        steps = [(a, _A_SAYS[0]), (b, None), (a, _A_SAYS[1]), (b, _B_SAYS[0]), (a, _A_SAYS[2])]
        for client, text in steps:
            if await (client.open() if text is None else client.say(text)) is None:
                return facts  # no need to wait for more
        for client in (a, b):
            await client.leave()
    finally:
        facts["returned"] = _ended(a) or _ended(b)
        facts["a_returned_early"] = a.communicator.future.done() and a.ended is None
        await stop_clients((a, b))
    return facts


def _counts_and_words(replies) -> list:
    return [tuple(r.split(": ", 1)) if isinstance(r, str) and ": " in r else (None, r) for r in replies]


_SHOUT_ERRORS = [
    (
        lambda e: isinstance(e, KeyError) and e.args == ("text",),
        "shout read event['text'] from an event that has none (websocket.connect or websocket.disconnect): "
        "look at event['type'] first; only websocket.receive carries 'text'",
    ),
    (
        lambda e: isinstance(e, RuntimeError) and "StopIteration" in str(e),
        "the replies ran out: build each reply from the text the client sent, not from a list",
    ),
]

_SHOUT_RULES = [
    (
        lambda f: isinstance(f["returned"], dict) and "type" in f["returned"],
        lambda f: (
            f"shout returned {f['returned']}: an ASGI app returns nothing, it sends each reply with "
            "await send({'type': 'websocket.send', 'text': ...}) and keeps receiving in a loop"
        ),
    ),
    (
        lambda f: f["unawaited"],  # the only coroutine function shout is given is send
        "shout called send({...}) without await, so the message never went anywhere: "
        "write await send({'type': 'websocket.send', 'text': ...})",
    ),
    (
        lambda f: f["first"] is not None and f["first"]["type"] == "websocket.send",
        "the app sent a message before accepting: answer the first event (websocket.connect) with "
        "{'type': 'websocket.accept'}",
    ),
    (
        lambda f: f["first"] is None or f["first"]["type"] != "websocket.accept",
        lambda f: (
            f"the app answered websocket.connect with {f['first'] or 'nothing'}: accept first, with "
            "await send({'type': 'websocket.accept'})"
        ),
    ),
    (
        lambda f: any(not isinstance(t, (str, bytes)) for t in f["a_texts"]),
        lambda f: f"the app sent {f['a_texts']}: a reply is {{'type': 'websocket.send', 'text': ...}}",
    ),
    (
        lambda f: any(isinstance(t, bytes) for t in f["a_texts"]),
        "the replies were bytes: send {'type': 'websocket.send', 'text': ...}, not 'bytes'",
    ),
    (
        lambda f: len(f["a_texts"]) < len(_A_SAYS) and f["a_returned_early"],
        "shout returned while the connection was still open: keep receiving events in a loop until "
        "websocket.disconnect",
    ),
    (
        lambda f: len(f["a_texts"]) < len(_A_SAYS),
        lambda f: (
            f"'hello' then 'again' got {len(f['a_texts'])} replies: send a websocket.send for every "
            "websocket.receive (and keep receiving in a loop)"
        ),
    ),
    (
        lambda f: "HELLO" not in str(f["a_texts"][0]),
        lambda f: (
            f"'hello' got {f['a_texts'][0]!r}, expected '1: HELLO': upper-case the text, f'{{count}}: {{text.upper()}}'"
        ),
    ),
    (
        lambda f: f["a_words"][0] == "HELLO" and str(f["a_counts"][0]).isdigit() and f["a_counts"][0] != "1",
        lambda f: (
            f"'hello', the connection's first message, got {f['a_texts'][0]!r}, expected '1: HELLO': number "
            "the websocket.receive events only, from 1: start at 0 and add 1 when a message arrives, before "
            "replying (websocket.connect is not a message)"
        ),
    ),
    (
        lambda f: f["a_texts"][0] != "1: HELLO" and any(c.isdigit() for c in str(f["a_texts"][0])),  # the format
        lambda f: (
            f"'hello' got {f['a_texts'][0]!r}, expected '1: HELLO': the number, a colon, a space, then the "
            "text: f'{count}: {text.upper()}'"
        ),
    ),
    (
        lambda f: f["a_counts"][0] is None,
        lambda f: (
            f"'hello' got {f['a_texts'][0]!r}, expected '1: HELLO': count the messages of this "
            "connection from 1, and put the number first"
        ),
    ),
    (
        lambda f: (
            [w for _, w in _counts_and_words(f["a_texts"] + f["b_texts"])]
            != [w for _, w in _counts_and_words(_EXPECTED["a"] + _EXPECTED["b"])]
        ),
        lambda f: (
            f"words the text never shows came back wrong: A got {f['a_texts']}, B got {f['b_texts']}, "
            f"expected {_EXPECTED['a']} and {_EXPECTED['b']}: build each reply from event['text'], not from a list"
        ),
    ),
    (
        lambda f: f["a_texts"] + f["b_texts"] != _EXPECTED["a"] + _EXPECTED["b"] or f["changed"],
        lambda f: (
            f"with two connections at once, A got {f['a_texts']} and B got {f['b_texts']}, expected "
            f"{_EXPECTED['a']} and {_EXPECTED['b']}: each connection counts its own messages from 1. Start "
            "the count at 0 inside shout, a local of this call"
            + (f", not in {', '.join(f['changed'])}, which outlives the connection" if f["changed"] else "")
        ),
    ),
    (
        lambda f: f["missing"] and f["a"].ended and f["b"].ended,
        lambda f: (
            f"shout read event[{f['missing'][0][1]!r}] from a {f['missing'][0][0]} event, which has none, and "
            "the KeyError was swallowed (an except that passes?), so shout ended by accident: look at "
            "event['type'] first, return on websocket.disconnect, and catch no exception you cannot handle"
        ),
    ),
    (
        lambda f: not (f["a"].ended and f["b"].ended),
        "after websocket.disconnect, shout kept running: return when event['type'] == 'websocket.disconnect'",
    ),
    (
        lambda f: f["a"].after_leaving or f["b"].after_leaving,
        lambda f: (
            f"after websocket.disconnect, shout sent {(f['a'].after_leaving or f['b'].after_leaving)[0]}: "
            "the connection is over, send nothing more and return"
        ),
    ),
]


def check_shouting_app(shout) -> None:
    """Exercise 02: a WebSocket app answering each text message with '<n>: <TEXT>'.

    R1 an ASGI 3 app (async def of scope, receive, send); R2 it answers websocket.connect with
    websocket.accept, before anything else; R3 each websocket.receive gets one websocket.send whose text
    is '<n>: <TEXT>', the text upper-cased (words the text never shows too) and n the number of this
    connection's message, from 1; R4 two connections at once count apart, and a second run starts at 1
    (no count in a global, a default argument or a function attribute); R5 on websocket.disconnect it
    returns and sends nothing more, because it saw the event's type (not by a KeyError it swallowed); R6
    served by uvicorn (the README's transport), the same, and nothing raised.
    """
    if not _is_an_async_app(shout):
        raise ExerciseHint(
            "shout is a plain def: an ASGI app is an async def, async def shout(scope, receive, send), "
            "which awaits receive() and send(...). (uvicorn takes a plain def for an old ASGI 2 app, "
            "and calls it with the scope alone)"
        )
    with learner_code("shout", _SHOUT_ERRORS), unawaited_coroutines() as unawaited:
        before = state_outside(shout)
        facts = run(_shout_probe(shout))
        facts["changed"] = changed_outside(before, state_outside(shout))
    facts["unawaited"] = unawaited
    facts["a_texts"], facts["b_texts"] = _texts(facts["a"]), _texts(facts["b"])
    facts["a_counts"] = [count for count, _ in _counts_and_words(facts["a_texts"])]
    facts["a_words"] = [word for _, word in _counts_and_words(facts["a_texts"])]
    diagnose(facts, _SHOUT_RULES)
    with learner_code("shout", _SHOUT_ERRORS):
        served = leave_under_uvicorn(shout, "/shout/", ["hello", "one more"], name="check_shouting_app")
    diagnose(
        served,
        [
            (lambda s: s["raised"], lambda s: "served by uvicorn: " + str(hint_for(s["raised"][0], "shout"))),
            (
                lambda s: s["replies"] != ["1: HELLO", "2: ONE MORE"],
                lambda s: f"served by uvicorn, 'hello' and 'one more' got {s['replies']}",
            ),
            (lambda s: not s["ended"], "served by uvicorn, shout kept running after the client left"),
        ],
    )
    passed(
        "shout works: 'hello', 'again' -> '1: HELLO', '2: AGAIN', two connections count apart, served by uvicorn too"
    )


# --------------------------------------------------------------------------- part 1: the tracer

_CONVERSATION = [
    {"type": "websocket.connect"},
    {"type": "websocket.receive", "text": "hello"},
    {"type": "websocket.receive", "text": "again"},
    {"type": "websocket.disconnect", "code": 1000},
]


class _NotAMessage(Exception):
    """The app got something from receive() that is not an ASGI message (None, a coroutine)."""


def _insisting_on_messages(app, running: dict | None = None):
    """``app``, failing with _NotAMessage as soon as receive() gives it something that is not a dict.

    ``running`` notes whether the app started and whether it has finished.
    """
    running = {} if running is None else running

    async def guarded(scope, receive, send):
        async def checked_receive():
            event = await receive()
            if not isinstance(event, dict):
                raise _NotAMessage(event)
            return event

        running["started"] = True
        try:
            await app(scope, checked_receive, send)
        finally:
            running["finished"] = True

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


class _ClientGone(OSError):
    """What a server's send raises once the client has left (uvicorn's ClientDisconnected is an OSError)."""


async def _send_fails_probe(trace_messages) -> list:
    """The app accepts, and the server's send raises: the error must reach the app. Answers what the app caught."""
    caught: list = []
    events = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1001}])

    async def app(scope, receive, send):
        await receive()
        try:
            await send({"type": "websocket.accept"})
        except OSError as error:
            caught.append(error)

    async def receive():
        return next(events)

    async def send(message):
        raise _ClientGone("the client has gone")

    await asyncio.wait_for(trace_messages(app, [])(dict(_SCOPE), receive, send), SHORT)
    return caught


async def _drive_traced(traced, log, running):
    """Play ``_CONVERSATION`` to ``traced`` directly, as a server would; note in ``running`` if it returned early.

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
    task.add_done_callback(lambda _: running.setdefault("app_running_at_return", not running.get("finished")))
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
    return hint_for(error, "the traced app", _TRACER_ERRORS)


_TRACER_ERRORS = [
    (
        lambda e: isinstance(e, TypeError) and "coroutine" in str(e),
        "receive() gives a coroutine; await it first (message = await receive()), then read message['type']",
    ),
    (
        lambda e: isinstance(e, KeyError) and e.args == ("type",),
        "the app got a message without 'type': your wrapper took it out (message.pop?). "
        "Read message['type'] and pass the message on unchanged",
    ),
]


async def _two_traced_at_once(traced) -> dict:
    """Two connections through one traced echo, interleaved: what each client got back."""
    a, b = Client(traced, "/echo/"), Client(traced, "/echo/")
    try:
        for step in (a.open(), a.say("from A"), b.open(), b.say("from B"), a.say("A again")):
            await step
        for client in (a, b):
            await client.leave()
    finally:
        await stop_clients((a, b))
    return {"a": _texts(a), "b": _texts(b)}


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


def _sends_recorded_first(f) -> bool:
    sends_before = [index for index, (direction, _) in enumerate(f["log"]) if direction == "send"]
    return f["logged_at_send"] == [index + 1 for index in sends_before]


_TRACER_RULES = [
    (
        lambda f: any(name.endswith(".guarded") for name in f["unawaited"]),  # the app trace_messages was given
        "your wrapper called app(scope, ...) without await, so the app never ran: "
        "write await app(scope, traced_receive, traced_send)",
    ),
    (
        lambda f: any(name.endswith(".send") for name in f["unawaited"]),
        "your send wrapper called send(message) without await, so the message never went anywhere: "
        "write await send(message)",
    ),
    (
        lambda f: f["returned_early"],
        "your wrapper returned while the app was still running: it started the app as a task "
        "(ensure_future, create_task) and never awaited it, so the server thinks the connection is over "
        "and nothing waits for the app or hears its errors. Write await app(scope, traced_receive, traced_send)",
    ),
    (
        lambda f: f["outcome"] == "no accept",
        "the server never got websocket.accept: your send wrapper must pass the message on, with await send(message)",
    ),
    (
        lambda f: f["got"] != _CONVERSATION[: len(f["got"])],
        lambda f: (
            f"the app got {f['got']} but the server gave {_CONVERSATION[: len(f['got'])]}: your wrapper "
            "changed the messages; record message['type'] and pass each message on unchanged"
        ),
    ),
    (
        lambda f: f["sent"] != f["app_sent"],
        lambda f: f"the app sent {f['app_sent']} but the server got {f['sent']}: pass each message on unchanged",
    ),
    (
        lambda f: _hint_for_the_log(f["log"], f["truth"]) is not None,
        lambda f: str(_hint_for_the_log(f["log"], f["truth"])),
    ),
    (
        lambda f: f["outcome"] != "ok",
        lambda f: f"the conversation did not finish ({f['outcome']}): pass every message on, both ways",
    ),
    (
        lambda f: not _sends_recorded_first(f),
        "your wrapper records a sent message after awaiting send(): record it first, then await send(message). "
        "A send can fail (the client has gone) or wait a long time, and the log must already show what the app "
        "tried to send",
    ),
    (
        lambda f: f["apart"] != {"a": ["from A", "A again"], "b": ["from B"]},
        lambda f: (
            f"two connections at once through one traced app: A got {f['apart']['a']}, B got "
            f"{f['apart']['b']}, expected ['from A', 'A again'] and ['from B']. The wrapper is called once per "
            "connection: keep each call's receive and send in local names (or closures), not on self or in globals, "
            "which the next connection overwrites"
        ),
    ),
]


def check_tracer(trace_messages) -> None:
    """Exercise 02, part 1: ``trace_messages(app, log)`` records every message, in order, and passes it on.

    R1 trace_messages(app, log) returns an ASGI 3 app (an async def) that awaits app with its own
    receive and send, and returns only when the app has ended (no task left running); R2 the log holds
    one (direction, message type) per message, in the order they happen, equal to the kit's trace;
    R3 every message passes on unchanged, both ways; R4 a send is recorded before it is awaited, and an
    exception of the server's send (the client has gone) reaches the app; R5 two connections at once
    through one traced app stay apart (A's echo never reaches B); R6 served by uvicorn, the same.
    """
    log: list = []
    reference = trace(_echo)
    with learner_code("trace_messages", _TRACER_ERRORS):
        try:
            with unawaited_coroutines() as unawaited:
                running: dict = {}
                traced = trace_messages(_insisting_on_messages(reference, running), log)
                diagnose(
                    traced,
                    [
                        (
                            lambda app: app is None,
                            "trace_messages returned None: define the wrapping app inside it and return it "
                            "(return traced)",
                        ),
                        (
                            lambda app: not _is_an_async_app(app),
                            "trace_messages returned a plain def: the app it returns is an ASGI app, so an async "
                            "def, async def traced(scope, receive, send), which ends with "
                            "await app(scope, traced_receive, traced_send)",
                        ),
                    ],
                )
                outcome, sent, logged_at_send = run(_drive_traced(traced, log, running))
        except ExerciseHint:
            raise
        except Exception as error:
            raise _hint_for_a_tracer_error(error) from None
    seen = reference.connections[-1].messages if reference.connections else []
    facts = {
        "unawaited": unawaited,
        "outcome": outcome,
        "sent": sent,
        "logged_at_send": logged_at_send,
        "log": log,
        "got": [message for direction, message in seen if direction == "receive"],
        "app_sent": [message for direction, message in seen if direction == "send"],
        "truth": [(direction, message["type"]) for direction, message in seen],
        "returned_early": running.get("started") and running.get("app_running_at_return"),
    }
    diagnose(facts, _TRACER_RULES[:-1])
    with learner_code("trace_messages", _TRACER_ERRORS):
        facts["apart"] = run(_two_traced_at_once(trace_messages(_echo, [])))
        caught = run(_send_fails_probe(trace_messages))
    if not caught:
        raise ExerciseHint(
            "when the server's send failed (the client had gone: uvicorn raises ClientDisconnected, an OSError), "
            "the app never heard of it: your send wrapper swallowed the exception. Record the message, then "
            "await send(message), with no try/except around it, so the app learns the client left"
        )
    diagnose(facts, _TRACER_RULES[-1:])

    async def talk(url):
        async with connect_ws(url) as websocket:
            await websocket.send("hello")
            return await asyncio.wait_for(websocket.recv(), 2)

    served_log: list = []
    served_reference = trace(_echo)
    with learner_code("trace_messages", _TRACER_ERRORS):
        with serve_asgi(trace_messages(served_reference, served_log), name="check_tracer") as server:
            try:
                reply = run(talk(server.ws_url("echo/")))
                served_reference.last(timeout=2)
            except Exception as error:
                raise ExerciseHint(
                    f"served by uvicorn, the conversation failed ({type(error).__name__}: {error}). "
                    + " ".join(str(hint_for(e, "trace_messages")) for e in server.exceptions)
                ) from None
    served_truth = [(d, m["type"]) for d, m in served_reference.last().messages]
    if reply != "hello" or served_log != served_truth:
        raise ExerciseHint(f"served by uvicorn, the log was {served_log}, expected {served_truth}")
    passed(f"trace_messages records {len(log)} messages in order and passes them on; served by uvicorn too")
