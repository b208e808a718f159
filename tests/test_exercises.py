"""Exercises cannot drift from their solutions, and every check speaks to the learner."""

import asyncio
import filecmp
import pathlib
import re
import time
from urllib.parse import parse_qs, parse_qsl

import nbformat
import pytest
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.middleware import BaseMiddleware
from nbclient import NotebookClient

from tests import exercise07_answers as exercise07
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


def test_checks_also_run_where_an_event_loop_is_running(capsys):
    from tests.checks.test_lesson02 import shout

    async def from_a_cell():  # a notebook cell's thread has a running loop
        checks.check_shouting_app(shout)

    asyncio.run(from_a_cell())
    assert "\u2713" in capsys.readouterr().out


def test_a_hint_shows_as_one_line_in_a_notebook():
    assert ExerciseHint("forgot to accept")._render_traceback_() == ["\x1b[31mNot yet:\x1b[0m forgot to accept"]


# --------------------------------------------------------------------------- 06 Redis


def _layer():
    from channels.layers import get_channel_layer

    return get_channel_layer()


def announce(room, text):
    from asgiref.sync import async_to_sync

    async_to_sync(_layer().group_send)(
        f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "message": {"text": text}}
    )


def announce_without_async_to_sync(room, text):
    _layer().group_send(f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "message": {"text": text}})


async def announce_as_an_async_def(room, text):
    await _layer().group_send(
        f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "message": {"text": text}}
    )


def announce_to_the_wrong_group(room, text):
    from asgiref.sync import async_to_sync

    async_to_sync(_layer().group_send)(room, {"type": "chamber.message", "who": "announcer", "message": {"text": text}})


def announce_with_an_unknown_type(room, text):
    from asgiref.sync import async_to_sync

    async_to_sync(_layer().group_send)(f"chamber.{room}", {"type": "chat.message", "who": "announcer", "text": text})


def announce_with_the_handler_name_as_type(room, text):
    from asgiref.sync import async_to_sync

    async_to_sync(_layer().group_send)(f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "text": text})


def announce_to_a_channel(room, text):
    from asgiref.sync import async_to_sync

    async_to_sync(_layer().send)(
        f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "message": {"text": text}}
    )


def announce_to_an_invalid_group_name(room, text):
    from asgiref.sync import async_to_sync

    async_to_sync(_layer().group_send)(
        f"chamber {room}", {"type": "chamber.message", "who": "announcer", "message": {"text": text}}
    )


# --------------------------------------------------------------------------- 08 testing


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


async def palindrome_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abba"})
    assert await communicator.receive_json_from() == {"reversed": "abba"}
    await communicator.disconnect()


async def unawaited_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = communicator.connect()
    assert connected


async def class_instead_of_asgi_app_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class, "/reverse/")
    connected, _ = await communicator.connect()
    assert connected


async def wrong_test_expecting_something_else(consumer_class):
    await good_test(consumer_class)
    raise AssertionError("expected something else")


def sync_test(consumer_class):
    pass


# --------------------------------------------------------------------------- 09 security


TOKENS = {"ada-s3cret": "ada"}


def user_for_token(token):
    from django.contrib.auth.models import AnonymousUser, User

    try:
        return User.objects.get(username=TOKENS[token])
    except (KeyError, User.DoesNotExist):
        return AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


class TokenAuthWithoutDatabaseSyncToAsync(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = user_for_token(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthNeverCallingTheInnerApp(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        scope = dict(scope, user=user)


class TokenAuthNotAwaitingSuper(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return super().__call__(dict(scope, user=user), receive, send)


class TokenAuthMutatingTheScope(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        scope["user"] = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, scope, receive, send)


class TokenAuthParsingBytes(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"]).get("token")  # bytes in, bytes keys out
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthSplittingByHand(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        query = scope["query_string"].decode()
        token = query.split("=")[1] if query else None
        user = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthRaisingOnAMissingToken(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope["query_string"].decode())["token"][0]
        user = await database_sync_to_async(user_for_token)(token)
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthPuttingTheTokenInTheScope(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = token[0] if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthPassingTheList(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthWithNoneForAStranger(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else None
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthNotAwaitingTheLookup(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthPassingTheOriginalScope(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        new_scope = dict(scope, user=user)  # noqa: F841 (the mistake: made, then not passed on)
        return await BaseMiddleware.__call__(self, scope, receive, send)


class TokenAuthCallingSelfApp(TokenAuthMiddleware):  # a plain ASGI middleware's self.app; BaseMiddleware has self.inner
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await self.app(dict(scope, user=user), receive, send)


class TokenAuthCallingSelfApplication(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await self.application(dict(scope, user=user), receive, send)


class TokenAuthSplittingOnTokenEquals(TokenAuthMiddleware):  # right until another parameter follows the token
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        query = scope["query_string"].decode()
        token = query.split("token=")[1] if "token=" in query else None
        user = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthKeepingTheUserOnSelf(TokenAuthMiddleware):  # one instance serves every connection
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        if not hasattr(self, "user"):
            token = parse_qs(scope["query_string"].decode()).get("token")
            self.user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=self.user), receive, send)


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


class MembersOnlyTestingTheUserItself(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"]:
            await self.close(code=4401)


class MembersOnlyCallingIsAuthenticated(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated():
            await self.close(code=4401)


class MembersOnlyNeverAnsweringAnonymous(MembersOnly):
    async def connect(self):
        if self.scope["user"].is_authenticated:
            await self.accept()


class MembersOnlyForgettingAwait(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            self.close(code=4401)


# --------------------------------------------------------------------------- 10 performance


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


class FastEchoForgettingAwait(FastEcho):
    async def dispatch(self, message):
        from channels.consumer import get_handler_name

        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(message["type"])
        handler(message)


class FastEchoWithAnAttributeError(FastEcho):
    async def dispatch(self, message):
        from channels.consumer import get_handler_name

        await getattr(self, get_handler_name(message))(message)


class FastEchoKeepingTheDots(FastEcho):
    async def dispatch(self, message):
        handler = getattr(self, message["type"], None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


# --------------------------------------------------------------------------- every check, one table

# check: (a right answer, what its success line says, [(a wrong answer, the hint it must get), ...])
# The wrong answers are mistakes learners make; where Channels' tracker shows people making them, it is cited.
CHECKS = {
    "check_announce": (
        announce,
        "heard 'tea is ready'",
        [
            (announce_without_async_to_sync, "async_to_sync(channel_layer.group_send)(group, event)"),
            (announce_as_an_async_def, "announce is an async def"),
            (announce_to_the_wrong_group, "'chamber.' + room"),
            (announce_with_an_unknown_type, "it must be 'chamber.message'"),  # the "type" routes the event
            (announce_with_the_handler_name_as_type, "'message': event['message']"),
            (announce_to_a_channel, "a room is a group, so use group_send"),
            (announce_to_an_invalid_group_name, "the group name was refused"),  # django/channels#626, #1845
        ],
    ),
    "check_test_catches_bugs": (
        good_test,
        "catches all 3 broken ones",
        [
            (
                weak_test_checking_only_that_a_reply_arrives,
                "your test passed a consumer that echoes the text unchanged",
            ),
            (palindrome_test, "reads differently backwards"),
            (unawaited_test, "await each of them"),
            (class_instead_of_asgi_app_test, "consumer_class.as_asgi(), not the class"),
            (wrong_test_expecting_something_else, "your test failed the correct ReverseConsumer"),
            (sync_test, "must be an async def"),
        ],
    ),
    "check_members_only": (
        MembersOnly,
        "close code 4401",
        [
            (MembersOnlyRefusingOutright, "refused outright"),
            (MembersOnlyWithTheWrongCode, "got code 1008"),
            (MembersOnlyClosingEveryone, "a logged-in user got"),
            (MembersOnlyTestingTheUserItself, "the user object itself is truthy"),
            (MembersOnlyCallingIsAuthenticated, "is_authenticated is a property"),
            (MembersOnlyNeverAnsweringAnonymous, "got no answer"),
            (MembersOnlyForgettingAwait, "MembersOnlyEcho called close(...) without await"),
        ],
    ),
    "check_token_auth": (
        TokenAuthMiddleware,
        "ada's token lets her in",
        [
            (TokenAuthWithoutDatabaseSyncToAsync, "database_sync_to_async(user_for_token)"),
            (TokenAuthNeverCallingTheInnerApp, "the consumer was never called"),
            (TokenAuthNotAwaitingSuper, "was called without await"),
            (TokenAuthMutatingTheScope, "make a copy, scope = dict(scope, user=user)"),
            (TokenAuthParsingBytes, "scope['query_string'] is bytes"),
            (TokenAuthSplittingByHand, "not by splitting it by hand"),
            (TokenAuthRaisingOnAMissingToken, "crashed your middleware with KeyError"),
            (TokenAuthPuttingTheTokenInTheScope, "was the string 'ada-s3cret'"),
            (TokenAuthWithNoneForAStranger, "is AnonymousUser()"),
            (TokenAuthPassingTheList, "take token[0]"),
            (TokenAuthNotAwaitingTheLookup, "the consumer saw a coroutine as scope['user']"),
            (TokenAuthPassingTheOriginalScope, "pass the copy with the user on to the inner app"),
            (TokenAuthCallingSelfApp, "it keeps the application it wraps as self.inner"),
            (TokenAuthCallingSelfApplication, "it keeps the application it wraps as self.inner"),
            (TokenAuthSplittingOnTokenEquals, "(?token=ada-s3cret&room=lobby), the consumer saw AnonymousUser: read"),
            (TokenAuthKeepingTheUserOnSelf, "your middleware stored self.user"),
        ],
    ),
    "check_database_free_echo": (
        FastEcho,
        "no clean-up hop",
        [
            (FastEchoCallingSuper, "the clean-up still ran"),
            (FastEchoIgnoringUnknownEvents, "an event with no handler was ignored"),
            (FastEchoForgettingTheHandler, "the echo is broken"),
            (FastEchoForgettingAwait, "without await"),
            (FastEchoWithAnAttributeError, "raised AttributeError: raise ValueError"),
            (FastEchoKeepingTheDots, "get_handler_name(message)"),
        ],
    ),
    "check_room_history": (exercise07.Right, "last 20 messages of the room", exercise07.HISTORY_WRONG_ANSWERS),
    "check_tell_the_room": (exercise07.right_receiver, "after commit", exercise07.RECEIVER_WRONG_ANSWERS),
}

HINT_WITHIN = 3.0  # seconds: a learner waits no longer for a hint


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
def test_each_check_hints_at_a_typical_mistake_within_three_seconds(name, wrong, hint):
    started = time.monotonic()
    with pytest.raises(ExerciseHint, match=re.escape(hint)):
        getattr(checks, name)(wrong)
    assert time.monotonic() - started < HINT_WITHIN, f"the hint took {time.monotonic() - started:.1f} s"


def _checks_tested_in_tests_checks() -> set:
    """The checks whose tests moved to a module of their own, tests/checks/test_lessonNN.py."""
    modules = (REPO / "tests" / "checks").glob("test_lesson*.py")
    return {name for module in modules for name in re.findall(r'"(check_\w+)"', module.read_text())}


def test_every_check_is_tested_against_at_least_four_wrong_answers():
    moved = _checks_tested_in_tests_checks()
    assert set(CHECKS) | moved == set(checks.__all__) - {"ExerciseHint"}
    assert {name: len(wrongs) for name, (_, _, wrongs) in CHECKS.items() if len(wrongs) < 4} == {}


# --------------------------------------------------------------------------- other right answers


def announce_with_a_module_level_layer(room, text, _send=None):
    from asgiref.sync import async_to_sync

    group_send = async_to_sync(_layer().group_send)
    group_send(f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "message": {"text": text}})


_LAYER_GOT_AT_IMPORT = _layer()  # as a management command module may do


def announce_with_a_layer_got_at_import(room, text):
    from asgiref.sync import async_to_sync

    async_to_sync(_LAYER_GOT_AT_IMPORT.group_send)(
        f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "message": {"text": text}}
    )


class TokenAuthAskingTheQueryStringOnce(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        tokens = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        user = AnonymousUser()
        if "token" in tokens:
            user = await database_sync_to_async(user_for_token)(tokens["token"])
        return await super().__call__({**scope, "user": user}, receive, send)


class MembersOnlyAskingIsAnonymous(MembersOnly):
    async def connect(self):
        await self.accept()
        if self.scope["user"].is_anonymous:
            await self.close(code=4401)


class FastEchoWithTheMixin(FastEcho):
    async def dispatch(self, message):
        from channels.consumer import get_handler_name

        try:
            handler = getattr(self, get_handler_name(message))
        except AttributeError:
            raise ValueError(f"No handler for message type {message['type']}") from None
        await handler(message)


OTHER_RIGHT_ANSWERS = [
    ("check_announce", announce_with_a_module_level_layer),
    ("check_announce", announce_with_a_layer_got_at_import),
    ("check_announce", announce_with_a_layer_got_at_import),  # again: the check leaves the layer in place
    ("check_token_auth", TokenAuthAskingTheQueryStringOnce),
    ("check_members_only", MembersOnlyAskingIsAnonymous),
    ("check_database_free_echo", FastEchoWithTheMixin),
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
