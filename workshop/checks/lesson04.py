"""Exercise 04, echo_project: an echo that numbers each object on its connection and refuses other values."""

from __future__ import annotations

import json

from ._common import (
    Client,
    ExerciseHint,
    changed_outside,
    diagnose,
    hint_for,
    learner_code,
    leave_under_uvicorn,
    missing_await_hint,
    passed,
    run,
    state_outside,
    stop_clients,
    unawaited_coroutines,
)

WHO = "CountingEchoConsumer"

# One connection: (what the client sends, what it must get back); "error" is {"error": ...}.
_PROTOCOL = [
    ({"ch": "a"}, {"ch": "a", "count": 1}),
    ({"ch": "b"}, {"ch": "b", "count": 2}),
    ("hello", "error"),  # JSON, but not an object: nowhere to put a count
    ([1, 2], "error"),
    ({"ch": "c", "count": 99}, {"ch": "c", "count": 3}),  # the server's count wins
    ({"ch": "ü", "keys": [1, {"x": None}]}, {"ch": "ü", "keys": [1, {"x": None}], "count": 4}),  # unseen fields
    (42, "error"),
    (None, "error"),  # null, a float and true: values the text never shows
    (1.5, "error"),
    (True, "error"),
    ("{not json", "error"),  # not JSON at all: the careful base class answers it
    ({"ch": "d"}, {"ch": "d", "count": 5}),  # refused values were not counted
    ({}, {"count": 6}),  # an empty object is an object too
]


async def _protocol_probe(application) -> dict:
    client = Client(application, "/echo/")
    facts = {"client": client, "opened": await client.open(), "replies": []}
    try:
        if facts["opened"]:
            for message, _ in _PROTOCOL:
                raw = message if message == "{not json" else json.dumps(message)
                reply = await client.say(raw)
                facts["replies"].append(reply)
                if reply is None or isinstance(reply, tuple):
                    break
            else:
                await client.leave()
    finally:
        await stop_clients([client])
    return facts


async def _two_at_once(application) -> list:
    """A sends one object; B opens and sends one; A sends another: A's count is 1 then 2, B's is 1."""
    a, b = Client(application, "/echo/"), Client(application, "/echo/")
    try:
        await a.open()
        replies = [await a.say({"x": 1}), await b.open() and await b.say({"x": 2}), await a.say({"x": 3})]
        for client in (a, b):
            await client.leave()
    finally:
        await stop_clients((a, b))
    return replies


def _show(message) -> str:
    return json.dumps(message) if message != "{not json" else "the text {not json"


def _first_wrong(replies):
    for (message, expected), reply in zip(_PROTOCOL, replies + [None] * len(_PROTOCOL), strict=False):
        good = isinstance(reply, dict) and "error" in reply if expected == "error" else reply == expected
        if not good or (expected != "error" and type(reply.get("count")) is not int):
            return message, expected, reply
    return None


def _wrong_reply(facts) -> str:
    message, expected, reply = facts["wrong"]
    if reply is None:
        return f"{_show(message)} got no reply: answer every message, with send_json(...) or send_error(...)"
    if isinstance(reply, tuple):
        return f"the consumer closed the connection (code {reply[1]}) on {_show(message)}: answer it, keep it open"
    if message == "{not json":
        return (
            "invalid JSON did not get an error reply: inherit from the project's CarefulJsonWebsocketConsumer, "
            "which answers bad input, and override receive_json, not receive"
        )
    if expected == "error":
        return (
            f"{_show(message)} is JSON but not an object, and got {reply}: there is nowhere to put its count, so "
            "answer it with await self.send_error('...') (check isinstance(content, dict)), and do not count it"
        )
    if message == {}:
        return (
            f"the empty object {{}} got {reply}, expected {expected}: it is an object too; check "
            "isinstance(content, dict), not whether content is empty"
        )
    if not isinstance(reply, dict) or "count" not in reply:
        return f"{_show(message)} came back as {reply}: add the message's number, {{**content, 'count': n}}"
    if reply["count"] == 99:
        return (
            f'{{"ch": "c", "count": 99}} came back as {reply}: the client\'s count won. Put yours last, '
            "{**content, 'count': n}, so the server's number replaces whatever the client sent"
        )
    if {k: v for k, v in reply.items() if k != "count"} != {k: v for k, v in expected.items() if k != "count"}:
        return f"{_show(message)} came back as {reply}: keep all the client's fields, {{**content, 'count': n}}"
    if type(reply["count"]) is not int:
        return f"the count was {reply['count']!r}, a {type(reply['count']).__name__}: send the number itself, an int"
    if facts["replies"][0].get("count") == 0:
        return f"two messages got {facts['replies'][:2]}: the count starts at 1; add 1 to self.count before sending"
    if message in ({"ch": "c", "count": 99}, {"ch": "d"}):
        return (
            f"{_show(message)} came back as {reply}, expected {expected}: a value that gets an error is not counted; "
            "count an object after checking it"
        )
    return f"{_show(message)} came back as {reply}, expected {expected}: add 1 to self.count for every object"


_RULES = [
    (
        lambda f: f["opened"] is None,
        "the handshake got no answer: your connect() must end with await self.accept() "
        "(overriding connect() replaces the one that accepted)",
    ),
    (
        lambda f: f["opened"] is False,
        "the connection was refused: accept it in connect(), or do not override connect()",
    ),
    (lambda f: f["wrong"] is not None, _wrong_reply),
    (
        lambda f: f["apart"][0] != {"x": 1, "count": 1} and not f["changed"],
        lambda f: (
            f"a new connection's first object came back as {f['apart'][0]}: the count starts at 1 for each connection"
        ),
    ),
    (
        lambda f: f["apart"] != [{"x": 1, "count": 1}, {"x": 2, "count": 1}, {"x": 3, "count": 2}] or f["changed"],
        lambda f: (
            f"with two connections at once, A got {f['apart'][0]} and {f['apart'][2]}, B got {f['apart'][1]}: "
            "each connection counts its own messages from 1. Keep the count on self (self.count = 0 in connect()), "
            + (
                f"not in {', '.join(f['changed'])}, which outlives the connection"
                if f["changed"]
                else "not on the class or in a global"
            )
        ),
    ),
    (
        lambda f: not f["client"].ended,
        "after its client left, the consumer kept running: if you override websocket_disconnect, call "
        "super().websocket_disconnect(message); or override disconnect(self, code) instead",
    ),
    (
        lambda f: f["client"].after_leaving,
        lambda f: (
            f"after its client left, the consumer sent {f['client'].after_leaving[0]}: the connection is "
            "already closed, so send nothing (no self.close()) in disconnect(); under uvicorn that send raises "
            "RuntimeError"
        ),
    ),
]

_ERRORS = [
    (
        lambda e: isinstance(e, AttributeError) and "count" in str(e),
        "set self.count = 0 in connect(), before the first message arrives",
    ),
    (
        lambda e: isinstance(e, TypeError) and ("mapping" in str(e) or "not iterable" in str(e)),
        "a JSON value that is not an object cannot take a count: check isinstance(content, dict) first, and "
        "answer anything else with await self.send_error('...')",
    ),
    (
        ValueError,
        "invalid JSON crashed the consumer: inherit from the project's CarefulJsonWebsocketConsumer, which answers "
        "bad input, and override receive_json, not receive",
    ),
]


def check_counting_echo(consumer_class) -> None:
    """Exercise 04: each JSON object comes back with its number on this connection; other values get an error.

    R1 an object ({} too) comes back with all its fields and "count": n, an int, the number of objects this
    connection sent, from 1 (fields the text never shows too); R2 the server's count wins over a
    "count" the client sends; R3 a JSON value that is not an object ("hello", [1, 2], 42, null, 1.5, true) gets
    {"error": ...}, is not counted, and the connection stays open; R4 text that is not JSON gets the
    careful base class's error (override receive_json, not receive); R5 two connections at once count
    apart, and nothing is kept on the class, in a global or in a default argument (a second run starts
    at 1); R6 when the
    client leaves, the consumer ends and sends nothing, also under the README's uvicorn transport.
    """
    try:
        application = consumer_class.as_asgi()
    except AttributeError:
        raise ExerciseHint("pass the consumer class itself, e.g. check_counting_echo(CountingEchoConsumer)") from None
    who = getattr(consumer_class, "__name__", WHO)
    with learner_code(who, _ERRORS), unawaited_coroutines() as unawaited:
        before = state_outside(consumer_class)
        facts = run(_protocol_probe(application))
        facts["apart"] = run(_two_at_once(application)) if facts["opened"] and not unawaited else [None] * 3
        facts["changed"] = changed_outside(before, state_outside(consumer_class))
    if unawaited:
        raise missing_await_hint(unawaited, who)
    facts["wrong"] = _first_wrong(facts["replies"]) if facts["opened"] else None
    diagnose(facts, _RULES)
    with learner_code(who, _ERRORS):
        served = leave_under_uvicorn(application, "/echo/", [{"ch": "a"}], name="check_counting_echo")
    if served["raised"]:
        raise ExerciseHint("served by uvicorn (the README's transport): " + str(hint_for(served["raised"][0], who)))
    passed(
        "CountingEchoConsumer works: a 1, b 2, the server's count wins, other JSON values and bad JSON get an "
        "error, two connections count apart"
    )
