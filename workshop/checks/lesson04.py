"""Exercise 04, echo_project: an echo that numbers each message on its connection."""

from __future__ import annotations

import json

from ._common import (
    ExerciseHint,
    consumer_crashes,
    json_conversation,
    missing_await_hint,
    not_written,
    passed,
    run,
    unawaited_coroutines,
)


def _conversation(application, messages):
    try:
        with unawaited_coroutines() as unawaited, consumer_crashes() as crashes:
            connected, replies = run(json_conversation(application, "/echo/", messages))
        if crashes:  # the careful base class caught it, logged it and closed with 1011
            raise crashes[0]
    except NotImplementedError:
        raise not_written("CountingEchoConsumer") from None
    except AttributeError as error:
        if "count" in str(error):
            raise ExerciseHint(
                f"CountingEchoConsumer raised AttributeError: {error}. Set self.count = 0 in "
                "connect(), before the first message arrives"
            ) from None
        raise ExerciseHint(f"CountingEchoConsumer raised AttributeError: {error}") from None
    if unawaited:
        raise missing_await_hint(unawaited, "CountingEchoConsumer")
    if connected is None:
        raise ExerciseHint(
            "the handshake got no answer: your connect() must end with await self.accept() "
            "(overriding connect() replaces the one that accepted)"
        )
    if connected is False:
        raise ExerciseHint("the connection was refused: accept it in connect(), or do not override connect()")
    if None in replies:
        raise ExerciseHint("a message got no reply: reply to every message with await self.send_json(...)")
    try:
        return [json.loads(reply) for reply in replies]
    except (TypeError, ValueError):
        raise ExerciseHint(f"the replies {replies} are not JSON: use send_json(...)") from None


def check_counting_echo(consumer_class) -> None:
    """Exercise 04: echo each message with its number on this connection; bad input still answered."""
    try:
        application = consumer_class.as_asgi()
    except AttributeError:
        raise ExerciseHint("pass the consumer class itself, e.g. check_counting_echo(CountingEchoConsumer)") from None
    first = _conversation(application, [{"ch": "a"}, {"ch": "b"}])
    expected = [{"ch": "a", "count": 1}, {"ch": "b", "count": 2}]
    if first and "count" not in first[0]:
        raise ExerciseHint(f"the reply was {first[0]}: add the message's number, {{**content, 'count': n}}")
    if first and first[0].get("ch") != "a":
        raise ExerciseHint(
            f"{{'ch': 'a'}} came back as {first[0]}: keep the client's fields, {{**content, 'count': n}}"
        )
    if [reply.get("count") for reply in first] == [0, 1]:
        raise ExerciseHint(f"two messages got {first}: the count starts at 1; add 1 to self.count before sending")
    if first != expected:
        raise ExerciseHint(
            f"two messages got {first}, expected {expected}: add 1 to self.count for every message, before sending"
        )
    again = _conversation(application, [{"ch": "c"}])
    if again != [{"ch": "c", "count": 1}]:
        raise ExerciseHint(
            f"a new connection's first message got {again[0] if again else None}: the count must "
            "start again at 1 for each connection. Keep it on self (self.count = 0 in connect()), "
            "not on the class or in a global"
        )
    careless = ExerciseHint(
        "invalid JSON did not get an error reply: inherit from the project's "
        "CarefulJsonWebsocketConsumer (or EchoChamberConsumer), which answers bad input, and "
        "override receive_json, not receive"
    )
    try:
        connected, bad = run(json_conversation(application, "/echo/", ["{not json"]))
    except ValueError:  # the JSON decoder's error, raised in a consumer that does not catch it
        raise careless from None
    if not bad or not isinstance(bad[0], str) or "error" not in json.loads(bad[0]):
        raise careless
    passed("CountingEchoConsumer works: a 1, b 2, a new connection starts at 1, bad JSON gets an error")
