"""Exercises cannot drift from their solutions, and every check speaks to the learner."""

import asyncio
import filecmp
import json
import pathlib
import re
from urllib.parse import parse_qs

import nbformat
import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import re_path
from nbclient import NotebookClient

from echo.consumers import CarefulJsonWebsocketConsumer
from workshop import checks, exercises
from workshop.checks import ExerciseHint

REPO = pathlib.Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


# --------------------------------------------------------------------------- one source


def test_exercises_are_exactly_what_make_exercises_produces(tmp_path):
    written = exercises.generate(REPO / "solutions", tmp_path)
    committed = sorted(p.name for p in (REPO / "exercises").glob("*.ipynb"))
    assert [p.name for p in written] == committed, "run `make exercises`: exercises/ and solutions/ differ"
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, REPO / "exercises", committed, shallow=False)
    assert not mismatch and not errors, f"run `make exercises`: {mismatch + errors} are stale"


def test_every_lesson_from_01_has_an_exercise():
    lesson_numbers = {p.name[:2] for p in LESSONS if p.name[:2] != "00"}
    assert lesson_numbers <= {p.name[:2] for p in SOLUTIONS}


def test_a_solution_region_becomes_a_stub_with_the_task():
    source = "def f():\n    ### BEGIN SOLUTION add one\n    return 1 + 1\n    ### END SOLUTION\n"
    assert exercises.stub_source(source) == (
        "def f():\n    # your code here: add one\n    raise NotImplementedError('add one')\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1",
        "x = 1\n### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
    ],
)
def test_broken_markers_are_reported(source):
    with pytest.raises(exercises.MarkerError):
        exercises.stub_source(source)


def test_exercises_keep_no_answer_and_no_output():
    for path in (REPO / "exercises").glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            assert "BEGIN SOLUTION" not in cell.source
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


# --------------------------------------------------------------------------- unchanged exercises


@pytest.mark.parametrize("path", sorted((REPO / "exercises").glob("*.ipynb")), ids=lambda p: p.name)
def test_an_unchanged_exercise_reaches_every_check_and_each_gives_its_hint(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    check_cells = [c for c in notebook.cells if c.cell_type == "code" and re.match(r"check_\w+\(", c.source)]
    assert check_cells, "every exercise ends with a check"
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if cell in check_cells:
            assert [e.ename for e in errors] == ["ExerciseHint"], cell.source
            assert "still raises NotImplementedError" in errors[0].evalue
            assert "your code here" in errors[0].evalue
        else:
            assert not errors, f"only check cells may fail in an untouched exercise: {cell.source[:60]}"


# --------------------------------------------------------------------------- 01 WSGI


def greet(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_returning_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return f"Hello, {environ['PATH_INFO'].strip('/')}!\n"


def greet_forgetting_start_response(environ, start_response):
    return [b"Hello, ada!\n"]


def greet_with_the_slash(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO']}!\n".encode()]


def greet_hard_coded(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, ada!\n"]


def greet_with_a_number_status(environ, start_response):
    start_response(200, [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_with_a_dict_of_headers(environ, start_response):
    start_response("200 OK", {"Content-Type": "text/plain"})
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_as_html(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def count_requests(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))

    return counted


def count_requests_with_an_int(app):
    def counted(environ, start_response):
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", 1)], e))

    return counted


def count_requests_resetting(app):
    def counted(environ, start_response):
        number = 1
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))

    return counted


def count_requests_returning_nothing(app):
    def counted(environ, start_response):
        return app(environ, start_response)


def count_requests_calling_the_inner_function(app):
    def counted(environ, start_response):
        return app(environ, start_response)

    return counted()


def count_requests_starting_the_response_itself(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        start_response("200 OK", [("X-Request-Number", str(number))])
        return app(environ, start_response)

    return counted


def count_requests_replacing_the_body(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))
        return [f"request {number}\n".encode()]

    return counted


# --------------------------------------------------------------------------- 02 ASGI


def trace_messages(app, log):
    async def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("receive", message["type"]))
            return message

        async def traced_send(message):
            log.append(("send", message["type"]))
            await send(message)

        await app(scope, traced_receive, traced_send)

    return traced


def _tracer(receive_wrapper=None, send_wrapper=None):
    """A trace_messages whose receive and/or send wrapper is the given (wrong) one, the other right."""

    def trace_messages_with(app, log):
        async def traced(scope, receive, send):
            async def right_receive():
                message = await receive()
                log.append(("receive", message["type"]))
                return message

            async def right_send(message):
                log.append(("send", message["type"]))
                await send(message)

            wrapped_receive = receive_wrapper(receive, log) if receive_wrapper else right_receive
            wrapped_send = send_wrapper(send, log) if send_wrapper else right_send
            await app(scope, wrapped_receive, wrapped_send)

        return traced

    trace_messages_with.__name__ = "trace_messages" + (receive_wrapper or send_wrapper).__name__  # the test's id
    return trace_messages_with


def _untraced_receive(receive, log):
    return receive


def _untraced_send(send, log):
    return send


def _receive_without_await(receive, log):
    async def traced_receive():
        message = receive()
        log.append(("receive", message["type"]))
        return message

    return traced_receive


def _receive_returning_the_coroutine(receive, log):
    async def traced_receive():
        log.append(("receive", "websocket.receive"))
        return receive()

    return traced_receive


def _send_without_await(send, log):
    async def traced_send(message):
        log.append(("send", message["type"]))
        send(message)

    return traced_send


def _receive_returning_nothing(receive, log):  # sentry-python had it: getsentry/sentry-python#1698
    async def traced_receive():
        message = await receive()
        log.append(("receive", message["type"]))

    return traced_receive


def _send_not_passing_on(send, log):
    async def traced_send(message):
        log.append(("send", message["type"]))

    return traced_send


def _receive_recorded_before_awaiting(receive, log):  # encode/starlette discussion #2535
    async def traced_receive():
        message = receive()
        log.append(("receive", message))
        return await message

    return traced_receive


def _receive_popping_the_type(receive, log):
    async def traced_receive():
        message = await receive()
        log.append(("receive", message.pop("type")))
        return message

    return traced_receive


def _receive_marking_the_message(receive, log):
    async def traced_receive():
        message = await receive()
        message["traced"] = True
        log.append(("receive", message["type"]))
        return message

    return traced_receive


def _send_recorded_after_sending(send, log):
    async def traced_send(message):
        await send(message)
        log.append(("send", message["type"]))

    return traced_send


def _whole_messages_recorded(receive, log):
    async def traced_receive():
        message = await receive()
        log.append(("receive", message))
        return message

    return traced_receive


def trace_messages_of_the_scope(app, log):
    async def traced(scope, receive, send):
        log.append(("scope", scope["type"]))
        await app(scope, receive, send)

    return traced


def trace_messages_to_a_new_list(app, log):
    return trace_messages(app, [])


def trace_messages_with_directions_swapped(app, log):  # "send" read as "what the client sends"
    async def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("send", message["type"]))
            return message

        async def traced_send(message):
            log.append(("receive", message["type"]))
            await send(message)

        await app(scope, traced_receive, traced_send)

    return traced


def trace_messages_returning_nothing(app, log):
    async def traced(scope, receive, send):
        await app(scope, receive, send)


def trace_messages_returning_a_plain_def(app, log):
    def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("receive", message["type"]))
            return message

        async def traced_send(message):
            log.append(("send", message["type"]))
            await send(message)

        return app(scope, traced_receive, traced_send)  # a coroutine, but uvicorn calls traced(scope) alone

    return traced


def trace_messages_without_awaiting_the_app(app, log):
    async def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("receive", message["type"]))
            return message

        async def traced_send(message):
            log.append(("send", message["type"]))
            await send(message)

        app(scope, traced_receive, traced_send)

    return traced


trace_messages_of_receive_only = _tracer(send_wrapper=_untraced_send)
trace_messages_of_send_only = _tracer(receive_wrapper=_untraced_receive)
trace_messages_without_awaiting_receive = _tracer(receive_wrapper=_receive_without_await)
trace_messages_returning_receives_coroutine = _tracer(receive_wrapper=_receive_returning_the_coroutine)
trace_messages_without_awaiting_send = _tracer(send_wrapper=_send_without_await)
trace_messages_returning_no_message = _tracer(receive_wrapper=_receive_returning_nothing)
trace_messages_swallowing_sends = _tracer(send_wrapper=_send_not_passing_on)
trace_messages_recording_the_coroutine = _tracer(receive_wrapper=_receive_recorded_before_awaiting)
trace_messages_popping_the_type = _tracer(receive_wrapper=_receive_popping_the_type)
trace_messages_marking_messages = _tracer(receive_wrapper=_receive_marking_the_message)
trace_messages_recording_after_sending = _tracer(send_wrapper=_send_recorded_after_sending)
trace_messages_recording_whole_messages = _tracer(receive_wrapper=_whole_messages_recorded)


class TraceMessages:
    """The same middleware as a class, as Channels' BaseMiddleware is written."""

    def __init__(self, app, log):
        self.app = app
        self.log = log

    async def __call__(self, scope, receive, send):
        async def traced_receive():
            message = await receive()
            self.log.append(("receive", message["type"]))
            return message

        async def traced_send(message):
            self.log.append(("send", message["type"]))
            return await send(message)

        return await self.app(scope, traced_receive, traced_send)


async def shout(scope, receive, send):
    count = 0
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"})


async def shout_without_accepting(scope, receive, send):
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": "1: HELLO"})


async def shout_before_accepting(scope, receive, send):
    while (await receive())["type"] != "websocket.disconnect":
        await send({"type": "websocket.send", "text": "1: HELLO"})


async def shout_in_bytes(scope, receive, send):
    count = 0
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            count += 1
            await send({"type": "websocket.send", "bytes": f"{count}: {event['text'].upper()}".encode()})


async def shout_without_counting(scope, receive, send):
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "websocket.send", "text": event["text"].upper()})


async def shout_silently(scope, receive, send):
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})


async def shout_ignoring_disconnect(scope, receive, send):
    count = 0
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"})


async def shout_treating_disconnect_as_a_message(scope, receive, send):
    count = 0
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"})


async def shout_once(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    event = await receive()
    await send({"type": "websocket.send", "text": f"1: {event['text'].upper()}"})


_shouted = 0


async def shout_counting_globally(scope, receive, send):
    global _shouted
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            _shouted += 1
            await send({"type": "websocket.send", "text": f"{_shouted}: {event['text'].upper()}"})


async def shout_returning_the_reply(scope, receive, send):
    count = 0
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            count += 1
            return {"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"}
        else:
            return


async def shout_without_awaiting_send(scope, receive, send):
    count = 0
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            count += 1
            send({"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"})
        else:
            return


def shout_as_a_plain_def(scope, receive, send):
    count = 0
    while True:
        event = receive()
        if event["type"] == "websocket.connect":
            send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            count += 1
            send({"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"})
        else:
            return


def test_checks_also_run_where_an_event_loop_is_running(capsys):
    async def from_a_cell():  # a notebook cell's thread has a running loop
        checks.check_shouting_app(shout)

    asyncio.run(from_a_cell())
    assert "\u2713" in capsys.readouterr().out


# --------------------------------------------------------------------------- 03 Channels


class Echo(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class Tally(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.total = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            await self.close(code=4000)
            return
        number = content.get("add")
        if not isinstance(number, int):
            await self.send_json({"error": "send {'add': a whole number}"})
            return
        self.total += number
        await self.send_json({"total": self.total})


class TallyOnTheClass(Tally):  # the state is shared by every connection
    total = 0

    async def connect(self):
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if "bye" in content or not isinstance(content.get("add"), int):
            return await super().receive_json(content, **kwargs)
        type(self).total += content["add"]
        await self.send_json({"total": type(self).total})


class TallyResetOnTheClass(TallyOnTheClass):  # passes one connection at a time; two at once share it
    async def connect(self):
        type(self).total = 0
        await self.accept()


class TallyNeverAccepting(Tally):
    async def connect(self):
        self.total = 0


class TallyCrashingOnBadInput(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            await self.close(code=4000)
            return
        self.total += int(content["add"])
        await self.send_json({"total": self.total})


class TallyReadingAddFirst(Tally):
    async def receive_json(self, content, **kwargs):
        number = content["add"]
        if not isinstance(number, int):
            await self.send_json({"error": "add needs a whole number"})
        elif "bye" in content:
            await self.close(code=4000)
        else:
            self.total += number
            await self.send_json({"total": self.total})


class TallyClosingOnBadInput(Tally):
    async def receive_json(self, content, **kwargs):
        if not isinstance(content.get("add"), int) and "bye" not in content:
            await self.close(code=4000)
            return
        await super().receive_json(content, **kwargs)


class TallyClosingWithoutACode(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            await self.close()
            return
        await super().receive_json(content, **kwargs)


class TallyClosingWithAStandardCode(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            await self.close(code=1000)
            return
        await super().receive_json(content, **kwargs)


class TallyIgnoringBye(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            await self.send_json({"total": self.total})
            return
        await super().receive_json(content, **kwargs)


class TallySendingADict(Tally):
    async def send_json(self, content, close=False):
        await self.send(text_data=content)


class TallyNotReturningAfterBye(Tally):  # falls through to the number check after closing
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            await self.close(code=4000)
        if not isinstance(content.get("add"), int):
            await self.send_json({"error": "send {'add': a whole number}"})
            return
        self.total += content["add"]
        await self.send_json({"total": self.total})


class TallySayingGoodbye(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            await self.send_json({"total": self.total, "bye": True})
            await self.close(code=4000)
            return
        await super().receive_json(content, **kwargs)


class TallyWithAnAsyncInit(Tally):
    async def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.total = 0


class TallyForgettingAwait(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            self.close(code=4000)
            return
        await super().receive_json(content, **kwargs)


def _tally_on_a_plain_consumer():
    from channels.generic.websocket import AsyncWebsocketConsumer

    class TallyConsumer(AsyncWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send_json({"total": content["add"]})

    return TallyConsumer


def _async_methods_on_a_sync_consumer():
    from channels.generic.websocket import JsonWebsocketConsumer

    class TallyConsumer(JsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            self.send_json({"total": content["add"]})

    return TallyConsumer


def router(*routes, http=True):
    """A build_application() routing ``routes``; ``http``: True for Django, False for none, or what to route."""

    def build_application():
        websocket = URLRouter([re_path(p, c.as_asgi()) for p, c in routes])
        if http is False:
            return ProtocolTypeRouter({"websocket": websocket})
        return ProtocolTypeRouter({"http": get_asgi_application() if http is True else http, "websocket": websocket})

    return build_application


def tally_router(consumer, **kwargs):
    return router((r"^echo/$", Echo), (r"^tally/$", consumer), **kwargs)


def bare_url_router():
    return URLRouter([re_path(r"^echo/$", Echo.as_asgi()), re_path(r"^tally/$", Tally.as_asgi())])


def router_without_as_asgi():
    return ProtocolTypeRouter(
        {
            "http": Echo.as_asgi(),
            "websocket": URLRouter([re_path(r"^echo/$", Echo.as_asgi()), re_path(r"^tally/$", Tally)]),
        }
    )


def router_under_http():
    return ProtocolTypeRouter(
        {"http": URLRouter([re_path(r"^echo/$", Echo.as_asgi()), re_path(r"^tally/$", Tally.as_asgi())])}
    )


def router_with_a_leading_slash():
    return router((r"^echo/$", Echo), (r"^/tally/$", Tally))()


# --------------------------------------------------------------------------- 04 echo_project


class CountingEcho(CarefulJsonWebsocketConsumer):
    async def connect(self):
        self.count = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        self.count += 1
        await self.send_json({**content, "count": self.count})


class CountingOnTheClass(CarefulJsonWebsocketConsumer):
    count = 0

    async def receive_json(self, content, **kwargs):
        type(self).count += 1
        await self.send_json({**content, "count": type(self).count})


class CountingCarelessly(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.count = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        self.count += 1
        await self.send_json({**content, "count": self.count})


class NotCounting(CarefulJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class CountingWithoutAccepting(CountingEcho):
    async def connect(self):
        self.count = 0


class CountingAfterSending(CountingEcho):
    async def receive_json(self, content, **kwargs):
        await self.send_json({**content, "count": self.count})
        self.count += 1


class CountingOverridingReceive(CountingEcho):
    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        self.count += 1
        await self.send_json({**json.loads(text_data), "count": self.count})


class CountingWithoutStarting(CarefulJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        self.count += 1
        await self.send_json({**content, "count": self.count})


class CountingWithoutAwait(CountingEcho):
    async def receive_json(self, content, **kwargs):
        self.count += 1
        self.send_json({**content, "count": self.count})


class CountingOnlyTheCount(CountingEcho):
    async def receive_json(self, content, **kwargs):
        self.count += 1
        await self.send_json({"count": self.count})


def test_a_hint_shows_as_one_line_in_a_notebook():
    assert ExerciseHint("forgot to accept")._render_traceback_() == ["\x1b[31mNot yet:\x1b[0m forgot to accept"]


# --------------------------------------------------------------------------- 05 groups


class Lobby(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.who = self.scope["query_string"].decode().split("=")[1]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})

    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send("lobby", {"type": "lobby.say", "who": self.who, "text": content["text"]})

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard("lobby", self.channel_name)

    async def lobby_joined(self, event):
        await self.send_json({"joined": event["who"]})

    async def lobby_say(self, event):
        await self.send_json({"who": event["who"], "text": event["text"]})


class LobbyWithoutGroup(Lobby):
    async def connect(self):
        self.who = self.scope["query_string"].decode().split("=")[1]
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyAnsweringOnlyTheSender(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.send_json({"who": self.who, "text": content["text"]})


class LobbyWithAnUnhandledType(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send("lobby", {"type": "lobby.message", "who": self.who, "text": "x"})


class LobbyCopyingTheWholeMessage(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send("lobby", {**content, "type": "lobby.say", "who": self.who})


class LobbyBelievingTheClient(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(
            "lobby", {"type": "lobby.say", "who": content.get("who", self.who), "text": content["text"]}
        )


class LobbyWithAsyncToSync(Lobby):
    async def receive_json(self, content, **kwargs):
        from asgiref.sync import async_to_sync

        async_to_sync(self.channel_layer.group_send)(
            "lobby", {"type": "lobby.say", "who": self.who, "text": content["text"]}
        )


class LobbyForgettingAwait(Lobby):
    async def receive_json(self, content, **kwargs):
        self.channel_layer.group_send("lobby", {"type": "lobby.say", "who": self.who, "text": content["text"]})


class LobbyNeverLeaving(Lobby):
    async def disconnect(self, close_code):
        pass


class LobbyNotEndingOnDisconnect(Lobby):
    async def websocket_disconnect(self, message):
        await self.channel_layer.group_discard("lobby", self.channel_name)


class LobbyWithTheRawQueryString(Lobby):
    async def connect(self):
        self.who = self.scope["query_string"].decode()
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


# --------------------------------------------------------------------------- every check, one table

# check: (a right answer, what its success line says, [(a wrong answer, the hint it must get), ...])
# The wrong answers are mistakes learners make; where Channels' tracker shows people making them, it is cited.
CHECKS = {
    "check_greeting_app": (
        greet,
        "greet works",
        [
            (greet_returning_str, "return a list of bytes"),
            (greet_forgetting_start_response, "never called start_response"),
            (greet_with_the_slash, "strip the leading '/'"),
            (greet_hard_coded, "the name is hard-coded"),
            (greet_with_a_number_status, "not the number 200"),
            (greet_with_a_dict_of_headers, "not a dict"),
            (greet_as_html, "add ('Content-Type', 'text/plain')"),
        ],
    ),
    "check_request_counter": (
        count_requests,
        "numbered 1, 2, 3",
        [
            (count_requests_with_an_int, "must be a str"),
            (count_requests_resetting, "keep the count outside the inner function"),
            (count_requests_returning_nothing, "return the inner function"),
            (count_requests_calling_the_inner_function, "do not call it"),
            (count_requests_starting_the_response_itself, "start_response was called twice"),
            (count_requests_replacing_the_body, "unchanged"),
        ],
    ),
    "check_tracer": (
        trace_messages,
        "records 7 messages in order",
        [
            (trace_messages_of_receive_only, "Wrap send too"),
            (trace_messages_of_send_only, "Wrap receive too"),
            (trace_messages_without_awaiting_receive, "await it first"),
            (trace_messages_returning_receives_coroutine, "the app got a coroutine from receive()"),
            (trace_messages_without_awaiting_send, "called send(message) without await"),
            (trace_messages_returning_no_message, "the app got None from receive()"),
            (trace_messages_swallowing_sends, "the server never got websocket.accept"),
            (trace_messages_recording_the_coroutine, "you recorded receive() before awaiting it"),
            (trace_messages_of_the_scope, "wrap those two"),
            (trace_messages_popping_the_type, "without 'type'"),
            (trace_messages_marking_messages, "your wrapper changed the messages"),
            (trace_messages_recording_after_sending, "record it first, then await send(message)"),
            (trace_messages_recording_whole_messages, "record (direction, message['type'])"),
            (trace_messages_returning_nothing, "trace_messages returned None"),
            (trace_messages_to_a_new_list, "the log is empty"),
            (trace_messages_with_directions_swapped, "the directions are swapped"),
            (trace_messages_without_awaiting_the_app, "called app(scope, ...) without await"),
            (trace_messages_returning_a_plain_def, "trace_messages returned a plain def"),
        ],
    ),
    "check_shouting_app": (
        shout,
        "1: HELLO",
        [
            (shout_without_accepting, "accept first"),
            (shout_before_accepting, "before accepting"),
            (shout_in_bytes, "not 'bytes'"),
            (shout_without_counting, "count the messages"),
            (shout_silently, "send a websocket.send for every websocket.receive"),
            (shout_ignoring_disconnect, "return when event['type'] == 'websocket.disconnect'"),
            (shout_treating_disconnect_as_a_message, "only websocket.receive carries 'text'"),
            (shout_once, "keep receiving events in a loop"),
            (shout_counting_globally, "not in a global"),
            (shout_returning_the_reply, "it sends each reply with await send("),
            (shout_without_awaiting_send, "called send({...}) without await"),
            (shout_as_a_plain_def, "an ASGI app is an async def"),
        ],
    ),
    "check_tally": (
        tally_router(Tally),
        "2 then 5 make 7",
        [
            (tally_router(TallyOnTheClass), "shared by every connection"),
            (tally_router(TallyResetOnTheClass), "with two connections open"),
            (tally_router(TallyNeverAccepting), "must call await self.accept()"),
            (tally_router(TallyCrashingOnBadInput), "raised ValueError"),  # django/channels#1068
            (tally_router(TallyClosingOnBadInput), "the connection stays open"),
            (tally_router(TallyReadingAddFirst), 'check for "bye" first'),
            (tally_router(TallyClosingWithoutACode), "without a code"),
            (tally_router(TallyClosingWithAStandardCode), "with code 1000"),
            (tally_router(TallyIgnoringBye), "instead of closing"),
            (tally_router(TallySendingADict), "use send_json"),
            (tally_router(TallyForgettingAwait), "without await"),
            (router((r"^echo/$", Echo)), "no route matches '/tally/'"),
            (router((r"^tally/$", Tally)), "no route matches '/echo/'"),
            (tally_router(Tally, http=False), "no 'http' entry"),
            (tally_router(TallyNotReturningAfterBye), "went on to send"),
            (tally_router(TallySayingGoodbye), "before closing"),
            (tally_router(TallyWithAnAsyncInit), "cannot await a constructor"),
            (tally_router(Tally, http=get_asgi_application), "call it, 'http': get_asgi_application()"),
            (tally_router(Tally, http=Echo.as_asgi()), "consumers answer WebSockets"),
            (bare_url_router, "bare URLRouter"),
            (router_without_as_asgi, "route Tally.as_asgi()"),  # django/channels#1552, #1588
            (router_under_http, "no 'websocket' entry"),
            (router_with_a_leading_slash, "without its leading '/'"),
            (tally_router(_tally_on_a_plain_consumer()), "inherit from AsyncJsonWebsocketConsumer"),
            (tally_router(_async_methods_on_a_sync_consumer()), "TallyConsumer.receive_json is an async def"),
        ],
    ),
    "check_counting_echo": (
        CountingEcho,
        "starts at 1",
        [
            (CountingOnTheClass, "not on the class"),
            (CountingCarelessly, "inherit from the project's CarefulJsonWebsocketConsumer"),
            (NotCounting, "add the message's number"),
            (CountingWithoutAccepting, "must end with await self.accept()"),
            (CountingAfterSending, "the count starts at 1"),
            (CountingWithoutStarting, "Set self.count = 0 in connect()"),
            (CountingWithoutAwait, "without await"),
            (CountingOverridingReceive, "override receive_json, not receive"),
            (CountingOnlyTheCount, "keep the client's fields"),
        ],
    ),
    "check_lobby_consumer": (
        Lobby,
        "arrivals announced",
        [
            (LobbyWithoutGroup, "group_add the channel"),
            (LobbyAnsweringOnlyTheSender, "only the sender got it"),
            (LobbyWithAnUnhandledType, "needs a method named lobby_message(self, event)"),
            (LobbyCopyingTheWholeMessage, "Bob's whole message went into the group event"),
            (LobbyBelievingTheClient, "never from the client's message"),
            (LobbyWithAsyncToSync, "async_to_sync is for sync code"),  # django/channels#1194
            (LobbyForgettingAwait, "group_send(...) without await"),
            (LobbyNeverLeaving, "group_discard in disconnect()"),
            (LobbyWithTheRawQueryString, "parse it"),
            (LobbyNotEndingOnDisconnect, "call super().websocket_disconnect(message)"),
        ],
    ),
}


@pytest.mark.parametrize("name", CHECKS)
def test_each_check_passes_a_right_answer(name, capsys):
    right_answer, success, _ = CHECKS[name]
    getattr(checks, name)(right_answer)
    assert success in capsys.readouterr().out


@pytest.mark.parametrize(
    "name, wrong, hint",
    [(name, wrong, hint) for name, (_, _, wrongs) in CHECKS.items() for wrong, hint in wrongs],
    ids=lambda value: value if isinstance(value, str) else getattr(value, "__name__", "?"),
)
def test_each_check_hints_at_a_typical_mistake(name, wrong, hint):
    with pytest.raises(ExerciseHint, match=re.escape(hint)):
        getattr(checks, name)(wrong)


def _tested_here_or_in_tests_checks():
    """Every check's table: CHECKS here, and each tests/checks/test_lessonNN.py's own (how long each takes to
    give its hint is measured by benchmarks/check_hints.py, not asserted here)."""
    import importlib

    tables = dict(CHECKS)
    for module in sorted((REPO / "tests" / "checks").glob("test_lesson*.py")):
        tables.update(importlib.import_module(f"tests.checks.{module.stem}").CHECKS)
    return tables


def test_every_check_is_tested_against_at_least_four_wrong_answers():
    assert set(_tested_here_or_in_tests_checks()) == set(checks.__all__) - {"ExerciseHint"}
    assert {name: len(wrongs) for name, (_, _, wrongs) in CHECKS.items() if len(wrongs) < 4} == {}


# --------------------------------------------------------------------------- other right answers


def greet_with_get(environ, start_response):
    start_response("200 OK", [("content-type", "text/plain; charset=utf-8")])
    return [b"Hello, " + environ.get("PATH_INFO", "/")[1:].encode() + b"!\n"]


class CountRequests:
    def __init__(self, app):
        self.app, self.number = app, 0

    def __call__(self, environ, start_response):
        self.number += 1
        number = self.number

        def numbered(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Request-Number", str(number))], exc_info)

        return self.app(environ, numbered)


async def shout_with_break(scope, receive, send):
    count = 0
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            break
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            continue
        count += 1
        await send({"type": "websocket.send", "text": f"{count}: {event.get('text', '').upper()}"})


def _sync_tally():
    from channels.generic.websocket import JsonWebsocketConsumer

    class TallyConsumer(JsonWebsocketConsumer):
        def connect(self):
            self.total = 0
            self.accept()

        def receive_json(self, content, **kwargs):
            if content.get("bye"):
                self.close(code=4000)
            elif type(content.get("add")) is int:
                self.total += content["add"]
                self.send_json({"total": self.total})
            else:
                self.send_json({"error": "add needs a whole number"})

    return TallyConsumer


def router_with_path():
    from django.core.asgi import get_asgi_application
    from django.urls import path

    return ProtocolTypeRouter(
        {
            "http": get_asgi_application(),
            "websocket": URLRouter([path("echo/", Echo.as_asgi()), path("tally/", _sync_tally().as_asgi())]),
        }
    )


class CountingFromInit(CarefulJsonWebsocketConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.count = 0

    async def receive_json(self, content, **kwargs):
        self.count += 1
        await self.send_json({**content, "count": self.count})


class LobbyWithParseQs(Lobby):
    async def connect(self):

        self.who = parse_qs(self.scope["query_string"].decode())["name"][0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


OTHER_RIGHT_ANSWERS = [
    ("check_greeting_app", greet_with_get),
    ("check_request_counter", CountRequests),
    ("check_tracer", TraceMessages),
    ("check_shouting_app", shout_with_break),
    ("check_tally", router_with_path),
    ("check_counting_echo", CountingFromInit),
    ("check_lobby_consumer", LobbyWithParseQs),
]


@pytest.mark.parametrize(
    "name, right_answer",
    OTHER_RIGHT_ANSWERS,
    ids=lambda value: value if isinstance(value, str) else getattr(value, "__name__", "?"),
)
def test_each_check_passes_other_right_answers_people_write(name, right_answer, capsys):
    getattr(checks, name)(right_answer)
    assert "\u2713" in capsys.readouterr().out


# --------------------------------------------------------------------------- the checks' layout


def test_checks_live_one_module_per_lesson_and_share_only_public_names():
    import ast

    package = REPO / "workshop" / "checks"
    lessons = sorted(p.stem for p in package.glob("lesson*.py"))
    assert lessons == [f"lesson{n:02d}" for n in range(1, 11)]
    for module in [package / f"{name}.py" for name in lessons] + [package / "_common.py"]:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:  # a relative import, from inside the kit
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{module.name} imports private names {private} from {node.module}"
                assert node.level == 1 or not (node.module or "").startswith("_"), module.name
                assert node.level == 2 or node.module == "_common", (
                    f"{module.name}: a lesson's check imports only the shared helpers, not another lesson"
                )
