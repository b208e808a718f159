"""What every exercise check shares: the hint, the check mark, and running the learner's code briefly.

A check runs what the learner wrote for real and either prints one line that
starts with a check mark, or raises ``ExerciseHint`` naming the likely mistake.
Every wait here is short (``SHORT`` seconds), so a wrong answer gets its hint in
well under three seconds instead of a timeout from deep inside a library.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import threading
import warnings

SHORT = 0.5  # seconds to wait for an answer that a right answer gives at once


class ExerciseHint(AssertionError):
    """Not solved yet; the message says what is likely wrong."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"\x1b[31mNot yet:\x1b[0m {self}"]


def passed(message: str) -> None:
    """The one line a solved exercise prints."""
    print(f"\u2713 {message}")


def not_written(name: str) -> ExerciseHint:
    """The hint for an exercise left as it came: its stub still raises NotImplementedError."""
    return ExerciseHint(
        f"{name} still raises NotImplementedError: replace the '# your code here' part above "
        "with your code, run that cell, then this one"
    )


def run(coroutine):
    """Run a coroutine to the end, also from a notebook cell (whose thread has a running loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        in_a_loop = False  # asyncio.run outside this except block: no exception context leaks into the run
    else:
        in_a_loop = True
    return in_a_plain_thread(asyncio.run, coroutine) if in_a_loop else asyncio.run(coroutine)


def in_a_plain_thread(function, *args):
    """Call ``function(*args)`` in a new thread with no event loop, as a management command runs; return its result.

    Its exception, if any, is raised here, in the caller's thread.
    """
    result = {}

    def call():
        try:
            result["value"] = function(*args)
        except BaseException as error:  # handed back to the caller's thread
            result["error"] = error

    worker = threading.Thread(target=call, name="exercise-check")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


@contextlib.contextmanager
def unawaited_coroutines():
    """Collect the names of coroutines made but never awaited inside the block (a missing ``await``)."""
    names: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        yield names
        gc.collect()  # a coroutine dropped in a cycle warns only when collected
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, RuntimeWarning) and "was never awaited" in text:
            names.append(text.split("'")[1] if "'" in text else text)


def missing_await_hint(names: list[str], who: str) -> ExerciseHint:
    """The hint for a coroutine that was made but never awaited (``names`` from ``unawaited_coroutines``)."""
    owner, _, method = names[0].rpartition(".")
    if owner.rsplit(".", 1)[-1] == who.split(".")[0]:  # the learner's own async def, called by a sync consumer
        return ExerciseHint(
            f"{who}.{method} is an async def, but a sync consumer calls its methods without "
            f"await, so it never ran: inherit from the Async... consumer class, or write "
            f"def {method}"
        )
    return ExerciseHint(
        f"{who} called {method}(...) without await, so it never ran: in an async def write "
        f"await ...{method}(...); in sync code, async_to_sync(...{method})(...)"
    )


async def connect(communicator, timeout: float = SHORT):
    """``communicator.connect()``, answering ``(None, None)`` when the handshake gets no answer in time."""
    try:
        return await communicator.connect(timeout=timeout)
    except (asyncio.TimeoutError, TimeoutError):
        return None, None


async def next_output(communicator, timeout: float = SHORT):
    """The consumer's next message to its client, or None if it sends nothing within ``timeout``.

    ``receive_nothing`` first: a ``receive_output`` that times out would cancel the consumer.
    """
    if await communicator.receive_nothing(timeout=timeout):
        if communicator.future.done():
            communicator.future.result()  # the consumer crashed meanwhile: raise its error
        return None
    return await communicator.receive_output()


async def json_conversation(application, path: str, messages, *, headers=(), timeout: float = SHORT):
    """Connect to ``application`` at ``path``, send each message, collect one reply per message.

    Answers ``(connected, replies)``: ``connected`` is None when the handshake got no answer,
    False when it was refused; a reply is the text (or bytes) sent, ``("closed", code)`` for a
    close, or None when nothing came within ``timeout``.
    """
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await connect(communicator, timeout)
    if not connected:
        await stop(communicator)
        return connected, []
    replies = []
    try:
        for message in messages:
            await communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))
            output = await next_output(communicator, timeout)
            if output is None or output["type"] == "websocket.close":
                replies.append(None if output is None else ("closed", output.get("code")))
                break
            replies.append(output.get("text") if output.get("text") is not None else output.get("bytes"))
    finally:
        await stop(communicator, disconnect=True)
    return True, replies


async def stop(communicator, disconnect: bool = False):
    """Tell the consumer the client left (if ``disconnect``), and end it, whatever state it is in."""
    with contextlib.suppress(Exception):
        if disconnect:
            await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(SHORT)


def consumer_class_of(application):
    """The consumer class behind ``SomeConsumer.as_asgi()``, or None."""
    return getattr(application, "consumer_class", None)


def inner_applications(application):
    """``application``, then what it wraps, and so on: middleware keep it as ``.inner`` or ``.application``."""
    seen = []
    while application is not None and len(seen) < 20:
        seen.append(application)
        application = getattr(application, "inner", None) or getattr(application, "application", None)
    return seen


@contextlib.contextmanager
def consumer_crashes():
    """Collect the exceptions echo_project's careful consumers caught and logged inside the block.

    ``CarefulJsonWebsocketConsumer`` closes a connection with 1011 when a handler raises, and logs
    the exception instead of letting it end the consumer: a check still names the learner's mistake.
    """
    crashes: list[BaseException] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.exc_info and record.exc_info[1] is not None:
                crashes.append(record.exc_info[1])

    logger = logging.getLogger("echo.consumers")
    handler = Collect()
    logger.addHandler(handler)
    try:
        yield crashes
    finally:
        logger.removeHandler(handler)
