"""Exercises cannot drift from their solutions, and every check speaks to the learner."""

import asyncio
import filecmp
import pathlib
import re

import nbformat
import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import re_path
from echo.consumers import CarefulJsonWebsocketConsumer
from nbclient import NotebookClient

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


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION",
                                    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
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
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
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


# --------------------------------------------------------------------------- 02 ASGI


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


def test_checks_also_run_where_an_event_loop_is_running(capsys):
    async def from_a_cell():  # a notebook cell's thread has a running loop
        checks.check_shouting_app(shout)

    asyncio.run(from_a_cell())
    assert "\u2713" in capsys.readouterr().out


# --------------------------------------------------------------------------- 03 Channels


class Echo(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class Reverse(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json({"reversed": content["text"][::-1]})


class ReverseSendingADict(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send(text_data={"reversed": content["text"][::-1]})


class ReverseRefusing(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.close()


def router(*routes):
    return lambda: ProtocolTypeRouter({"websocket": URLRouter([re_path(p, c.as_asgi()) for p, c in routes])})


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


# --------------------------------------------------------------------------- 06 Redis


async def announce(layer, room, text):
    await layer.group_send(f"chamber.{room}", {"type": "chamber.message", "who": "announcer",
                                               "message": {"text": text}})


async def announce_to_the_wrong_group(layer, room, text):
    await layer.group_send(room, {"type": "chamber.message", "who": "announcer", "message": {"text": text}})


async def announce_with_an_unknown_type(layer, room, text):
    await layer.group_send(f"chamber.{room}", {"type": "chat.message", "who": "announcer", "text": text})


def announce_without_async(layer, room, text):
    layer.group_send(f"chamber.{room}", {})


# --------------------------------------------------------------------------- 07 testing


async def good_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abc"})
    assert await communicator.receive_json_from() == {"reversed": "cba"}
    await communicator.disconnect()


async def weak_test_checking_only_that_a_reply_arrives(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    await communicator.connect()
    await communicator.send_json_to({"text": "abc"})
    assert await communicator.receive_from()


async def wrong_test_expecting_something_else(consumer_class):
    await good_test(consumer_class)
    raise AssertionError("expected something else")


def sync_test(consumer_class):
    pass


# --------------------------------------------------------------------------- 08 security


def protect(app):
    from channels.auth import AuthMiddlewareStack
    from channels.security.websocket import AllowedHostsOriginValidator

    return AllowedHostsOriginValidator(AuthMiddlewareStack(app))


def protect_with_auth_only(app):
    from channels.auth import AuthMiddlewareStack

    return AuthMiddlewareStack(app)


def protect_with_origins_only(app):
    from channels.security.websocket import AllowedHostsOriginValidator

    return AllowedHostsOriginValidator(app)


class MembersOnly(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.close(code=4401)

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class MembersOnlyRefusingOutright(MembersOnly):
    async def connect(self):
        if not self.scope["user"].is_authenticated:
            await self.close()
            return
        await self.accept()


class MembersOnlyWithTheWrongCode(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.close(code=1008)


class MembersOnlyClosingEveryone(MembersOnly):
    async def connect(self):
        await self.accept()
        await self.close(code=4401)


# --------------------------------------------------------------------------- 09 performance


class FastEcho(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message):
        from channels.consumer import get_handler_name

        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(message["type"])
        await handler(message)

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class FastEchoCallingSuper(FastEcho):
    async def dispatch(self, message):
        await AsyncJsonWebsocketConsumer.dispatch(self, message)


class FastEchoIgnoringUnknownEvents(FastEcho):
    async def dispatch(self, message):
        from channels.consumer import get_handler_name

        handler = getattr(self, get_handler_name(message), None)
        if handler is not None:
            await handler(message)


class FastEchoForgettingTheHandler(FastEcho):
    async def dispatch(self, message):
        pass


# --------------------------------------------------------------------------- every check, one table

# check: (a right answer, what its success line says, [(a wrong answer, the hint it must get), ...])
CHECKS = {
    "check_greeting_app": (greet, "greet works", [
        (greet_returning_str, "return a list of bytes"),
        (greet_forgetting_start_response, "never called start_response"),
        (greet_with_the_slash, "strip the leading '/'"),
    ]),
    "check_request_counter": (count_requests, "numbered 1, 2, 3", [
        (count_requests_with_an_int, "must be a str"),
        (count_requests_resetting, "keep the count outside the inner function"),
        (count_requests_returning_nothing, "return the inner function"),
    ]),
    "check_shouting_app": (shout, "1: HELLO", [
        (shout_without_accepting, "before accepting"),
        (shout_in_bytes, "not 'bytes'"),
        (shout_without_counting, "count the messages"),
        (shout_silently, "no reply within 3 s"),
    ]),
    "check_reverse_routing": (router((r"^echo/$", Echo), (r"^reverse/$", Reverse)), "slennahc", [
        (router((r"^echo/$", Echo)), "no route matches '/reverse/'"),
        (router((r"^echo/$", Echo), (r"^reverse/$", ReverseSendingADict)), "use send_json"),
        (router((r"^echo/$", Echo), (r"^reverse/$", ReverseRefusing)), "accept it in connect()"),
        (router((r"^reverse/$", Reverse)), "no route matches '/echo/'"),
    ]),
    "check_counting_echo": (CountingEcho, "starts at 1", [
        (CountingOnTheClass, "not on the class"),
        (CountingCarelessly, "inherit from the project's CarefulJsonWebsocketConsumer"),
        (NotCounting, "add the message's number"),
    ]),
    "check_lobby_consumer": (Lobby, "arrivals announced", [
        (LobbyWithoutGroup, "group_add the channel"),
        (LobbyAnsweringOnlyTheSender, "only the sender got it"),
        (LobbyWithAnUnhandledType, "needs a method named lobby_message(self, event)"),
    ]),
    "check_announce": (announce, "heard 'tea is ready'", [
        (announce_to_the_wrong_group, "send to the group 'chamber.' + room"),
        (announce_with_an_unknown_type, "its 'type' must be 'chamber.message'"),
        (announce_without_async, "must be an async def"),
    ]),
    "check_test_catches_bugs": (good_test, "catches all 3 broken ones", [
        (weak_test_checking_only_that_a_reply_arrives, "your test passed a consumer that echoes the text unchanged"),
        (wrong_test_expecting_something_else, "your test failed the correct ReverseConsumer"),
        (sync_test, "must be an async def"),
    ]),
    "check_protect": (protect, "are refused", [
        (protect_with_auth_only, "got in: wrap the app in AllowedHostsOriginValidator"),
        (protect_with_origins_only, "wrap the app in AuthMiddlewareStack too"),
        (lambda app: None, "returned None"),
    ]),
    "check_members_only": (MembersOnly, "close code 4401", [
        (MembersOnlyRefusingOutright, "refused outright"),
        (MembersOnlyWithTheWrongCode, "got code 1008"),
        (MembersOnlyClosingEveryone, "a logged-in user got"),
    ]),
    "check_database_free_echo": (FastEcho, "no clean-up hop", [
        (FastEchoCallingSuper, "the clean-up still ran"),
        (FastEchoIgnoringUnknownEvents, "an event with no handler was ignored"),
        (FastEchoForgettingTheHandler, "the echo is broken"),
    ]),
}


@pytest.mark.parametrize("name", CHECKS)
def test_each_check_passes_a_right_answer(name, capsys):
    right_answer, success, _ = CHECKS[name]
    getattr(checks, name)(right_answer)
    assert success in capsys.readouterr().out


@pytest.mark.parametrize("name, wrong, hint", [(name, wrong, hint) for name, (_, _, wrongs) in CHECKS.items()
                                               for wrong, hint in wrongs],
                         ids=lambda value: value if isinstance(value, str) else getattr(value, "__name__", "?"))
def test_each_check_hints_at_a_typical_mistake(name, wrong, hint):
    with pytest.raises(ExerciseHint, match=re.escape(hint)):
        getattr(checks, name)(wrong)
