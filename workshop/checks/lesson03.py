"""Exercise 03, Channels: a tally consumer with per-connection state, routed next to HTTP and the echo."""

from __future__ import annotations

import json

from ._common import (
    ExerciseHint,
    connect,
    consumer_class_of,
    missing_await_hint,
    next_output,
    not_written,
    passed,
    run,
    stop,
    unawaited_coroutines,
)

_SHARED = (
    "shared by every connection. Keep it on the instance, not on the class or in a global: "
    "self.total = 0 in connect(), before await self.accept()"
)
BYE_CODE = 4000  # the close code the exercise asks for: 4000-4999 are free for applications


def _websocket_routes(application):
    """Check the shape the exercise asks for; answer the URLRouter's routes."""
    from channels.consumer import AsyncConsumer, SyncConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter

    if application is None:
        raise ExerciseHint("build_application() returned None: return the ProtocolTypeRouter")
    if isinstance(application, URLRouter):
        raise ExerciseHint(
            "build_application() returned a bare URLRouter: wrap it as in the talk's asgi.py, "
            "ProtocolTypeRouter({'http': ..., 'websocket': URLRouter([...])}), so the server knows which "
            "router handles which protocol"
        )
    if isinstance(application, list):
        raise ExerciseHint(
            "build_application() returned a list of routes: put them in "
            "ProtocolTypeRouter({'websocket': URLRouter([...])})"
        )
    if not isinstance(application, ProtocolTypeRouter):
        raise ExerciseHint(f"build_application() returned {application!r}: return a ProtocolTypeRouter")
    if "websocket" not in application.application_mapping:
        raise ExerciseHint(
            f"the ProtocolTypeRouter has no 'websocket' entry (it has "
            f"{sorted(application.application_mapping)}): the key is the scope type, 'websocket'"
        )
    if "http" not in application.application_mapping:
        raise ExerciseHint(
            "the ProtocolTypeRouter has no 'http' entry, so the same server can no longer answer "
            "pages: add 'http': get_asgi_application(), next to 'websocket'"
        )
    router = application.application_mapping["websocket"]
    routes = getattr(router, "routes", [])
    for route in routes:
        callback = route.callback
        if isinstance(callback, type) and issubclass(callback, (AsyncConsumer, SyncConsumer)):
            raise ExerciseHint(
                f"the route {route.pattern} points at the class {callback.__name__}: route "
                f"{callback.__name__}.as_asgi(), the ASGI application that makes one consumer "
                "per connection"
            )
    return routes


async def _conversation(application, path, messages):
    """Connect, send each message, collect one reply each: text, ("closed", code), ("crashed", error) or None."""
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(application, path)
    connected, _ = await connect(communicator)
    if not connected:
        await stop(communicator)
        return connected, []
    replies = []
    try:
        for message in messages:
            await communicator.send_to(text_data=json.dumps(message))
            try:
                output = await next_output(communicator)
            except Exception as error:  # the consumer raised while handling this message
                replies.append(("crashed", error))
                break
            if output is None:
                replies.append(None)
                break
            if output["type"] == "websocket.close":
                after = await _next_or_none(communicator)  # a consumer must send nothing after its close
                if after is not None and after["type"] == "websocket.send":
                    replies.append(("sent after closing", output.get("code"), after.get("text")))
                else:
                    replies.append(("closed", output.get("code")))
                break
            text = output.get("text") if output.get("text") is not None else output.get("bytes")
            if message is messages[-1]:  # the goodbye: a close should come, and nothing before it
                after = await _next_or_none(communicator)
                if after is not None and after["type"] == "websocket.close":
                    replies.append(("said before closing", text, after.get("code")))
                    break
            replies.append(text)
    finally:
        await stop(communicator, disconnect=True)
    return True, replies


async def _next_or_none(communicator):
    """The consumer's next output, or None (also when it has crashed meanwhile)."""
    try:
        return await next_output(communicator, timeout=0.1)
    except Exception:
        return None


async def _two_at_once(application, path, messages):
    """Connection A sends ``messages[0]``, then B opens and sends ``messages[1]``, then A sends ``messages[2]``.

    Answers ``(connected, [B's reply, A's second reply])``: state kept per connection keeps them apart.
    """
    from channels.testing import WebsocketCommunicator

    first = WebsocketCommunicator(application, path)
    try:
        if not (await connect(first))[0]:
            return False, []
        await first.send_to(text_data=json.dumps(messages[0]))
        await next_output(first)
        connected, replies = await _conversation(application, path, [messages[1]])
        await first.send_to(text_data=json.dumps(messages[2]))
        output = await next_output(first)
        replies = (replies or [None]) + [output.get("text") if output and output["type"] == "websocket.send" else None]
        return connected, replies
    finally:
        await stop(first, disconnect=True)


def _talk(application, path, messages, who, routes=(), conversation=_conversation):
    """Run one conversation for real; answer the replies, or raise the hint for a connection that failed."""
    try:
        with unawaited_coroutines() as unawaited:
            connected, replies = run(conversation(application, path, messages))
    except NotImplementedError:
        raise not_written(who) from None
    except TypeError as error:
        if "__init__() should return None" in str(error):
            raise ExerciseHint(
                f"{who}.__init__ is an async def: Python cannot await a constructor. Set the state in "
                "connect() instead (self.total = 0, then await self.accept())"
            ) from None
        raise ExerciseHint(f"{who} raised TypeError: {error}") from None
    except ValueError as error:
        if "No route found" in str(error):
            route = path.strip("/")
            if any(str(r.pattern).lstrip("^").startswith("/") for r in routes):
                raise ExerciseHint(
                    f"no route matches '{path}': Channels matches the path without its leading "
                    f'\'/\', so write re_path(r"^{route}/$", ...), not r"^/{route}/$"'
                ) from None
            raise ExerciseHint(
                f"no route matches '{path}': add re_path(r\"^{route}/$\", ...as_asgi()) to the URLRouter"
            ) from None
        raise ExerciseHint(f"{who} raised ValueError: {error}") from None
    if unawaited:
        raise missing_await_hint(unawaited, who)
    if connected is None:
        raise ExerciseHint(
            f"the handshake on {path} got no answer: {who}'s connect() must call "
            "await self.accept() (or not be overridden)"
        )
    if connected is False:
        raise ExerciseHint(f"the connection to {path} was refused: accept it in connect() (await self.accept())")
    return replies


def _decoded(reply, message, who):
    """The JSON object a reply carries, or the hint for what came instead."""
    if reply is None:
        raise ExerciseHint(
            f"{who} did not answer {json.dumps(message)}: an AsyncJsonWebsocketConsumer calls "
            "receive_json(self, content, **kwargs); reply with await self.send_json(...)"
        )
    if isinstance(reply, tuple) and reply[0] == "crashed":
        error = reply[1]
        if isinstance(error, TypeError) and ("str" in str(error) or "serializable" in str(error)):
            raise ExerciseHint(
                f"{who} raised TypeError: {error}. send(text_data=...) takes a str; use send_json(...) to send a dict"
            )
        raise ExerciseHint(f"{who} raised {type(error).__name__}: {error} on {json.dumps(message)}")
    if isinstance(reply, tuple):
        raise ExerciseHint(f"{who} closed the connection (code {reply[1]}) instead of answering {json.dumps(message)}")
    if not isinstance(reply, (str, bytes)):
        raise ExerciseHint(
            f"{who} sent {reply!r}, a {type(reply).__name__}, as text: send(text_data=...) takes a str; "
            "use send_json(...) to send a dict"
        )
    try:
        return json.loads(reply)
    except (TypeError, ValueError):
        raise ExerciseHint(f"the reply {reply!r} is not JSON: use send_json(...)") from None


def _check_http(application):
    """GET / through the application, for real: the 'http' entry must be Django, answering pages."""
    from channels.testing import HttpCommunicator

    use_django = "'http' must be Django's application: 'http': get_asgi_application()"
    try:
        response = run(HttpCommunicator(application, "GET", "/").get_response(timeout=2))
    except TypeError as error:
        if "positional argument" in str(error):
            raise ExerciseHint(
                f"a GET / failed with TypeError: {error}. You routed the function get_asgi_application itself: "
                "call it, 'http': get_asgi_application(), which returns the application"
            ) from None
        raise ExerciseHint(f"a GET / raised TypeError: {error}. {use_django}") from None
    except ValueError as error:
        if "No handler for message type http." in str(error):
            raise ExerciseHint(
                f"a GET / reached a consumer ({error}): consumers answer WebSockets; {use_django}"
            ) from None
        raise ExerciseHint(f"a GET / raised ValueError: {error}. {use_django}") from None
    except (TimeoutError, AssertionError):
        raise ExerciseHint(f"a GET / got no HTTP response: {use_django}") from None
    except Exception as error:
        raise ExerciseHint(f"a GET / raised {type(error).__name__}: {error}. {use_django}") from None
    if not isinstance(response.get("status"), int):
        raise ExerciseHint(f"a GET / got {response!r}, not an HTTP response: {use_django}")


def _consumer_named(routes, name):
    for route in routes:
        consumer = consumer_class_of(route.callback)
        if consumer is not None and consumer.__name__ == name:
            return consumer
    return None


def check_tally(build_application) -> None:
    """Exercise 03: /tally/ totals {"add": n} per connection, answers bad input with an error, bye closes with 4000."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer

    who = "TallyConsumer"
    try:
        application = build_application()
    except NotImplementedError:
        raise not_written("build_application") from None
    routes = _websocket_routes(application)
    tally = _consumer_named(routes, who)
    if (
        tally is not None
        and "receive_json" in vars(tally)
        and not issubclass(tally, (AsyncJsonWebsocketConsumer, JsonWebsocketConsumer))
    ):
        raise ExerciseHint(
            f"{who} defines receive_json but inherits from {tally.__base__.__name__}, "
            "which never calls it: inherit from AsyncJsonWebsocketConsumer"
        )

    first, second, bad, after, bye = {"add": 2}, {"add": 5}, {"add": "two"}, {"add": 1}, {"bye": True}
    replies = _talk(application, "/tally/", [first, second, bad, after, bye], who, routes)
    replies += [None] * (5 - len(replies))
    answer = _decoded(replies[0], first, who)
    if answer == first:
        raise ExerciseHint(
            "/tally/ echoed the message unchanged: is it routed to the echo consumer? Route "
            "r'^tally/$' to TallyConsumer.as_asgi()"
        )
    if isinstance(answer, dict) and isinstance(answer.get("total"), int) and answer["total"] > 2:
        raise ExerciseHint(
            f'a new connection\'s first {{"add": 2}} got {answer}: the total did not start at 0, so it is {_SHARED}'
        )
    if answer != {"total": 2}:
        raise ExerciseHint(f'for {{"add": 2}} on a new connection the reply was {answer}, expected {{"total": 2}}')
    answer = _decoded(replies[1], second, who)
    if answer != {"total": 7}:
        raise ExerciseHint(
            f'after {{"add": 2}} then {{"add": 5}} the reply was {answer}, expected {{"total": 7}}: keep the '
            "running total on self (self.total += n) and send it"
        )
    if isinstance(replies[2], tuple) and replies[2][0] == "crashed":
        error = replies[2][1]
        raise ExerciseHint(
            f'{who} raised {type(error).__name__}: {error} on {{"add": "two"}}, which ended the connection: '
            'check the input and answer {"error": "..."} instead, keeping the connection open'
        )
    if isinstance(replies[2], tuple):
        raise ExerciseHint(
            f'{who} closed the connection (code {replies[2][1]}) on {{"add": "two"}}: a bad message gets '
            '{"error": "..."} and the connection stays open; only "bye" closes it'
        )
    answer = _decoded(replies[2], bad, who)
    if not (isinstance(answer, dict) and "error" in answer):
        raise ExerciseHint(
            f'for {{"add": "two"}} the reply was {answer}: "two" is not a number, answer {{"error": "..."}} '
            "(check isinstance(n, int)) and leave the total alone"
        )
    answer = _decoded(replies[3], after, who)
    if answer != {"total": 8}:
        raise ExerciseHint(
            f'after the error, {{"add": 1}} got {answer}, expected {{"total": 8}}: a bad message must not '
            "change the total"
        )
    reply = replies[4]
    if isinstance(reply, tuple) and reply[0] == "crashed":
        raise ExerciseHint(
            f'{who} raised {type(reply[1]).__name__}: {reply[1]} on {{"bye": true}}: check for "bye" first, '
            f"before reading content['add'], and await self.close(code={BYE_CODE})"
        )
    if reply is None:
        raise ExerciseHint(
            f'{who} did not close on {{"bye": true}}: check for "bye" first and await self.close(code={BYE_CODE})'
        )
    if isinstance(reply, tuple) and reply[0] == "said before closing":
        raise ExerciseHint(
            f'{who} sent {reply[1]!r} before closing on {{"bye": true}}: the protocol answers "bye" with the '
            f"close alone, so send nothing, just await self.close(code={BYE_CODE})"
        )
    if isinstance(reply, tuple) and reply[0] == "sent after closing":
        raise ExerciseHint(
            f'{who} closed on {{"bye": true}} and then went on to send {reply[2]!r}: return right after '
            f"await self.close(code={BYE_CODE}) (or use elif): nothing may follow a close, and uvicorn raises "
            "RuntimeError on a send after it"
        )
    if isinstance(reply, tuple) and reply[0] == "closed":
        if reply[1] is None:
            raise ExerciseHint(
                f'{who} closed on "bye" without a code, so the client sees 1000 and cannot tell '
                f"why: await self.close(code={BYE_CODE})"
            )
        if reply[1] != BYE_CODE:
            raise ExerciseHint(f'{who} closed on "bye" with code {reply[1]}: the protocol says {BYE_CODE}')
    else:
        raise ExerciseHint(
            f'{who} answered {{"bye": true}} with {reply!r} instead of closing: check for "bye" before '
            f"adding, and await self.close(code={BYE_CODE})"
        )

    replies = _talk(application, "/tally/", [first, after, second], who, routes, conversation=_two_at_once)
    answers = [_decoded(replies[0], after, who), _decoded(replies[1], second, who)]
    if answers != [{"total": 1}, {"total": 7}]:
        raise ExerciseHint(
            f'with two connections open, A sent {{"add": 2}}, B sent {{"add": 1}} and got {answers[0]}, '
            f'then A sent {{"add": 5}} and got {answers[1]}; expected 1 and 7: the total is {_SHARED}'
        )
    _check_http(application)
    echoed = _talk(application, "/echo/", [{"ch": "x"}], "EchoChamberConsumer", routes)
    if not echoed or isinstance(echoed[0], tuple) or json.loads(echoed[0]) != {"ch": "x"}:
        raise ExerciseHint("/echo/ no longer echoes: keep its route next to the new one")
    passed(
        f"the tally works: 2 then 5 make 7, bad input gets an error, bye closes with {BYE_CODE}; "
        "/echo/ still echoes and Django answers GET /"
    )
