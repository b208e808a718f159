"""What every exercise check shares: the hint, the check mark, and running the learner's code briefly.

A check runs what the learner wrote for real and either prints one line that
starts with a check mark, or raises ``ExerciseHint`` naming the likely mistake.
Every wait here is short (``SHORT`` seconds), so a wrong answer gets its hint
soon instead of a timeout from deep inside a library.

How a check is written
----------------------
1. Its docstring lists the exercise's requirements, R1, R2, ...
2. Probes run the learner's code and observe one requirement each (two
   connections at once, a second run, an error path, an unseen input, ...).
   They run inside ``learner_code``::

       with learner_code("TallyConsumer", advice=[(KeyError, "use content.get(...)")]) as caught:
           facts = run(probe(...))

   Any exception the learner's code raises inside the block, in the block itself,
   in an event loop's task or in a thread (uvicorn's, a ``sync_to_async`` worker),
   or logged with its traceback (a careful consumer logs and closes with 1011),
   becomes one ``ExerciseHint`` that names the exception and the learner's own
   line: "TallyConsumer raised KeyError: 'add' (cell In[5], line 12:
   n = content['add'])", followed by the first matching advice. The line is the
   innermost frame outside the kit, echo_project and installed libraries; a
   ``CancelledError`` is looked through to the error that caused it. Nothing the
   block's code writes to stderr outside a kit server (tracebacks of tasks and
   threads, "Task exception was never retrieved") reaches the cell: it is caught,
   and its exception turned into the hint. ``raise_background=False`` keeps such
   exceptions in ``caught.errors`` for the check to diagnose instead.
3. A table of ``(condition, hint)`` rules diagnoses the facts: ``diagnose(facts,
   rules)`` raises the hint of the first rule whose condition holds. No if-chains.

Over 400 lines: the one place every check's machinery lives (running the learner's code, probes, the hint, the
rules table); split, each check would import from several modules for one job.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import inspect
import io
import itertools
import json
import linecache
import logging
import os
import re
import reprlib
import sys
import sysconfig
import threading
import warnings
from collections.abc import Iterable

from .. import logs

SHORT = 0.5  # seconds to wait for an answer that a right answer gives at once


class ExerciseHint(AssertionError):
    """Not solved yet; the message says what is likely wrong.

    ``category`` is the hint's kind in a few words, what a classroom's projector shows (workshop/classroom.py):
    "wrong behaviour" (a rule of the check's table), "not written", "missing await", or "raised KeyError".
    """

    category = "wrong behaviour"

    def categorised(self, category: str) -> ExerciseHint:
        self.category = category
        return self

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
    ).categorised("not written")


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
        ).categorised("missing await")
    return ExerciseHint(
        f"{who} called {method}(...) without await, so it never ran: in an async def write "
        f"await ...{method}(...); in sync code, async_to_sync(...{method})(...)"
    ).categorised("missing await")


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


ENDED = {"type": "the application ended"}


async def next_event(communicator, timeout: float = SHORT):
    """The application's next output; None if it sends nothing within ``timeout``; ``ENDED`` if it returned.

    Its exception, if it crashed, is raised at once (``receive_output`` would wait out its timeout).
    """
    getter = asyncio.ensure_future(communicator.output_queue.get())
    done, _ = await asyncio.wait({getter, communicator.future}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        return getter.result()
    getter.cancel()
    if communicator.future in done:
        if not communicator.output_queue.empty():
            return communicator.output_queue.get_nowait()
        communicator.future.result()
        return ENDED
    return None


async def end_conversation(communicator, connected) -> dict:
    """Tell the application its client left (if it answered); answer whether it then ended, and what it sent after.

    Nothing may be sent after websocket.disconnect: the connection is gone (a close() in disconnect(),
    lesson 03's bug, raises RuntimeError under the README's uvicorn).
    """
    while not communicator.output_queue.empty():  # sent before it was told: not "after the disconnect"
        communicator.output_queue.get_nowait()
    if connected:
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    done, _ = await asyncio.wait({communicator.future}, timeout=SHORT)
    late = []
    while not communicator.output_queue.empty():
        late.append(communicator.output_queue.get_nowait()["type"])
    if not done:
        communicator.future.cancel()
        await asyncio.gather(communicator.future, return_exceptions=True)
        return {"ended": False, "late": late if connected else []}
    communicator.future.result()
    return {"ended": True, "late": late if connected else []}


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


# --------------------------------------------------------------------------- the learner's exceptions, as hints

_KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # workshop/
_LIBRARIES = tuple(
    os.path.join(os.path.realpath(path), "")
    for path in {
        *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
        _KIT,
        os.path.join(os.path.dirname(_KIT), "echo_project"),
    }
)


def _is_learners(filename: str) -> bool:
    """Whether code from ``filename`` is the learner's: a notebook cell, or a file outside the kit and libraries."""
    if filename.startswith("<"):
        return filename.startswith("<ipython-input")
    return not os.path.join(os.path.realpath(filename), "").startswith(_LIBRARIES)


def is_learners_code(code) -> bool:
    """Whether ``code`` (a function's ``__code__``, a frame's ``f_code``) is the learner's, not a library's."""
    return code is not None and _is_learners(code.co_filename)


def _learners_frame(error: BaseException):
    """The innermost frame of ``error``'s traceback that runs the learner's code: (filename, line number) or None."""
    found = None
    traceback = error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if _is_learners(code.co_filename):
            found = (code.co_filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _label(filename: str) -> str:
    """'cell In[5]' for a notebook cell, else the file's name."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    with contextlib.suppress(Exception):
        label = shell.compile.format_code_name(filename)
        if label:
            return f"{label[0].lower()} {label[1]}"
    return os.path.basename(filename)


def _related(error: BaseException):
    """``error``, then the errors it came from (cause, context) and the ones a group holds, depth first."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(getattr(current, "exceptions", ()) or ())
        pending.extend([current.__cause__, current.__context__])


def learners_error(error: BaseException) -> BaseException:
    """The error to name: the first in ``error``'s chain raised in the learner's code, looking through cancellations."""
    chain = [e for e in _related(error) if not isinstance(e, (asyncio.CancelledError, ExerciseHint))]
    return next((e for e in chain if _learners_frame(e)), chain[0] if chain else error)


def where(error: BaseException) -> str | None:
    """Where the learner's code raised ``error``: "cell In[5], line 12: n = content['add']", or None."""
    frame = _learners_frame(error)
    if frame is None:
        return None
    filename, number = frame
    source = linecache.getline(filename, number).strip()
    return f"{_label(filename)}, line {number}" + (f": {source}" if source else "")


def _matches(condition, error) -> bool:
    if isinstance(condition, type) or (isinstance(condition, tuple) and all(isinstance(c, type) for c in condition)):
        return isinstance(error, condition)
    return bool(condition(error))


def hint_for(error: BaseException, who: str, advice: Iterable = ()) -> ExerciseHint:
    """The hint for an exception from the learner's code: what was raised, on which line of theirs, what to do.

    ``advice`` is a table of ``(condition, text)``: a condition is an exception type (or a tuple of them)
    or a predicate on the error; the text (a str, or a function of the error) of the first match is added.
    """
    error = learners_error(error)
    if isinstance(error, ExerciseHint):
        return error
    if isinstance(error, NotImplementedError):
        return not_written(who)
    message = str(error) or "(no message)"
    text = f"{who} raised {type(error).__name__}: {message}"
    line = where(error)
    text += f" (at {line})" if line else ""
    for condition, tip in advice:
        if _matches(condition, error):
            text = text.rstrip(".") + ". " + (tip(error) if callable(tip) else tip)
            break
    return ExerciseHint(text).categorised(raised_category(error))


# The exceptions a category names by type: Python's, asyncio's, Django's and Channels'. A class of the
# learner's own is only "error": its name is their code, and a projector shows nobody's code.
NAMED_EXCEPTIONS = ("builtins", "asyncio", "json", "django", "channels", "asgiref")


def raised_category(error: BaseException) -> str:
    kind = type(error)
    return f"raised {kind.__name__}" if kind.__module__.split(".")[0] in NAMED_EXCEPTIONS else "error"


class _Caught:
    """What ran inside ``learner_code`` raised in the background: exceptions, and the stderr text around them."""

    def __init__(self):
        self.errors: list[BaseException] = []
        self.stderr = io.StringIO()


class _QuietStderr(io.TextIOBase):
    """sys.stderr during a check: a kit server's writes go on to its log, the rest is kept from the cell."""

    def __init__(self, original, caught: _Caught):
        self._original, self._caught = original, caught

    def write(self, text):
        if logs.current_buffer() is not None:
            return self._original.write(text)
        return self._caught.stderr.write(text)

    def flush(self):
        pass

    def __getattr__(self, name):
        return getattr(self._original, name)


class _Recorder(logging.Handler):
    def __init__(self, caught: _Caught):
        super().__init__(logging.ERROR)
        self._caught = caught

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None and logs.current_buffer() is None:
            self._caught.errors.append(record.exc_info[1])


@contextlib.contextmanager
def learner_code(who: str, advice: Iterable = (), *, raise_background: bool = True):
    """Run the learner's code inside: every exception it raises becomes a hint naming their line (see above).

    Yields an object whose ``errors`` lists the exceptions raised in the background (tasks,
    threads, logged tracebacks) while the block ran.
    """
    caught = _Caught()
    recorder = _Recorder(caught)
    root = logging.getLogger()
    saved = sys.stderr, threading.excepthook, sys.unraisablehook

    def thread_hook(arguments):
        if arguments.exc_value is not None and not isinstance(arguments.exc_value, SystemExit):
            caught.errors.append(arguments.exc_value)

    def unraisable_hook(unraisable):
        if unraisable.exc_value is not None:
            caught.errors.append(unraisable.exc_value)

    sys.stderr = _QuietStderr(saved[0], caught)
    threading.excepthook, sys.unraisablehook = thread_hook, unraisable_hook
    root.addHandler(recorder)
    hint = None
    try:
        try:
            yield caught
        except ExerciseHint as raised:
            hint = raised
        except Exception as error:
            hint = hint_for(error, who, advice)
        if hint is not None:  # let go of the frames it holds, so what they hold is collected now, not later
            hint.__context__ = hint.__cause__ = None
            hint = hint.with_traceback(None)
        gc.collect()  # a task whose exception nobody retrieved reports it when collected: now, not in the next cell
    finally:
        root.removeHandler(recorder)
        sys.stderr, threading.excepthook, sys.unraisablehook = saved
    if hint is not None:
        raise hint
    if raise_background and caught.errors:
        raise hint_for(caught.errors[0], who, advice)


def diagnose(facts, rules: Iterable) -> None:
    """Raise the hint of the first rule that holds: ``rules`` is a table of ``(condition, hint)``.

    A condition is a predicate on ``facts``; a hint is a str, or a function of ``facts`` answering one.
    """
    for condition, hint in rules:
        if condition(facts):
            raise ExerciseHint(hint(facts) if callable(hint) else hint)


def wrong_close_code(who: str, code, expected: int) -> str:
    """The hint for a close with ``code`` where the exercise asks for ``expected``; a str "4000" is named as a str.

    The protocol carries the code as an int: close(code="4000") looks right when printed, but is not 4000.
    """
    if isinstance(code, str):
        return (
            f"{who} closed with code {code!r}, a str: a close code is an int, so write "
            f"close(code={expected}), without quotes"
        )
    return f"{who} closed with code {code!r}: the exercise asks for {expected}"


# --------------------------------------------------------------------------- probes every check can use


class Client:
    """One WebSocket client of an ASGI application, played in this event loop, that notes all it gets.

    ``open``, ``say`` and ``leave`` wait at most ``SHORT`` seconds for an answer, never a library's
    timeout: a consumer that answers nothing gets its hint at once. An exception of the application
    is raised from the call that notices it (inside ``learner_code``, it becomes a hint).
    """

    def __init__(self, application, path: str = "/", headers=()):
        from channels.testing import WebsocketCommunicator

        self.communicator = WebsocketCommunicator(application, path, headers=list(headers))
        self.got: list[dict] = []  # every message the application sent, in order
        self.after_leaving: list[dict] = []  # what it sent after being told the client left (the talk's bug)
        self.ended: bool | None = None  # whether it ended once the client left (None: not asked)

    @property
    def closes_after_leaving(self) -> list[dict]:
        return [message for message in self.after_leaving if message["type"] == "websocket.close"]

    async def next(self, timeout: float = SHORT) -> dict | None:
        """The application's next message, or None if it sends nothing within ``timeout``."""
        output = await next_output(self.communicator, timeout)
        if output is not None:
            self.got.append(output)
        return output

    async def open(self, timeout: float = SHORT) -> bool | None:
        """Connect: True when accepted, False when refused (closed), None when the handshake got no answer."""
        await self.communicator.send_input({"type": "websocket.connect"})
        first = await self.next(timeout)
        if first is None:
            return None
        return first["type"] == "websocket.accept" or (False if first["type"] == "websocket.close" else None)

    async def say(self, content, timeout: float = SHORT):
        """Send ``content`` (a str as is, anything else as JSON text); answer the reply, as ``reply_of`` does."""
        text = content if isinstance(content, str) else json.dumps(content)
        await self.communicator.send_input({"type": "websocket.receive", "text": text})
        return reply_of(await self.next(timeout))

    async def hear(self, timeout: float = SHORT):
        """The next message, as ``reply_of`` answers it, without sending anything."""
        return reply_of(await self.next(timeout))

    async def leave(self, code: int = 1000, timeout: float = SHORT) -> None:
        """Tell the application the client left; note whether it ended, and what it sent afterwards.

        With a channel layer, a group message may race the disconnect: ``closes_after_leaving`` are
        the ``websocket.close`` messages alone, which nothing but a close in ``disconnect()`` sends.
        """
        communicator = self.communicator
        if communicator.future.done():
            self.ended = True
            communicator.future.result()  # raise what it raised
            return
        while not communicator.output_queue.empty():  # sent before it was told: not "after leaving"
            self.got.append(communicator.output_queue.get_nowait())
        await communicator.input_queue.put({"type": "websocket.disconnect", "code": code})
        done, _ = await asyncio.wait([communicator.future], timeout=timeout)
        self.ended = bool(done)
        while not communicator.output_queue.empty():
            self.after_leaving.append(communicator.output_queue.get_nowait())
        if done:
            error = communicator.future.exception()
            if error is not None and type(error).__name__ != "StopConsumer":
                raise error
        else:
            communicator.future.cancel()
            await asyncio.gather(communicator.future, return_exceptions=True)


async def stop_clients(clients) -> None:
    """End what is still running of ``clients``' applications, and take the errors of those that crashed.

    Taken, an error is not logged again when its task is collected, in the middle of the next check.
    """
    for client in clients:
        future = client.communicator.future
        if not future.done():
            future.cancel()
        await asyncio.gather(future, return_exceptions=True)


def reply_of(output):
    """What a client makes of an output: the JSON it carries, the raw text or bytes, ("closed", code), or None."""
    if output is None:
        return None
    if output["type"] == "websocket.close":
        return ("closed", output.get("code"))
    data = output.get("text") if output.get("text") is not None else output.get("bytes")
    if data is not None and not isinstance(data, (str, bytes)):
        raise ExerciseHint(
            f"the consumer sent {data!r}, a {type(data).__name__}, as a frame: send(text_data=...) takes a str; "
            "use send_json(...) to send a dict"
        )
    if isinstance(data, str):
        with contextlib.suppress(ValueError):
            return json.loads(data)
    return data


def state_outside(*objects) -> dict:
    """What lives outside any one connection: the plain values in the modules and classes of ``objects``.

    Compare it before and after a probe: a count, a name or a dict kept in a global or on a class
    (not on the instance) changes, and a second run of the check would start from it. So does one kept
    by the learner's functions and methods: in a default argument (``def connect(self, _totals={})``,
    named "TallyConsumer.connect(_totals=...)"), a closed-over variable ("count, closed over by shout"),
    a function attribute ("shout.count") or an ``lru_cache`` ("_counter_for's lru_cache").
    """
    snapshot: dict = {}
    seen: set[int] = set()
    for thing in objects:
        thing = getattr(thing, "func", thing)  # a functools.partial: the function it calls
        cls = None if hasattr(thing, "__globals__") else thing if isinstance(thing, type) else type(thing)
        if cls is None:
            _kept_by(getattr(thing, "__name__", "the function"), thing, snapshot, seen)
        places = [
            (f"{c.__name__}.", vars(c)) for c in (cls.__mro__ if cls else ()) if _is_learners_module(c.__module__)
        ]
        module = getattr(thing, "__module__", None)
        if _is_learners_module(module):
            places.append(("", vars(sys.modules[module])))
        for prefix, names in places:
            for name, value in list(names.items()):
                if _IPYTHONS_OWN.match(name) or name.startswith("__"):
                    continue
                plain = _plain(value)
                if plain is not None:
                    snapshot[prefix + name] = plain
                elif callable(value) or isinstance(value, (staticmethod, classmethod)):
                    with contextlib.suppress(Exception):  # a lazy object that fails when looked into is no state
                        _kept_by(prefix + name, value, snapshot, seen)
    return snapshot


def _plain(value):
    """A comparable picture of a value a learner may keep state in (a number, a str, a container), or None."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dict, list, set, collections.deque, collections.Counter)):
        return (type(value).__name__, len(value), reprlib.repr(value))  # a list's [0] that became [1] too
    if isinstance(value, itertools.count):
        return repr(value)
    return None


def _kept_by(label: str, function, snapshot: dict, seen: set) -> None:
    """Add to ``snapshot`` the state the learner's ``function`` keeps: defaults, closed-over cells, attributes."""
    function = getattr(function, "__func__", function)  # a staticmethod, classmethod or bound method
    origin = function
    with contextlib.suppress(Exception):
        origin = inspect.unwrap(function)
    code = getattr(origin, "__code__", None)
    if code is None or not _is_learners(code.co_filename):  # a library's function: not the learner's state
        return
    while function is not None and id(function) not in seen:
        seen.add(id(function))
        if callable(getattr(function, "cache_info", None)):  # functools.lru_cache / cache
            with contextlib.suppress(Exception):
                snapshot[f"{label}'s lru_cache"] = function.cache_info().currsize
        code = getattr(function, "__code__", None)
        if code is not None and _is_learners(code.co_filename):
            defaults = getattr(function, "__defaults__", None) or ()
            positional = code.co_varnames[: code.co_argcount]
            kept = dict(zip(positional[len(positional) - len(defaults) :], defaults, strict=True))
            kept.update(getattr(function, "__kwdefaults__", None) or {})
            for name, value in kept.items():
                if (plain := _plain(value)) is not None:
                    snapshot[f"{label}({name}=...)"] = plain
            for name, cell in zip(code.co_freevars, getattr(function, "__closure__", None) or (), strict=True):
                with contextlib.suppress(ValueError):  # an empty cell
                    if name != "__class__" and (plain := _plain(cell.cell_contents)) is not None:
                        snapshot[f"{name}, closed over by {label}"] = plain
            for name, value in list(getattr(function, "__dict__", {}).items()):
                if not name.startswith("__") and (plain := _plain(value)) is not None:
                    snapshot[f"{label}.{name}"] = plain
        function = getattr(function, "__wrapped__", None)


_IPYTHONS_OWN = re.compile(r"_(|_|__|i+|ih|oh|dh|\d+|i\d+)$|In$|Out$")  # a notebook's history, not state


def _is_learners_module(name: str | None) -> bool:
    module = sys.modules.get(name or "")
    if module is None:
        return False
    filename = getattr(module, "__file__", None)
    return _is_learners(filename) if filename else name == "__main__"


def changed_outside(before: dict, after: dict) -> list[str]:
    """The names ``state_outside`` saw change between two snapshots."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def leave_under_uvicorn(application, path: str, messages=(), name: str = "exercise-check", expect: int = 0) -> dict:
    """Serve ``application`` with the README's uvicorn transport, talk, leave, and answer what happened.

    A real client connects to ``path``, reads ``expect`` messages, sends each message (a str, or JSON)
    and reads one reply each, then closes. Answers ``{"replies": [...], "ended": bool, "raised": [...]}``:
    whether the application ended once the client had left, and what it raised, a send after the disconnect
    included (uvicorn's ``--ws websockets`` raises RuntimeError for it).
    """
    from ..clients import connect_ws
    from ..project import WS_IMPLEMENTATION
    from ..serving import serve_asgi

    ended, raised = threading.Event(), []

    async def watched(scope, receive, send):
        try:
            await application(scope, receive, send)
        except BaseException as error:
            if type(error).__name__ != "StopConsumer":
                raised.append(error)
            raise
        finally:
            if scope["type"] == "websocket":
                ended.set()

    async def talk(url):
        replies = []
        async with connect_ws(url) as websocket:
            for _ in range(expect):  # what the application says first (a greeting, an arrival)
                replies.append(await asyncio.wait_for(websocket.recv(), SHORT * 4))
            for message in messages:
                await websocket.send(message if isinstance(message, str) else json.dumps(message))
                replies.append(await asyncio.wait_for(websocket.recv(), SHORT * 4))
        return replies

    with serve_asgi(watched, name=name, ws=WS_IMPLEMENTATION) as server:
        replies = run(talk(server.ws_url(path)))
        ended.wait(SHORT * 2)
    return {"replies": replies, "ended": ended.is_set(), "raised": raised}
