"""Exercise 08, testing: a test that passes the right consumer and fails broken ones."""

from __future__ import annotations

import asyncio
import inspect

from ._common import ExerciseHint, not_written, passed, run, unawaited_coroutines


def _reverse_consumers():
    """A correct consumer, and broken ones with what a test must assert to catch each."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    class ReverseConsumer(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send_json({"reversed": content["text"][::-1]})

    class EchoesUnchanged(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send_json({"reversed": content["text"]})

    class NeverAccepts(ReverseConsumer):
        async def connect(self):
            await self.close()

    class SendsPlainText(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send(text_data=content["text"][::-1])

    broken = {
        "echoes the text unchanged": (
            EchoesUnchanged,
            "compare the reply to the exact dict you expect, for a text that reads differently backwards (not 'abba')",
        ),
        "never accepts the connection": (
            NeverAccepts,
            "assert connected, the first value that await communicator.connect() gives",
        ),
        "sends plain text, not JSON": (
            SendsPlainText,
            "read the reply with receive_json_from() and compare it to the dict you expect",
        ),
    }
    return ReverseConsumer, broken


def _run_test(test_reverse, consumer):
    return run(asyncio.wait_for(test_reverse(consumer), 2))


def check_test_catches_bugs(test_reverse) -> None:
    """Exercise 08: a test that passes the right consumer and fails three broken ones."""
    if not inspect.iscoroutinefunction(test_reverse):
        raise ExerciseHint("test_reverse must be an async def: it awaits the communicator")
    correct, broken = _reverse_consumers()
    try:
        with unawaited_coroutines() as unawaited:
            _run_test(test_reverse, correct)
    except NotImplementedError:
        raise not_written("test_reverse") from None
    except Exception as error:
        if "coroutine" in str(error):
            raise ExerciseHint(
                f"your test failed the correct ReverseConsumer ({type(error).__name__}: {error}): "
                "the communicator's methods are coroutines, so await each of them"
            ) from None
        if any(words in str(error) for words in ("positional argument", "takes no arguments", "exactly one argument")):
            raise ExerciseHint(
                f"your test failed the correct ReverseConsumer ({type(error).__name__}: {error}): "
                "give the communicator consumer_class.as_asgi(), not the class"
            ) from None
        raise ExerciseHint(
            f"your test failed the correct ReverseConsumer ({type(error).__name__}: {error}): "
            'for {"text": "abc"} it answers {"reversed": "cba"}'
        ) from None
    if unawaited:
        raise ExerciseHint(
            f"your test called {unawaited[0].rsplit('.', 1)[-1]}(...) without await, so it never "
            "ran: await each of the communicator's methods"
        )
    for flaw, (consumer, advice) in broken.items():
        try:
            _run_test(test_reverse, consumer)
        except Exception:
            continue
        raise ExerciseHint(f"your test passed a consumer that {flaw}: {advice}")
    passed(f"your test passes the right consumer and catches all {len(broken)} broken ones")
