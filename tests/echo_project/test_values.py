"""One set of values everywhere: the same ten odd values, on each database and each channel layer, get the same answers.

A value is either refused with ``{"error": ...}`` before the room hears it (what some database or
layer cannot keep), or heard by the room and kept in its history exactly as sent.
"""

import asyncio
import json
from decimal import Decimal

from workshop import serve_echo_project

from .test_history import database, join, next_message, postgres_server  # noqa: F401 (fixtures)

ODD_VALUES = {  # the JSON text a client sends: whether it is refused
    '"\\u0000"': True,  # NUL: PostgreSQL's text and jsonb cannot hold it
    '{"key\\u0000": 1}': True,  # the same, in a key
    '"\\ud800"': True,  # a lone surrogate: not text (UTF-8 cannot encode it)
    '["fine", "\\udfff"]': True,  # the other half alone, deeper down
    str(2**64): True,  # beyond 64 bits: msgpack (channels_redis) has no such integer
    str(-(2**63) - 1): True,
    str(2**64 - 1): False,  # the largest integer every layer carries
    str(-(2**63)): False,  # the smallest
    '"\\ud83d\\ude00 \\u2028"': False,  # a surrogate pair is one character (an emoji); U+2028 is text
    "1e308": False,  # the largest float's neighbourhood
}


def canonical(value):
    """``value`` as JSON means it: an object's keys in no order, and one kind of number (RFC 8259, sections 4 and 6).

    PostgreSQL's jsonb keeps an object's keys in an order of its own, and writes a number as a numeric
    (``1e308`` comes back as 1 followed by 308 zeros, the same number): compared as numbers, exactly.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return ("number", Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    if isinstance(value, dict):
        return sorted((key, canonical(item)) for key, item in value.items())
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


async def test_the_same_odd_values_get_the_same_answers_on_every_database_and_layer(database, layer_env):  # noqa: F811
    with serve_echo_project({"DATABASE_URL": database.url, **layer_env}, name="values") as server:
        ada, bob = await join(server, "odd"), await join(server, "odd")
        answers = {}
        for text, refused in ODD_VALUES.items():
            await ada.send(text)
            answer = await next_message(ada)
            answers[text] = "error" in answer
            if not refused:
                assert canonical(answer["message"]) == canonical(json.loads(text)), text
                assert canonical((await next_message(bob))["message"]) == canonical(json.loads(text)), text
        assert answers == ODD_VALUES
        said = [canonical(json.loads(text)) for text, refused in ODD_VALUES.items() if not refused]
        deadline = asyncio.get_running_loop().time() + 30  # stored just after the room heard them
        while len(database.stored()) < len(said) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        newcomer = await join(server, "odd")
        kept = [canonical(entry["message"]) for entry in newcomer.history]
        assert kept == said, "the history keeps what the room heard, and nothing it refused"
        await ada.close(), await bob.close(), await newcomer.close()
