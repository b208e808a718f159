"""Exercise 02's checks: trace_messages (an ASGI middleware) and shout (a raw ASGI WebSocket app)."""

import functools

from tests.checks import answer_tests


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


# --------------------------------------------------------------------------- more answers (issue 21)


def trace_messages_with_wraps(app, log):
    def record(direction, message):
        log.append((direction, message["type"]))
        return message

    @functools.wraps(app)
    async def middleware(scope, receive, send):
        async def receive_and_record():
            return record("receive", await receive())

        async def record_and_send(message):
            await send(record("send", message))

        await app(scope, receive_and_record, record_and_send)

    return middleware


class TraceMessagesWithHelpers(TraceMessages):
    async def __call__(self, scope, receive, send):
        await self.app(scope, self._receiving(receive), self._sending(send))

    def _receiving(self, receive):
        async def wrapped():
            message = await receive()
            self.log.append(("receive", message["type"]))
            return message

        return wrapped

    def _sending(self, send):
        async def wrapped(message):
            self.log.append(("send", message["type"]))
            await send(message)

        return wrapped


class TraceMessagesKeepingTheConnectionOnSelf(TraceMessages):  # one instance serves every connection
    async def __call__(self, scope, receive, send):
        self.receive, self.send = receive, send
        await self.app(scope, self.traced_receive, self.traced_send)

    async def traced_receive(self):
        message = await self.receive()
        self.log.append(("receive", message["type"]))
        return message

    async def traced_send(self, message):
        self.log.append(("send", message["type"]))
        await self.send(message)


def trace_messages_reading_an_attribute(app, log):
    async def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("receive", message.type))
            return message

        async def traced_send(message):
            log.append(("send", message["type"]))
            await send(message)

        await app(scope, traced_receive, traced_send)

    return traced


_SHOUTED_SINCE_CONNECT = 0


async def shout_resetting_a_global_on_connect(scope, receive, send):
    global _SHOUTED_SINCE_CONNECT
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            _SHOUTED_SINCE_CONNECT = 0
            await send({"type": "websocket.accept"})
        else:
            _SHOUTED_SINCE_CONNECT += 1
            await send({"type": "websocket.send", "text": f"{_SHOUTED_SINCE_CONNECT}: {event['text'].upper()}"})


async def shout_hard_coded(scope, receive, send):
    replies = iter(["1: HELLO", "2: AGAIN"])
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "websocket.send", "text": next(replies, "3: ?")})


async def shout_closing_after_disconnect(scope, receive, send):  # the talk's bug
    count = 0
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"})
        else:
            await send({"type": "websocket.close"})
            return


async def shout_forgetting_to_start_the_count(scope, receive, send):
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            count += 1  # noqa: F821
            await send({"type": "websocket.send", "text": f"{count}: {event['text'].upper()}"})


async def shout_without_a_space(scope, receive, send):
    count = 0
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            count += 1
            await send({"type": "websocket.send", "text": f"{count}:{event['text'].upper()}"})


async def shout_in_title_case(scope, receive, send):
    count = 0
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {event['text'].title()}"})


async def shout_with_match(scope, receive, send):
    said = 0
    while True:
        match await receive():
            case {"type": "websocket.connect"}:
                await send({"type": "websocket.accept"})
            case {"type": "websocket.receive", "text": text}:
                said += 1
                await send({"type": "websocket.send", "text": f"{said}: {text.upper()}"})
            case {"type": "websocket.disconnect"}:
                return


class Shout:  # an ASGI app as an instance with an async __call__
    async def __call__(self, scope, receive, send):
        number = 0
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            else:
                number += 1
                await send({"type": "websocket.send", "text": str(number) + ": " + event["text"].upper()})


def trace_messages_swallowing_send_errors(app, log):  # the app never learns the client left
    async def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("receive", message["type"]))
            return message

        async def traced_send(message):
            log.append(("send", message["type"]))
            try:
                await send(message)
            except Exception:
                pass

        await app(scope, traced_receive, traced_send)

    return traced


def trace_messages_in_a_task(app, log):  # starts the app and returns at once
    import asyncio

    async def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("receive", message["type"]))
            return message

        async def traced_send(message):
            log.append(("send", message["type"]))
            await send(message)

        asyncio.ensure_future(app(scope, traced_receive, traced_send))

    return traced


def trace_messages_with_a_finally(app, log):  # a right variant: notes a failed send, and lets it go on
    async def traced(scope, receive, send):
        async def traced_receive():
            message = await receive()
            log.append(("receive", message["type"]))
            return message

        async def traced_send(message):
            log.append(("send", message["type"]))
            try:
                await send(message)
            except OSError:
                log.append(("send failed", message["type"]))
                raise

        await app(scope, traced_receive, traced_send)

    return traced


async def shout_swallowing_everything(scope, receive, send):  # ends on disconnect only by a swallowed KeyError
    number = 0
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                continue
            number += 1
            await send({"type": "websocket.send", "text": f"{number}: {event['text'].upper()}"})
    except Exception:
        pass


async def shout_counting_the_connect(scope, receive, send):  # "2: HELLO" for the first message
    number = 0
    while True:
        event = await receive()
        number += 1
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": f"{number}: {event['text'].upper()}"})
        else:
            return


async def shout_with_a_default_count(scope, receive, send, count=[0]):  # noqa: B006 (the mistake under test)
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            count[0] += 1
            await send({"type": "websocket.send", "text": f"{count[0]}: {event['text'].upper()}"})
        else:
            return


async def shout_counting_on_itself(scope, receive, send):  # a function attribute, shared by every connection
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            shout_counting_on_itself.count += 1
            await send({"type": "websocket.send", "text": f"{shout_counting_on_itself.count}: {event['text'].upper()}"})
        else:
            return


shout_counting_on_itself.count = 0


async def shout_with_get(scope, receive, send):  # a right variant: event.get, and a disconnect seen by its type
    count = 0
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event.get("text") is not None:
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {event.get('text').upper()}"})


# --------------------------------------------------------------------------- the tables

RIGHT = [
    ("check_tracer", trace_messages),
    ("check_tracer", TraceMessages),
    ("check_tracer", trace_messages_with_wraps),
    ("check_tracer", TraceMessagesWithHelpers),
    ("check_tracer", trace_messages_with_a_finally),
    ("check_shouting_app", shout),
    ("check_shouting_app", shout_with_break),
    ("check_shouting_app", shout_with_match),
    ("check_shouting_app", Shout()),
    ("check_shouting_app", shout_with_get),
]

WRONG = [
    ("check_tracer", trace_messages_of_receive_only, "Wrap send too"),
    ("check_tracer", trace_messages_of_send_only, "Wrap receive too"),
    ("check_tracer", trace_messages_without_awaiting_receive, "await it first"),
    ("check_tracer", trace_messages_returning_receives_coroutine, "the app got a coroutine from receive()"),
    ("check_tracer", trace_messages_without_awaiting_send, "called send(message) without await"),
    ("check_tracer", trace_messages_returning_no_message, "the app got None from receive()"),
    ("check_tracer", trace_messages_swallowing_sends, "the server never got websocket.accept"),
    ("check_tracer", trace_messages_recording_the_coroutine, "you recorded receive() before awaiting it"),
    ("check_tracer", trace_messages_of_the_scope, "wrap those two"),
    ("check_tracer", trace_messages_popping_the_type, "without 'type'"),
    ("check_tracer", trace_messages_marking_messages, "your wrapper changed the messages"),
    ("check_tracer", trace_messages_recording_after_sending, "record it first, then await send(message)"),
    ("check_tracer", trace_messages_recording_whole_messages, "record (direction, message['type'])"),
    ("check_tracer", trace_messages_returning_nothing, "trace_messages returned None"),
    ("check_tracer", trace_messages_to_a_new_list, "the log is empty"),
    ("check_tracer", trace_messages_with_directions_swapped, "the directions are swapped"),
    ("check_tracer", trace_messages_without_awaiting_the_app, "called app(scope, ...) without await"),
    ("check_tracer", trace_messages_returning_a_plain_def, "trace_messages returned a plain def"),
    ("check_tracer", TraceMessagesKeepingTheConnectionOnSelf, "not on self or in globals"),
    ("check_tracer", trace_messages_reading_an_attribute, "raised AttributeError: 'dict' object has no attribute"),
    ("check_shouting_app", shout_without_accepting, "accept first"),
    ("check_shouting_app", shout_before_accepting, "before accepting"),
    ("check_shouting_app", shout_in_bytes, "not 'bytes'"),
    ("check_shouting_app", shout_without_counting, "count the messages"),
    ("check_shouting_app", shout_silently, "send a websocket.send for every websocket.receive"),
    ("check_shouting_app", shout_ignoring_disconnect, "return when event['type'] == 'websocket.disconnect'"),
    ("check_shouting_app", shout_treating_disconnect_as_a_message, "only websocket.receive carries 'text'"),
    ("check_shouting_app", shout_once, "keep receiving events in a loop"),
    ("check_shouting_app", shout_counting_globally, "not in _shouted, which outlives the connection"),
    ("check_shouting_app", shout_returning_the_reply, "it sends each reply with await send("),
    ("check_shouting_app", shout_without_awaiting_send, "called send({...}) without await"),
    ("check_shouting_app", shout_as_a_plain_def, "an ASGI app is an async def"),
    ("check_shouting_app", shout_resetting_a_global_on_connect, "each connection counts its own messages"),
    ("check_shouting_app", shout_hard_coded, "build each reply from event['text']"),
    ("check_shouting_app", shout_closing_after_disconnect, "after websocket.disconnect, shout sent"),
    ("check_shouting_app", shout_forgetting_to_start_the_count, "shout raised UnboundLocalError"),
    ("check_shouting_app", shout_without_a_space, "the number, a colon, a space, then the text"),
    ("check_shouting_app", shout_in_title_case, "upper-case the text"),
    ("check_tracer", trace_messages_swallowing_send_errors, "your send wrapper swallowed the exception"),
    ("check_tracer", trace_messages_in_a_task, "returned while the app was still running"),
    ("check_shouting_app", shout_swallowing_everything, "the KeyError was swallowed"),
    ("check_shouting_app", shout_counting_the_connect, "got '2: HELLO', expected '1: HELLO': number the websocket"),
    ("check_shouting_app", shout_with_a_default_count, "not in shout_with_a_default_count(count=...)"),
    ("check_shouting_app", shout_counting_on_itself, "not in shout_counting_on_itself.count"),
]


RAISING = [
    ("check_tracer", trace_messages_reading_an_attribute, 'log.append(("receive", message.type))'),
    ("check_shouting_app", shout_forgetting_to_start_the_count, "count += 1"),
    ("check_shouting_app", shout_treating_disconnect_as_a_message, 'await send({"type": "websocket.send"'),
]

(
    test_a_right_answer_passes_twice_in_one_kernel,
    test_a_wrong_answer_gets_its_hint,
    test_an_exception_in_the_answer_is_a_hint_naming_its_line,
    test_each_check_has_eight_wrong_answers_and_three_right_ones,
) = answer_tests(RIGHT, WRONG, RAISING)
