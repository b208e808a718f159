"""Exercise 08, testing: a test that passes the right consumer and fails broken ones.

``check_test_catches_bugs(test_reverse)``, the requirements of a good test:

- R1 it is an async def that awaits the communicator (its methods are coroutines);
- R2 it passes the right ``ReverseConsumer``, also when run again in the same process;
- R3 it fails every broken consumer, not only the three the exercise names: one that echoes the text
  unchanged, never accepts, sends plain text, and nearly-right ones: a text changed but not reversed,
  only the first letter right, the last letter dropped, the right text under another key;
  and when one slips through, the hint says what the test did: an AssertionError it caught itself, or
  an input for which the broken reply is the right one too (``"ab"``: a rotation is its reverse);
- R4 nothing it leaves behind reaches the learner's cell (tasks of failed runs are collected quietly).

The check runs the learner's test against each consumer; a table of (broken consumer, what a test must
assert to catch it) names the first one it lets pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import linecache
import sys

from ._common import (
    ExerciseHint,
    is_learners_code,
    learner_code,
    learners_error,
    not_written,
    passed,
    run,
    unawaited_coroutines,
    where,
)

_EXACT = "compare the reply to the exact dict you expect, for a text that reads differently backwards (not 'abba')"


def _reverse_consumers():
    """A correct consumer, and broken ones with what a test must assert to catch each."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    def replying(answer):
        class Replying(AsyncJsonWebsocketConsumer):
            said: list = []  # (text, reply) for each message a test sent: what the test did, for the hint

            async def receive_json(self, content, **kwargs):
                reply = answer(content["text"])
                type(self).said.append((content["text"], reply))
                await self.send_json(reply)

        return Replying

    class NeverAccepts(AsyncJsonWebsocketConsumer):
        async def connect(self):
            await self.close()

    class SendsPlainText(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send(text_data=content["text"][::-1])

    correct = replying(lambda text: {"reversed": text[::-1]})
    broken = {  # the three the exercise names first, then nearly-right ones
        "echoes the text unchanged": (replying(lambda text: {"reversed": text}), _EXACT),
        "never accepts the connection": (
            NeverAccepts,
            "assert connected, the first value that await communicator.connect() gives",
        ),
        "sends plain text, not JSON": (
            SendsPlainText,
            "read the reply with receive_json_from() and compare it to the dict you expect",
        ),
        "changes the text without reversing it (upper case)": (
            replying(lambda text: {"reversed": text.upper()}),
            "a test that the text changed is not a test that it was reversed: " + _EXACT,
        ),
        "gets only the first letter right": (
            replying(lambda text: {"reversed": text[-1:] + text[:-1]}),
            "compare the whole reversed text, not its first letter: " + _EXACT,
        ),
        "drops the last letter": (
            replying(lambda text: {"reversed": text[:0:-1]}),
            "compare the whole reversed text, not a part of it: " + _EXACT,
        ),
        "sends the right text under another key ('reverse')": (
            replying(lambda text: {"reverse": text[::-1]}),
            "compare the whole reply, key included: " + _EXACT,
        ),
    }
    return correct, broken


def _why_it_slipped(test_reverse, consumer, advice) -> str:
    """What the test did with a broken consumer it let pass: an assertion it swallowed, or an input that cannot
    tell the broken reply from the right one, or else the assertion it lacks (``advice``)."""
    swallowed = _swallowed_assertions(test_reverse, consumer)
    if swallowed:
        return (
            f"your test raised {swallowed[0]} and caught it itself, so it passed: an assertion that fails "
            "must reach the test runner. Take the try/except (or the except AssertionError) away from the asserts"
        )
    said = getattr(consumer, "said", [])
    if said and all(reply == {"reversed": text[::-1]} for text, reply in said):
        texts = ", ".join(repr(text) for text in dict.fromkeys(text for text, _ in said))
        return (
            f"for the text {texts} that consumer's reply is the right one too ({said[0][1]}), so no assertion "
            "can tell them apart: test with a text that reads differently backwards, several letters long "
            "(not 'ab', not 'abba'), e.g. 'hello'"
        )
    return advice


def _swallowed_assertions(test_reverse, consumer) -> list[str]:
    """The AssertionErrors raised in the learner's test while it ran against ``consumer`` (it then passed)."""
    raised: list[str] = []

    def local(frame, event, arg):
        if event == "exception" and isinstance(arg[1], AssertionError):
            raised.append(f"AssertionError at {_label(frame)}")
        return local

    def calls(frame, event, arg):
        return local if is_learners_code(frame.f_code) else None

    async def traced():
        previous = sys.gettrace()
        sys.settrace(calls)  # this thread only, while the test runs; put back after
        try:
            await test_reverse(consumer)
        finally:
            sys.settrace(previous)

    with contextlib.suppress(Exception), learner_code("test_reverse", raise_background=False):
        run(asyncio.wait_for(traced(), 2))
    return list(dict.fromkeys(raised))


def _label(frame) -> str:
    source = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"line {frame.f_lineno}" + (f": {source}" if source else "")


def _run_test(test_reverse, consumer):
    return run(asyncio.wait_for(test_reverse(consumer), 2))


def _failed_the_correct_one(error) -> ExerciseHint:
    line = where(error)
    said = f"{type(error).__name__}: {error}" + (f", at {line}" if line else "")
    text = str(error)
    if "AsyncToSync in the same thread as an async event loop" in text:
        advice = (
            "async_to_sync is for sync code; your test is an async def, running in an event loop: "
            "await the communicator's methods directly, connected, _ = await communicator.connect()"
        )
    elif "coroutine" in text:
        advice = "the communicator's methods are coroutines, so await each of them"
    elif any(words in text for words in ("positional argument", "takes no arguments", "exactly one argument")):
        advice = "give the communicator consumer_class.as_asgi(), not the class"
    else:
        advice = 'for {"text": "abc"} it answers {"reversed": "cba"}'
    return ExerciseHint(f"your test failed the correct ReverseConsumer ({said}): {advice}")


def check_test_catches_bugs(test_reverse) -> None:
    """Exercise 08: a test that passes the right consumer and fails broken ones, nearly-right ones included."""
    if not inspect.iscoroutinefunction(test_reverse):
        raise ExerciseHint("test_reverse must be an async def: it awaits the communicator")
    correct, broken = _reverse_consumers()
    for _ in range(2):  # R2: a second run in the same process passes too
        try:
            with unawaited_coroutines() as unawaited:
                _run_test(test_reverse, correct)
        except NotImplementedError:
            raise not_written("test_reverse") from None
        except Exception as error:  # the learner's own assert, an error in their test, or a timeout
            raise _failed_the_correct_one(learners_error(error)) from None
        if unawaited:
            raise ExerciseHint(
                f"your test called {unawaited[0].rsplit('.', 1)[-1]}(...) without await, so it never "
                "ran: await each of the communicator's methods"
            )
    let_pass = []
    with learner_code("test_reverse", raise_background=False):  # failed runs leave tasks: collected quietly
        for flaw, (consumer, advice) in broken.items():
            try:
                _run_test(test_reverse, consumer)
            except Exception:
                continue
            let_pass.append((flaw, consumer, advice))
    if let_pass:
        flaw, consumer, advice = let_pass[0]
        raise ExerciseHint(
            f"your test passed a consumer that {flaw}: " + _why_it_slipped(test_reverse, consumer, advice)
        )
    passed(f"your test passes the right consumer and catches all {len(broken)} broken ones")
