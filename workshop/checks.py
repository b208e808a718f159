"""The exercises' self-checks: run the learner's code for real, answer in one line.

Each ``check_*`` function runs what the learner wrote (a WSGI call, a server
started with the kit, a ``WebsocketCommunicator``) and prints one line that
starts with a check mark when it works. When it does not, it raises
``ExerciseHint``, whose message names the likely mistake; in a notebook it
shows as that one message, not as a traceback from deep inside a library.
"""

from __future__ import annotations

import asyncio
import json
import threading

from .clients import connect_ws, fetch
from .serving import serve_asgi, serve_wsgi

__all__ = [
    "ExerciseHint",
    "check_database_free_echo",
    "check_members_only",
    "check_protect",
    "check_test_catches_bugs",
    "check_announce",
    "check_lobby_consumer",
    "check_counting_echo",
    "check_greeting_app",
    "check_request_counter",
    "check_reverse_routing",
    "check_shouting_app",
]


class ExerciseHint(AssertionError):
    """Not solved yet; the message says what is likely wrong."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"\x1b[31mNot yet:\x1b[0m {self}"]


def _passed(message: str) -> None:
    print(f"\u2713 {message}")


def _not_written(name: str) -> ExerciseHint:
    return ExerciseHint(f"{name} still raises NotImplementedError: replace the '# your code here' part above "
                        "with your code, run that cell, then this one")


def _run(coroutine):
    """Run a coroutine to the end, also from a notebook cell (whose thread has a running loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result = {}

    def in_a_thread():
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed back to the caller's thread
            result["error"] = error

    worker = threading.Thread(target=in_a_thread, name="exercise-check")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


# --------------------------------------------------------------------------- 01 WSGI


def _call_wsgi(app, path: str, name: str):
    recorded = {}

    def start_response(status, headers, exc_info=None):
        recorded["status"], recorded["headers"] = status, headers
        return lambda data: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.input": None, "wsgi.url_scheme": "http"}
    try:
        body = app(environ, start_response)
    except NotImplementedError:
        raise _not_written(name) from None
    except Exception as error:
        raise ExerciseHint(f"{name} raised {type(error).__name__}: {error}") from None
    if "status" not in recorded:
        raise ExerciseHint(f"{name} never called start_response(status, headers): call it before returning the body")
    if body is None:
        raise ExerciseHint(f"{name} returned None: return the body, a list of bytes such as [b'...']")
    if isinstance(body, (str, bytes)):
        kind = "a str" if isinstance(body, str) else "bytes, not a list of them"
        raise ExerciseHint(f"{name} returned {kind}: return a list of bytes, e.g. [text.encode()]")
    chunks = list(body)
    if any(isinstance(chunk, str) for chunk in chunks):
        raise ExerciseHint(f"{name}'s body holds str: WSGI bodies are bytes, so encode the text with .encode()")
    return recorded["status"], recorded["headers"], b"".join(chunks)


def check_greeting_app(greet) -> None:
    """Exercise 01a: GET /<name> answers 200 and 'Hello, <name>!\\n' as text/plain."""
    status, headers, body = _call_wsgi(greet, "/ada", "greet")
    if not status.startswith("200"):
        raise ExerciseHint(f"the status was {status!r}: a greeting is '200 OK'")
    if body != b"Hello, ada!\n":
        raise ExerciseHint(f"GET /ada answered {body!r}, expected b'Hello, ada!\\n': the path is in "
                           "environ['PATH_INFO'] ('/ada'); strip the leading '/'")
    if ("Content-Type", "text/plain") not in [(name.title(), value) for name, value in headers]:
        raise ExerciseHint(f"headers were {headers}: add ('Content-Type', 'text/plain')")
    with serve_wsgi(greet, name="check_greeting_app") as server:
        response = fetch(server.url + "grace")
    if response.status != 200:
        raise ExerciseHint(f"served for real, it answered {response.status}: see server.logs for why")
    _passed(f"greet works: GET /grace -> {response.text!r}")


def check_request_counter(count_requests) -> None:
    """Exercise 01b: a middleware adding X-Request-Number: 1, 2, 3, ... and keeping the body."""
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello!\n"]

    try:
        wrapped = count_requests(hello)
    except NotImplementedError:
        raise _not_written("count_requests") from None
    if not callable(wrapped):
        raise ExerciseHint(f"count_requests(app) returned {wrapped!r}: return the inner function, the new app")
    with serve_wsgi(wrapped, name="check_request_counter") as server:
        responses = [fetch(server.url) for _ in range(3)]
        logs = "\n".join(server.logs)
    if responses[0].status == 500:
        if "NotImplementedError" in logs:
            raise _not_written("count_requests")
        if "Header values must be" in logs or "must be of type str" in logs:
            raise ExerciseHint("a header value must be a str: use str(number)")
        raise ExerciseHint("the wrapped app failed (500): print(server.logs) in a cell of yours to see why")
    if any(r.text != "Hello!\n" for r in responses):
        raise ExerciseHint(f"the body changed to {responses[0].text!r}: pass the wrapped app's body through")
    numbers = [r.headers.get("x-request-number") for r in responses]
    if numbers[0] is None:
        raise ExerciseHint("no X-Request-Number header: add ('X-Request-Number', str(number)) to the headers "
                           "before calling the server's start_response")
    if numbers != ["1", "2", "3"]:
        raise ExerciseHint(f"three requests were numbered {numbers}, expected ['1', '2', '3']: keep the count "
                           "outside the inner function (e.g. nonlocal), so it lasts from one request to the next")
    _passed("count_requests works: three requests were numbered 1, 2, 3")


# --------------------------------------------------------------------------- 02 ASGI


def check_shouting_app(shout) -> None:
    """Exercise 02: a WebSocket app answering each text message with '<n>: <TEXT>'."""
    async def talk(url):
        async with connect_ws(url) as websocket:
            replies = []
            for text in ("hello", "again"):
                await websocket.send(text)
                replies.append(await asyncio.wait_for(websocket.recv(), 3))
            return replies

    with serve_asgi(shout, name="check_shouting_app") as server:
        try:
            replies = _run(talk(server.ws_url("shout/")))
        except Exception as error:
            problems = " ".join(str(e) for e in server.exceptions)
            if "NotImplementedError" in problems or any(isinstance(e, NotImplementedError) for e in server.exceptions):
                raise _not_written("shout") from None
            if "Expected ASGI message 'websocket.accept'" in problems:
                raise ExerciseHint("the app sent a message before accepting: answer the first event "
                                   "(websocket.connect) with {'type': 'websocket.accept'}") from None
            if isinstance(error, asyncio.TimeoutError) or isinstance(error, TimeoutError):
                raise ExerciseHint("no reply within 3 s: send a websocket.send for every websocket.receive "
                                   "(and keep receiving in a loop)") from None
            detail = f" The app raised: {problems}" if problems else ""
            raise ExerciseHint(f"the conversation failed ({type(error).__name__}: {error}).{detail}") from None
    if any(isinstance(reply, bytes) for reply in replies):
        raise ExerciseHint("the replies were bytes: send {'type': 'websocket.send', 'text': ...}, not 'bytes'")
    if replies != ["1: HELLO", "2: AGAIN"]:
        raise ExerciseHint(f"for 'hello' then 'again' the replies were {replies}, expected ['1: HELLO', '2: AGAIN']"
                           ": upper-case the text, and count the messages of this connection from 1")
    _passed("shout works: 'hello', 'again' -> '1: HELLO', '2: AGAIN'")


# --------------------------------------------------------------------------- 03 Channels


async def _json_conversation(application, path, messages, headers=()):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect(timeout=3)
    if not connected:
        return False, []
    replies = []
    for message in messages:
        await communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))
        output = await communicator.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            replies.append(("closed", output.get("code")))
            break
        replies.append(output.get("text") if output.get("text") is not None else output.get("bytes"))
    await communicator.disconnect()
    return True, replies


def _conversation_or_hint(application, path, messages, what):
    try:
        return _run(_json_conversation(application, path, messages))
    except NotImplementedError:
        raise _not_written(what) from None
    except ValueError as error:
        if "No route found" in str(error):
            raise ExerciseHint(f"no route matches {path!r}: add re_path(r\"^{path.strip('/')}/$\", ...as_asgi()) "
                               "to the URLRouter") from None
        raise ExerciseHint(f"{what} raised ValueError: {error}") from None
    except TypeError as error:
        raise ExerciseHint(f"{what} raised TypeError: {error}. send(text_data=...) takes a str; "
                           "use send_json(...) to send a dict") from None
    except asyncio.TimeoutError:
        raise ExerciseHint(f"{what} did not answer within 3 s: reply to every message") from None


def check_reverse_routing(build_application) -> None:
    """Exercise 03: /reverse/ answers {"text": t} with {"reversed": t[::-1]}; /echo/ still echoes."""
    try:
        application = build_application()
    except NotImplementedError:
        raise _not_written("build_application") from None
    connected, replies = _conversation_or_hint(application, "/reverse/", [{"text": "channels"}], "ReverseConsumer")
    if not connected:
        raise ExerciseHint("the connection to /reverse/ was refused: accept it in connect() "
                           "(await self.accept())")
    try:
        reply = json.loads(replies[0])
    except (TypeError, ValueError):
        raise ExerciseHint(f"the reply {replies[0]!r} is not JSON: use send_json(...)") from None
    if reply != {"reversed": "slennahc"}:
        raise ExerciseHint(f'for {{"text": "channels"}} the reply was {reply}, expected {{"reversed": "slennahc"}}'
                           ': content["text"][::-1] reverses a string')
    connected, replies = _conversation_or_hint(application, "/echo/", [{"ch": "x"}], "EchoChamberConsumer")
    if not connected or json.loads(replies[0]) != {"ch": "x"}:
        raise ExerciseHint("/echo/ no longer echoes: keep its route next to the new one")
    _passed('routing works: /reverse/ turns "channels" into "slennahc", /echo/ still echoes')


# --------------------------------------------------------------------------- 04 echo_project


def check_counting_echo(consumer_class) -> None:
    """Exercise 04: echo each message with its number on this connection; bad input still answered."""
    try:
        application = consumer_class.as_asgi()
    except AttributeError:
        raise ExerciseHint("pass the consumer class itself, e.g. check_counting_echo(CountingEchoConsumer)") from None
    messages = [{"ch": "a"}, {"ch": "b"}]
    connected, first = _conversation_or_hint(application, "/echo/", messages, "CountingEchoConsumer")
    if not connected:
        raise ExerciseHint("the connection was refused: accept it in connect(), or do not override connect()")
    try:
        first = [json.loads(reply) for reply in first]
    except (TypeError, ValueError):
        raise ExerciseHint(f"the replies {first} are not JSON: use send_json(...)") from None
    expected = [{"ch": "a", "count": 1}, {"ch": "b", "count": 2}]
    if first and "count" not in first[0]:
        raise ExerciseHint(f"the reply was {first[0]}: add the message's number, {{**content, 'count': n}}")
    if first != expected:
        raise ExerciseHint(f"two messages got {first}, expected {expected}: add 1 to self.count for every "
                           "message, before sending")
    _, again = _conversation_or_hint(application, "/echo/", [{"ch": "c"}], "CountingEchoConsumer")
    if json.loads(again[0]) != {"ch": "c", "count": 1}:
        raise ExerciseHint(f"a new connection's first message got {json.loads(again[0])}: the count must start "
                           "again at 1 for each connection. Set self.count = 0 in connect(), not on the class")
    careless = ExerciseHint("invalid JSON did not get an error reply: inherit from the project's "
                            "CarefulJsonWebsocketConsumer (or EchoChamberConsumer), which answers bad input")
    try:
        _, bad = _run(_json_conversation(application, "/echo/", ["{not json"]))
    except ValueError:  # the JSON decoder's error, raised in a consumer that does not catch it
        raise careless from None
    if not bad or not isinstance(bad[0], str) or "error" not in json.loads(bad[0]):
        raise careless
    _passed("CountingEchoConsumer works: a 1, b 2, a new connection starts at 1, bad JSON gets an error")


# --------------------------------------------------------------------------- 05 groups


async def _lobby_conversation(consumer_class):
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    layer = get_channel_layer()
    await layer.flush()  # start from an empty in-memory layer, in this loop
    application = consumer_class.as_asgi()
    ada = WebsocketCommunicator(application, "/lobby/?name=ada")
    bob = WebsocketCommunicator(application, "/lobby/?name=bob")
    try:
        for member in (ada, bob):
            connected, _ = await member.connect(timeout=3)
            if not connected:
                return "refused", None, None
        ada_heard = [await _next_json(ada) for _ in range(2)]  # ada joined, bob joined
        await bob.send_json_to({"text": "hi"})
        bob_heard = await _next_json(bob, skip_joins=True)
        ada_heard.append(await _next_json(ada))
        return ada_heard, bob_heard, None
    finally:
        for member in (ada, bob):
            await member.disconnect()
        await layer.flush()


async def _next_json(communicator, skip_joins=False):
    while True:
        # receive_nothing, not a receive_output timeout: that would cancel the consumer
        if await communicator.receive_nothing(timeout=1):
            return None
        output = await communicator.receive_output()
        if output["type"] == "websocket.close":
            return ("closed", output.get("code"))
        message = json.loads(output["text"])
        if not (skip_joins and "joined" in message):
            return message


def check_lobby_consumer(consumer_class) -> None:
    """Exercise 05: a lobby that announces arrivals and broadcasts what members say."""
    try:
        ada_heard, bob_heard, _ = _run(_lobby_conversation(consumer_class))
    except NotImplementedError:
        raise _not_written("LobbyConsumer") from None
    except ValueError as error:
        if "No handler for message type" in str(error):
            kind = str(error).rsplit(" ", 1)[-1]
            method = kind.replace(".", "_")
            raise ExerciseHint(f"a group event of type {kind!r} needs a method named {method}(self, event) "
                               "on the consumer: the type, dots replaced by underscores") from None
        raise ExerciseHint(f"the consumer raised ValueError: {error}") from None
    if ada_heard == "refused":
        raise ExerciseHint("the connection was refused: accept it in connect() (await self.accept())")
    if ada_heard[:2] != [{"joined": "ada"}, {"joined": "bob"}]:
        raise ExerciseHint(f"Ada heard {ada_heard[:2]} as Ada then Bob arrived, expected [{{'joined': 'ada'}}, "
                           "{'joined': 'bob'}]: in connect(), group_add the channel and accept *before* "
                           "group_send-ing the arrival (and read the name from the query string)")
    if bob_heard != {"who": "bob", "text": "hi"}:
        raise ExerciseHint(f"Bob said 'hi' and heard {bob_heard}, expected {{'who': 'bob', 'text': 'hi'}}")
    if ada_heard[2] != {"who": "bob", "text": "hi"}:
        raise ExerciseHint(f"Bob said 'hi' and Ada heard {ada_heard[2]}: only the sender got it? Send to the "
                           "group with self.channel_layer.group_send('lobby', ...), not with send_json")
    _passed("LobbyConsumer works: arrivals announced, 'hi' from Bob reached Ada and Bob")


# --------------------------------------------------------------------------- 06 Redis


def check_announce(announce) -> None:
    """Exercise 06: announce(layer, room, text) reaches a chamber's members in another process."""
    import sys

    from channels_redis.core import RedisChannelLayer

    from .paths import REPO
    from .redis_server import serve_redis
    from .serving import serve_process

    if not asyncio.iscoroutinefunction(announce):
        raise ExerciseHint("announce must be an async def: the layer's group_send is awaited")
    with serve_redis(name="check_announce redis") as redis:
        argv = [sys.executable, "-m", "uvicorn", "echo_project.asgi:application", "--host", "127.0.0.1",
                "--port", "{port}", "--log-level", "warning"]
        with serve_process(argv, name="check_announce worker", env={"REDIS_URL": redis.redis_url},
                           cwd=REPO / "echo_project", ready_timeout=30) as worker:
            async def listen():
                layer = RedisChannelLayer(hosts=[redis.redis_url])
                async with connect_ws(worker.ws_url("chamber/garden/")) as member:
                    await member.recv(), await member.recv()  # its name, its own arrival
                    try:
                        await announce(layer, "garden", "tea is ready")
                    except NotImplementedError:
                        return "not written"
                    try:
                        return json.loads(await asyncio.wait_for(member.recv(), 2))
                    except asyncio.TimeoutError:
                        return None
                    except Exception as error:  # the server closed the connection
                        return ("closed", str(error))

            heard = _run(listen())
            logs = "\n".join(worker.logs)
    if heard == "not written":
        raise _not_written("announce")
    if isinstance(heard, tuple) or "No handler for message type" in logs:
        raise ExerciseHint("the member's consumer failed on your event: its 'type' must be 'chamber.message', "
                           "which calls ChamberConsumer.chamber_message")
    if heard is None:
        raise ExerciseHint("the member heard nothing within 2 s: send to the group 'chamber.' + room "
                           "(that is what ChamberConsumer joins), and await group_send")
    expected = {"who": "announcer", "message": {"text": "tea is ready"}}
    if heard != expected:
        raise ExerciseHint(f"the member got {heard}, expected {expected}: the event needs 'who': 'announcer' "
                           "and 'message': {'text': text}")
    _passed("announce works: a member of room 'garden', in another process, heard 'tea is ready'")


# --------------------------------------------------------------------------- 07 testing


def _reverse_consumers():
    """A correct consumer and three broken ones, for the learner's test to tell apart."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    class ReverseConsumer(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send_json({"reversed": content["text"][::-1]})

    class EchoesUnchanged(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send_json({"reversed": content["text"]})

    class NeverAccepts(ReverseConsumer):
        async def connect(self):
            await self.close()

    class SendsPlainText(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send(text_data=content["text"][::-1])

    broken = {
        "echoes the text unchanged": EchoesUnchanged,
        "never accepts the connection": NeverAccepts,
        "sends plain text, not JSON": SendsPlainText,
    }
    return ReverseConsumer, broken


def check_test_catches_bugs(test_reverse) -> None:
    """Exercise 07: a test that passes the right consumer and fails three broken ones."""
    if not asyncio.iscoroutinefunction(test_reverse):
        raise ExerciseHint("test_reverse must be an async def: it awaits the communicator")
    correct, broken = _reverse_consumers()
    try:
        _run(test_reverse(correct))
    except NotImplementedError:
        raise _not_written("test_reverse") from None
    except Exception as error:
        raise ExerciseHint(f"your test failed the correct ReverseConsumer ({type(error).__name__}: {error}): "
                           'for {"text": "abc"} it answers {"reversed": "cba"}') from None
    for flaw, consumer in broken.items():
        try:
            _run(test_reverse(consumer))
        except Exception:
            continue
        raise ExerciseHint(f"your test passed a consumer that {flaw}: assert that the connection was "
                           "accepted, and that receive_json_from() gives exactly the expected reply")
    _passed(f"your test passes the right consumer and catches all {len(broken)} broken ones")


# --------------------------------------------------------------------------- 08 security


async def _handshake(application, origin: bytes | None, user=None):
    from channels.testing import WebsocketCommunicator

    headers = [(b"host", b"127.0.0.1")] + ([(b"origin", origin)] if origin else [])
    communicator = WebsocketCommunicator(application, "/whoami/", headers=headers)
    if user is not None:
        communicator.scope["user"] = user  # what AuthMiddlewareStack would find in the session
    connected, code = await communicator.connect(timeout=3)
    replies = []
    if connected:
        while not await communicator.receive_nothing(timeout=0.3):
            output = await communicator.receive_output()
            replies.append(output)
            if output["type"] == "websocket.close":
                break
    await communicator.disconnect()
    return connected, replies


def check_protect(protect) -> None:
    """Exercise 08a: protect(app) refuses foreign or missing origins and puts the user in the scope."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    class WhoAmI(AsyncJsonWebsocketConsumer):
        async def connect(self):
            await self.accept()
            await self.send_json({"user": str(self.scope.get("user", "no user in the scope"))})

    try:
        application = protect(WhoAmI.as_asgi())
    except NotImplementedError:
        raise _not_written("protect") from None
    if application is None:
        raise ExerciseHint("protect returned None: return the wrapped application")
    for origin in (b"http://evil.example", None):
        connected, _ = _run(_handshake(application, origin))
        if connected:
            who = "a page on evil.example" if origin else "a client without an Origin header"
            raise ExerciseHint(f"{who} got in: wrap the app in AllowedHostsOriginValidator")
    connected, replies = _run(_handshake(application, b"http://127.0.0.1"))
    if not connected:
        raise ExerciseHint("a page from 127.0.0.1 (in ALLOWED_HOSTS) was refused: check the order of the wrappers")
    said = json.loads(replies[0]["text"])["user"] if replies else None
    if said != "AnonymousUser":
        raise ExerciseHint(f"the consumer saw user {said!r}: wrap the app in AuthMiddlewareStack too, "
                           "inside the origin validator")
    _passed("protect works: evil.example and Origin-less clients are refused, same-host pages see the user")


def check_members_only(consumer_class) -> None:
    """Exercise 08b: anonymous users are closed with 4401; logged-in users get their echo."""
    from django.contrib.auth.models import AnonymousUser

    class LoggedIn:
        is_authenticated = True
        username = "ada"

        def __str__(self):
            return self.username

    application = consumer_class.as_asgi()
    try:
        connected, replies = _run(_handshake(application, None, user=AnonymousUser()))
    except NotImplementedError:
        raise _not_written("MembersOnlyEcho") from None
    if not connected:
        raise ExerciseHint("an anonymous user's handshake was refused outright (HTTP 403, no reason given): "
                           "accept first, then close with code 4401, so the page knows to show a login link")
    closes = [r for r in replies if r["type"] == "websocket.close"]
    if not closes or closes[0].get("code") != 4401:
        got = f"code {closes[0].get('code')}" if closes else "no close at all"
        raise ExerciseHint(f"an anonymous user got {got}: close with self.close(code=4401)")
    if any(r["type"] == "websocket.send" for r in replies):
        raise ExerciseHint("an anonymous user received a message before the close: close right after accept")

    async def member_echo():
        from channels.testing import WebsocketCommunicator

        communicator = WebsocketCommunicator(application, "/members/")
        communicator.scope["user"] = LoggedIn()
        connected, _ = await communicator.connect(timeout=3)
        if not connected:
            return None
        await communicator.send_json_to({"ch": "x"})
        if await communicator.receive_nothing(timeout=1):
            return "nothing"
        reply = await communicator.receive_output()
        await communicator.disconnect()
        return reply

    reply = _run(member_echo())
    if reply is None or reply == "nothing" or reply["type"] != "websocket.send":
        raise ExerciseHint(f"a logged-in user got {reply!r} instead of the echo: keep them connected and "
                           "send_json(content) back")
    if json.loads(reply["text"]) != {"ch": "x"}:
        raise ExerciseHint(f"a logged-in user's {{'ch': 'x'}} came back as {reply['text']}")
    _passed("MembersOnlyEcho works: anonymous users get close code 4401, members get their echo")


# --------------------------------------------------------------------------- 09 performance


def check_database_free_echo(consumer_class) -> None:
    """Exercise 09: an echo that skips the per-message clean-up, and still rejects unknown events."""
    import channels.consumer

    cleanups = []

    async def counting_cleanup():
        cleanups.append(1)

    async def conversation():
        from channels.testing import WebsocketCommunicator

        communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/echo/")
        replies = []
        try:
            connected, _ = await communicator.connect(timeout=3)
            if connected:
                for n in range(5):
                    await communicator.send_json_to({"n": n})
                    replies.append(await communicator.receive_json_from(timeout=3))
                await communicator.disconnect()
        except asyncio.TimeoutError:  # nothing handled the connect, or a message
            return False, replies
        return connected, replies

    original = channels.consumer.aclose_old_connections
    channels.consumer.aclose_old_connections = counting_cleanup
    try:
        connected, replies = _run(conversation())
    except NotImplementedError:
        raise _not_written("FastEcho") from None
    finally:
        channels.consumer.aclose_old_connections = original
    if not connected or replies != [{"n": n} for n in range(5)]:
        raise ExerciseHint(f"the echo is broken (connected={connected}, replies={replies}): dispatch must still "
                           "call the handler, await handler(message)")
    if cleanups:
        raise ExerciseHint(f"for 5 messages the clean-up still ran {len(cleanups)} times: override dispatch "
                           "without calling super().dispatch(), which is where it happens")
    try:
        _run(consumer_class().dispatch({"type": "no.such.event"}))
    except ValueError:
        pass
    except Exception as error:
        raise ExerciseHint(f"an event with no handler raised {type(error).__name__}: raise ValueError, as "
                           "Channels does, so mistakes in event types do not pass silently") from None
    else:
        raise ExerciseHint("an event with no handler was ignored: raise ValueError, as Channels does")
    _passed("FastEcho works: 5 echoes, no clean-up hop, unknown events still raise")
