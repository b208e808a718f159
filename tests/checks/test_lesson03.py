"""Exercise 03's check: a tally consumer with its protocol, routed next to HTTP and the echo."""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import re_path

from tests.checks import answer_tests


class Echo(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class Tally(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.total = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send_json({"error": "send a JSON object"})
            return
        if content.get("bye") is True:
            await self.close(code=4000)
            return
        number = content.get("add")
        if not isinstance(number, int) or isinstance(number, bool):
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


def _sync_tally():
    from channels.generic.websocket import JsonWebsocketConsumer

    class TallyConsumer(JsonWebsocketConsumer):
        def connect(self):
            self.total = 0
            self.accept()

        def receive_json(self, content, **kwargs):
            if not isinstance(content, dict):
                self.send_json({"error": "send a JSON object"})
            elif content.get("bye") is True:
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


# --------------------------------------------------------------------------- more answers (issue 21)


class TallyWithMatch(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.sum = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        match content:
            case {"bye": True}:
                await self.close(code=4000)
            case {"add": int(number)} if not isinstance(number, bool):
                self.sum += number
                await self.send_json({"total": self.sum})
            case _:
                await self.send_json({"error": "expected {'add': <int>} or {'bye': true}"})


class TallyCheckingTheType(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        self.total = 0

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.send_json({"error": "not an object"})
        if content.get("bye") is True:
            return await self.close(code=4000)
        add = content.get("add")
        if type(add) is not int:
            return await self.send_json({"error": f"not a whole number: {add!r}"})
        self.total = self.total + add
        await self.send_json({"total": self.total})

    async def disconnect(self, code):
        print(end="")  # a disconnect that does nothing visible


class TallyWithATotalsDictOnTheClass(Tally):  # per connection by key, but on the class and never cleaned up
    totals = {}

    async def connect(self):
        self.totals[self.channel_name] = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        if not isinstance(content.get("add"), int):
            return await self.send_json({"error": "send a whole number"})
        self.totals[self.channel_name] += content["add"]
        await self.send_json({"total": self.totals[self.channel_name]})


class TallyReadingAddWithoutGet(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        n = content["add"]
        if not isinstance(n, int):
            return await self.send_json({"error": "send a whole number"})
        self.total += n
        await self.send_json({"total": self.total})


class TallyCoercingWithInt(Tally):  # "5" adds 5, 2.9 adds 2
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        try:
            self.total += int(content.get("add"))
        except (TypeError, ValueError):
            return await self.send_json({"error": "send a whole number"})
        await self.send_json({"total": self.total})


class TallyEncodingTwice(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        if not isinstance(content.get("add"), int):
            return await self.send_json(json.dumps({"error": "send a whole number"}))
        self.total += content["add"]
        await self.send_json(json.dumps({"total": self.total}))


class TallyClosingInDisconnect(Tally):  # the talk's bug
    async def disconnect(self, code):
        await self.close()


class TallyNotEndingOnDisconnect(Tally):
    async def websocket_disconnect(self, message):
        await self.disconnect(message["code"])


class TallyWithAFloatTotal(Tally):
    async def connect(self):
        await super().connect()
        self.total = 0.0


class TallyCountingFromTheFirstNumber(Tally):  # hard-codes the first total
    async def connect(self):
        self.total = None
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        if not isinstance(content.get("add"), int):
            return await self.send_json({"error": "send a whole number"})
        self.total = 2 if self.total is None else self.total + content["add"]
        await self.send_json({"total": self.total})


class TallyComparingTheWholeBye(Tally):
    async def receive_json(self, content, **kwargs):
        if content == {"bye": True}:
            return await self.close(code=4000)
        await super().receive_json(content, **kwargs)


class TallyAddingFloats(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        n = content.get("add")
        if isinstance(n, (int, float)) and not isinstance(n, bool):
            self.total += n
            return await self.send_json({"total": self.total})
        await self.send_json({"error": "not a number"})


class TallySendingTheErrorAsText(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        n = content.get("add")
        if not isinstance(n, int):
            return await self.send_json("error: not a number")
        self.total += n
        await self.send_json({"total": self.total})


class TallyResettingOnError(Tally):
    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        n = content.get("add")
        if not isinstance(n, int):
            self.total = 0
            return await self.send_json({"error": "start again"})
        self.total += n
        await self.send_json({"total": self.total})


TOTALS = {}


class TallyInAGlobalDict(Tally):  # right totals, kept outside the connections for ever
    async def connect(self):
        TOTALS[id(self)] = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if "bye" in content:
            return await self.close(code=4000)
        n = content.get("add")
        if not isinstance(n, int):
            return await self.send_json({"error": "not a whole number"})
        TOTALS[id(self)] += n
        await self.send_json({"total": TOTALS[id(self)]})


class TallyInADefaultArgument(Tally):  # right totals, kept in connect's default dict for ever
    async def connect(self, _totals={}):  # noqa: B006 (the mistake under test)
        self._totals = _totals
        _totals[self.channel_name] = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or type(content.get("add")) is not int:
            return await super().receive_json(content, **kwargs)
        self._totals[self.channel_name] += content["add"]
        await self.send_json({"total": self._totals[self.channel_name]})


class TallyAddingTrue(Tally):  # isinstance(True, int): {"add": true} adds 1
    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and isinstance(content.get("add"), int):
            self.total += content["add"]
            return await self.send_json({"total": self.total})
        await super().receive_json(content, **kwargs)


class TallyReadingAList(Tally):  # content.get on [1, 2] raises AttributeError
    async def receive_json(self, content, **kwargs):
        if content.get("bye") is True:
            return await self.close(code=4000)
        await super().receive_json(content, **kwargs)


class TallyClosingOnAnyBye(Tally):  # {"bye": false} closes too
    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and "bye" in content:
            return await self.close(code=4000)
        await super().receive_json(content, **kwargs)


class TallyClosingWithAStrCode(Tally):
    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("bye") is True:
            return await self.close(code="4000")
        await super().receive_json(content, **kwargs)


class TallySendingTheTotalAsAStr(Tally):
    async def send_json(self, content, close=False):
        if "total" in content:
            content = {"total": str(content["total"])}
        await super().send_json(content, close)


class TallyWithABoolCheck(AsyncJsonWebsocketConsumer):  # a right variant: rejects bools and non-objects its own way
    async def connect(self):
        self.running_total = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        try:
            bye, number = content.get("bye"), content.get("add")
        except AttributeError:
            return await self.send_json({"error": "send an object"})
        if bye is True:
            return await self.close(code=4000)
        if isinstance(number, bool) or not isinstance(number, int):
            return await self.send_json({"error": "add takes a whole number"})
        self.running_total += number
        await self.send_json({"total": self.running_total})


# --------------------------------------------------------------------------- the tables

RIGHT = [
    tally_router(Tally),
    router_with_path,
    tally_router(TallyWithMatch),
    tally_router(TallyCheckingTheType),
    tally_router(TallyComparingTheWholeBye),
    tally_router(TallyWithABoolCheck),
]

WRONG = [
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
    (router((r"^echo/$", Echo)), "No route found for path 'tally/'"),
    (router((r"^tally/$", Tally)), "No route found for path 'echo/'"),
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
    (tally_router(TallyWithATotalsDictOnTheClass), "kept in TallyWithATotalsDictOnTheClass.totals"),
    (tally_router(TallyReadingAddWithoutGet), "raised KeyError: 'add'"),
    (tally_router(TallyCoercingWithInt), "converting with int() or adding floats"),
    (tally_router(TallyEncodingTwice), "JSON inside JSON"),
    (tally_router(TallyClosingInDisconnect), "no self.close()) in disconnect()"),
    (tally_router(TallyNotEndingOnDisconnect), "call super().websocket_disconnect(message)"),
    (tally_router(TallyWithAFloatTotal), "the total is a float"),
    (tally_router(TallyCountingFromTheFirstNumber), "first {\"add\": 10} got {'total': 2}"),
    (tally_router(TallyAddingFloats), "adding floats lets in what is not a whole number"),
    (tally_router(TallySendingTheErrorAsText), "answer with a JSON object"),
    (tally_router(TallyResettingOnError), "a bad message must not change the total"),
    (tally_router(TallyInAGlobalDict), "the totals are right, but they are kept in TOTALS"),
    (tally_router(TallyInADefaultArgument), "kept in TallyInADefaultArgument.connect(_totals=...)"),
    (tally_router(TallyAddingTrue), "true is a bool, not a number"),
    (tally_router(TallyReadingAList), "[1, 2] arrives as a list"),
    (tally_router(TallyClosingOnAnyBye), 'on {"bye": false}: only {"bye": true} says goodbye'),
    (tally_router(TallyClosingWithAStrCode), "closed with code '4000', a str"),
    (tally_router(TallySendingTheTotalAsAStr), "the total is a str"),
]


RAISING = [
    (tally_router(TallyReadingAddWithoutGet), 'n = content["add"]'),
    (tally_router(TallyCrashingOnBadInput), 'self.total += int(content["add"])'),
]

(
    test_a_right_answer_passes_twice_in_one_kernel,
    test_a_wrong_answer_gets_its_hint,
    test_an_exception_in_the_answer_is_a_hint_naming_its_line,
    test_each_check_has_eight_wrong_answers_and_three_right_ones,
) = answer_tests(RIGHT, WRONG, RAISING, check="check_tally")
