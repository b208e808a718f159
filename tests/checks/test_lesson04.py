"""Exercise 04's check: an echo that numbers each JSON object on its connection and refuses other values."""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from echo.consumers import CarefulJsonWebsocketConsumer, EchoChamberConsumer
from tests.checks import answer_tests

# --------------------------------------------------------------------------- right answers


class CountingEcho(CarefulJsonWebsocketConsumer):
    async def connect(self):
        self.count = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send_error("send a JSON object: only an object can carry a count")
            return
        self.count += 1
        await self.send_json({**content, "count": self.count})


class CountingFromInit(CarefulJsonWebsocketConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.count = 0

    async def receive_json(self, content, **kwargs):
        if type(content) is not dict:
            return await self.send_json({"error": "objects only"})
        self.count += 1
        await self.send_json(content | {"count": self.count})


class CountingOnTheEchoChamber(EchoChamberConsumer):  # the project's own echo, extended
    async def connect(self):
        self.numbered = 0
        await super().connect()

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict):
            self.numbered += 1
            reply = dict(content)
            reply["count"] = self.numbered
            await self.send_json(reply)
        else:
            await self.deliver({"error": f"expected an object, got {type(content).__name__}"})


class CountingWithMatch(CarefulJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        self.count = 0

    async def receive_json(self, content, **kwargs):
        match content:
            case dict():
                self.count += 1
                await self.send_json({**content, "count": self.count})
            case _:
                await self.send_error("only JSON objects are numbered")


class CountingIntoTheMessage(CarefulJsonWebsocketConsumer):
    async def connect(self):
        self.count = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.send_json({"error": "send an object"})
        self.count += 1
        content["count"] = self.count
        await self.send_json(content)


# --------------------------------------------------------------------------- wrong answers


class CountingOnTheClass(CarefulJsonWebsocketConsumer):
    count = 0

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        type(self).count += 1
        await self.send_json({**content, "count": type(self).count})


class CountingCarelessly(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.count = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.send_json({"error": "objects only"})
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
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        await self.send_json({**content, "count": self.count})
        self.count += 1


class CountingOverridingReceive(CountingEcho):
    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        content = json.loads(text_data)
        await self.receive_json(content)


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
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        self.count += 1
        await self.send_json({"count": self.count})


class CountingAnyValue(CarefulJsonWebsocketConsumer):  # the exercise before it had a decision to make
    async def connect(self):
        self.count = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        self.count += 1
        await self.send_json({**content, "count": self.count})


class CountingWithTheClientsCountWinning(CountingEcho):
    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        self.count += 1
        await self.send_json({"count": self.count, **content})


class CountingTheRefusedValues(CountingEcho):
    async def receive_json(self, content, **kwargs):
        self.count += 1
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        await self.send_json({**content, "count": self.count})


class CountingAsText(CountingEcho):
    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        self.count += 1
        await self.send_json({**content, "count": str(self.count)})


class CountingWrappingOtherValues(CountingEcho):  # answers, but not with an error
    async def receive_json(self, content, **kwargs):
        self.count += 1
        body = content if isinstance(content, dict) else {"value": content}
        await self.send_json({**body, "count": self.count})


class CountingInAGlobal(CarefulJsonWebsocketConsumer):
    async def connect(self):
        global MESSAGES
        MESSAGES = 0
        await self.accept()

    async def receive_json(self, content, **kwargs):
        global MESSAGES
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        MESSAGES += 1
        await self.send_json({**content, "count": MESSAGES})


MESSAGES = 0


class CountingAndClosingOnDisconnect(CountingEcho):  # the talk's bug
    async def disconnect(self, code):
        await self.close()


class CountingAndClosingOnOtherValues(CountingEcho):
    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.close(code=4000)
        await super().receive_json(content, **kwargs)


class CountingOnlyWhatHasCh(CountingEcho):  # a shape the text never promised
    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self.send_error("objects only")
        self.count += 1
        await self.send_json({"ch": content["ch"], "count": self.count})


class CountingInADefaultArgument(CarefulJsonWebsocketConsumer):  # per channel name, in a default dict for ever
    async def receive_json(self, content, _counts={}, **kwargs):  # noqa: B006 (the mistake under test)
        if not isinstance(content, dict):
            return await self.send_error("not an object")
        _counts[self.channel_name] = _counts.get(self.channel_name, 0) + 1
        await self.send_json({**content, "count": _counts[self.channel_name]})


class CountingRefusingTheTypesShown(CountingEcho):  # a list of wrong types, not a check for the right one
    async def receive_json(self, content, **kwargs):
        if isinstance(content, (str, int, list)) and not isinstance(content, bool):
            return await self.send_error("not an object")
        self.count += 1
        await self.send_json({**content, "count": self.count})


class CountingRefusingTrueAsAnInt(CountingEcho):  # refuses str and list; True is an int, so it is counted
    async def receive_json(self, content, **kwargs):
        if isinstance(content, (str, list, type(None), float)) or type(content) is int:
            return await self.send_error("not an object")
        self.count += 1
        await self.send_json({**dict(content if isinstance(content, dict) else {}), "count": self.count})


class CountingRefusingAnEmptyObject(CountingEcho):
    async def receive_json(self, content, **kwargs):
        if not content or not isinstance(content, dict):
            return await self.send_error("send an object")
        self.count += 1
        await self.send_json({**content, "count": self.count})


# --------------------------------------------------------------------------- the tables

RIGHT = [CountingEcho, CountingFromInit, CountingOnTheEchoChamber, CountingWithMatch, CountingIntoTheMessage]

WRONG = [
    (CountingOnTheClass, "not in CountingOnTheClass.count, which outlives"),
    (CountingCarelessly, "inherit from the project's CarefulJsonWebsocketConsumer"),
    (NotCounting, "add the message's number"),
    (CountingWithoutAccepting, "must end with await self.accept()"),
    (CountingAfterSending, "the count starts at 1"),
    (CountingWithoutStarting, "Set self.count = 0 in connect()".lower()),
    (CountingWithoutAwait, "without await"),
    (CountingOverridingReceive, "override receive_json, not receive"),
    (CountingOnlyTheCount, "keep all the client's fields"),
    (CountingAnyValue, "check isinstance(content, dict) first"),
    (CountingWithTheClientsCountWinning, "the client's count won"),
    (CountingTheRefusedValues, "a value that gets an error is not counted"),
    (CountingAsText, "send the number itself, an int"),
    (CountingWrappingOtherValues, "is JSON but not an object"),
    (CountingInAGlobal, "not in MESSAGES,"),
    (CountingAndClosingOnDisconnect, "no self.close()) in disconnect()"),
    (CountingOnlyWhatHasCh, "raised KeyError: 'ch'"),
    (CountingAndClosingOnOtherValues, 'closed the connection (code 4000) on "hello"'),
    (CountingInADefaultArgument, "not in CountingInADefaultArgument.receive_json(_counts=...)"),
    (CountingRefusingTheTypesShown, "raised TypeError: 'NoneType' object is not a mapping"),
    (CountingRefusingTrueAsAnInt, "true is JSON but not an object"),
    (CountingRefusingAnEmptyObject, "the empty object {} got"),
]


RAISING = [
    (CountingAnyValue, 'await self.send_json({**content, "count": self.count})'),
    (CountingOnlyWhatHasCh, 'await self.send_json({"ch": content["ch"], "count": self.count})'),
    (CountingWithoutStarting, "self.count += 1"),
]

(
    test_a_right_answer_passes_twice_in_one_kernel,
    test_a_wrong_answer_gets_its_hint,
    test_an_exception_in_the_answer_is_a_hint_naming_its_line,
    test_each_check_has_eight_wrong_answers_and_three_right_ones,
) = answer_tests(RIGHT, WRONG, RAISING, check="check_counting_echo")
