"""Exercise 10's check: consumers that look the member's name up once per connection, right and wrong.

The check measures thread hops (jobs its event loop hands to threads) rather than patching a name, so
the wrong answers include hops hidden in a no-op, Channels patched for everyone, and a task per message.
"""

import asyncio
import concurrent.futures
import os

import channels.consumer
import pytest
from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tests.checks import table_tests


def display_name(username):
    """As the exercise gives it: the first name, or the username (a database query)."""
    from django.contrib.auth.models import User

    user = User.objects.filter(username=username).first()
    return (user.first_name or user.username) if user else username


def username_of(consumer):
    return consumer.scope["url_route"]["kwargs"]["username"]


class NamedEcho(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.name = await database_sync_to_async(display_name)(username_of(self))
        await self.accept()

    async def receive_json(self, content, **kwargs):
        await self.send_json({**content, "from": self.name})


# --------------------------------------------------------------------------- wrong answers


class LookingUpPerMessage(NamedEcho):  # right replies, a thread hop per message
    async def receive_json(self, content, **kwargs):
        name = await database_sync_to_async(display_name)(username_of(self))
        await self.send_json({**content, "from": name})


class KeepingAHopInANoOp(NamedEcho):  # "it's only a no-op": still a thread there and back
    async def receive_json(self, content, **kwargs):
        await database_sync_to_async(lambda: None)()
        await self.send_json({**content, "from": self.name})


class AskingAThreadForTheReply(NamedEcho):
    async def receive_json(self, content, **kwargs):
        reply = await asyncio.to_thread(lambda: {**content, "from": self.name})
        await self.send_json(reply)


async def _no_cleanup():
    return None


class PatchingChannelsForEveryone(LookingUpPerMessage):  # the hops hidden by removing Channels' own, everywhere
    @classmethod
    def as_asgi(cls, **initkwargs):
        channels.consumer.aclose_old_connections = _no_cleanup  # as lesson 10 measured, never put back
        return super().as_asgi(**initkwargs)


class NameOnTheClass(AsyncJsonWebsocketConsumer):
    name = None

    async def connect(self):
        type(self).name = await database_sync_to_async(display_name)(username_of(self))
        await self.accept()

    async def receive_json(self, content, **kwargs):
        await self.send_json({**content, "from": type(self).name})


_NAMES = {}  # a module-level cache: right until a name changes


class CachingNamesForever(NamedEcho):
    async def connect(self):
        username = username_of(self)
        if username not in _NAMES:
            _NAMES[username] = await database_sync_to_async(display_name)(username)
        self.name = _NAMES[username]
        await self.accept()


class LookingUpInTheLoop(NamedEcho):  # raises SynchronousOnlyOperation: the hint names the line
    async def connect(self):
        self.name = display_name(username_of(self))
        await self.accept()


class ForgettingTheName(NamedEcho):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class AlwaysAda(NamedEcho):
    async def connect(self):
        self.name = "Ada"
        await self.accept()


class ReadingTheTutorialsKwarg(NamedEcho):
    async def connect(self):
        self.name = await database_sync_to_async(display_name)(self.scope["url_route"]["kwargs"]["name"])
        await self.accept()


class FiringAndForgetting(NamedEcho):  # the clean-up no longer delays a message; StopConsumer ends nothing
    async def dispatch(self, message):
        asyncio.create_task(super().dispatch(message))


class QueryingOnTheLoop(NamedEcho):  # Django's refusal silenced: a query per message, on the event loop
    @classmethod
    def as_asgi(cls, **initkwargs):
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        return super().as_asgi(**initkwargs)

    async def receive_json(self, content, **kwargs):
        await self.send_json({**content, "from": display_name(username_of(self))})


class LeavingAsyncUnsafeSet(NamedEcho):  # a right consumer, and Django's guard off for every other one
    @classmethod
    def as_asgi(cls, **initkwargs):
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        return super().as_asgi(**initkwargs)


_POOL = concurrent.futures.ThreadPoolExecutor(2)


class LookingUpInAPoolOfItsOwn(NamedEcho):  # a query and a hop per message, not through run_in_executor
    async def receive_json(self, content, **kwargs):
        name = await asyncio.wrap_future(_POOL.submit(display_name, username_of(self)))
        await self.send_json({**content, "from": name})


class LettingTheClientSayWhoItIs(NamedEcho):
    async def receive_json(self, content, **kwargs):
        await self.send_json({"from": self.name, **content})


_BY_USERNAME = {}


class KeepingNamesByUsername(NamedEcho):  # refreshed on every connect, shared by the member's other tabs
    async def connect(self):
        _BY_USERNAME[username_of(self)] = await database_sync_to_async(display_name)(username_of(self))
        await self.accept()

    async def receive_json(self, content, **kwargs):
        await self.send_json({**content, "from": _BY_USERNAME[username_of(self)]})


class NeverAccepting(NamedEcho):
    async def connect(self):
        self.name = await database_sync_to_async(display_name)(username_of(self))


# --------------------------------------------------------------------------- right answers people write


class WithSyncToAsync(NamedEcho):
    async def connect(self):
        await self.accept()
        self.name = await sync_to_async(display_name)(self.scope["url_route"]["kwargs"]["username"])

    async def receive_json(self, content, **kwargs):
        await self.send_json(dict(content, **{"from": self.name}))


class WithTheAsyncOrm(AsyncJsonWebsocketConsumer):
    async def connect(self):
        from django.contrib.auth.models import User

        username = username_of(self)
        user = await User.objects.filter(username=username).afirst()
        self.display = (user.first_name or user.username) if user else username
        await self.accept()

    async def receive_json(self, content, **kwargs):
        content["from"] = self.display
        await self.send_json(content)


class WithoutTheCleanUpEither(NamedEcho):  # lesson 10's DatabaseFreeMixin: fewer hops than a stock echo
    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class ClosingInDisconnect(NamedEcho):  # the talk's bug: the connection is already gone
    async def disconnect(self, code):
        await self.close()


class LookingUpAtTheFirstMessage(NamedEcho):  # once per connection, but a message waits for it
    async def connect(self):
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if not hasattr(self, "name"):
            self.name = await database_sync_to_async(display_name)(username_of(self))
        await self.send_json({**content, "from": self.name})


# The check uses the ORM from other threads than the test's, as it does in a learner's kernel: pytest-django's
# test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = {
    "check_database_free_echo": (
        NamedEcho,
        "none of yours",
        [
            (LookingUpPerMessage, "your consumer made 5 database queries"),
            (KeepingAHopInANoOp, "your consumer made 10 thread hops, a stock echo 5"),
            (AskingAThreadForTheReply, "your consumer made 10 thread hops"),
            (PatchingChannelsForEveryone, "something replaced channels.consumer.aclose_old_connections"),
            (NameOnTheClass, "never on the class or in a global"),
            (CachingNamesForever, "a name kept beyond its connection goes stale"),
            (LookingUpInTheLoop, "await database_sync_to_async(display_name)(username)"),
            (ForgettingTheName, "without 'from'"),
            (AlwaysAda, "a member nobody has in the database"),
            (ReadingTheTutorialsKwarg, "self.scope['url_route']['kwargs']['username']"),
            (FiringAndForgetting, "raised it in a task of its own"),
            (NeverAccepting, "never answered"),
            (ClosingInDisconnect, "a close() in disconnect()"),
            (QueryingOnTheLoop, "database queries ran on the event loop's own thread"),
            (LeavingAsyncUnsafeSet, "DJANGO_ALLOW_ASYNC_UNSAFE is set in this kernel"),
            (LookingUpInAPoolOfItsOwn, "your consumer made 5 database queries"),
            (LettingTheClientSayWhoItIs, "came back with 'from': 'mallory'"),
            (KeepingNamesByUsername, "is shared by every connection"),
            (LookingUpAtTheFirstMessage, "not when a message comes"),
        ],
    ),
}
OTHER_RIGHT_ANSWERS = [
    ("check_database_free_echo", WithSyncToAsync),
    ("check_database_free_echo", WithTheAsyncOrm),
    ("check_database_free_echo", WithoutTheCleanUpEither),
    ("check_database_free_echo", NamedEcho),  # a second run in the same process
]
RAISING = [
    ("check_database_free_echo", LookingUpInTheLoop, "SynchronousOnlyOperation", "User.objects.filter("),
    ("check_database_free_echo", ReadingTheTutorialsKwarg, "KeyError", '["kwargs"]["name"]'),
]


@pytest.fixture(autouse=True)
def channels_left_as_it_was():
    """Channels and the environment as they were: some rows patch one or set DJANGO_ALLOW_ASYNC_UNSAFE.

    The environment is this test process's, which every kernel and server it starts later inherits
    (a leaked DJANGO_ALLOW_ASYNC_UNSAFE turned solutions 09 and 10 wrong in the run-twice test).
    """
    original = channels.consumer.aclose_old_connections
    unsafe = os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    yield
    channels.consumer.aclose_old_connections = original
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if unsafe is not None:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe


(
    test_the_check_passes_the_solution,
    test_the_check_passes_the_variants_learners_write,
    test_the_check_names_each_mistake,
    test_an_answer_that_raises_gets_a_hint_naming_its_line,
    test_the_check_has_its_wrong_answers_and_correct_variants,
) = table_tests(CHECKS, OTHER_RIGHT_ANSWERS, RAISING)
