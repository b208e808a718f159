"""Exercise 03, Channels: a tally consumer with per-connection state, routed next to HTTP and the echo.

Over 400 lines: one exercise's specification, each requirement with its probe and its hint rule, kept in one
file so it says everything the check asks.
"""

from __future__ import annotations

import json

from ._common import (
    Client,
    ExerciseHint,
    changed_outside,
    consumer_class_of,
    diagnose,
    hint_for,
    learner_code,
    leave_under_uvicorn,
    missing_await_hint,
    passed,
    run,
    state_outside,
    stop_clients,
    unawaited_coroutines,
    wrong_close_code,
)

_SHARED = (
    "shared by every connection. Keep it on the instance, not on the class or in a global: "
    "self.total = 0 in connect(), before await self.accept()"
)
BYE_CODE = 4000  # the close code the exercise asks for: 4000-4999 are free for applications


def _mapping(application) -> dict:
    return getattr(application, "application_mapping", {})


def _class_routes(application) -> list:
    """Routes that point at a consumer class itself instead of its .as_asgi() application."""
    from channels.consumer import AsyncConsumer, SyncConsumer

    routes = getattr(_mapping(application).get("websocket"), "routes", [])
    return [r for r in routes if isinstance(r.callback, type) and issubclass(r.callback, (AsyncConsumer, SyncConsumer))]


def _class_route_hint(application) -> str:
    route = _class_routes(application)[0]
    name = route.callback.__name__
    return (
        f"the route {route.pattern} points at the class {name}: route {name}.as_asgi(), the ASGI application "
        "that makes one consumer per connection"
    )


def _shape_rules():
    from channels.routing import ProtocolTypeRouter, URLRouter

    return [
        (lambda app: app is None, "build_application() returned None: return the ProtocolTypeRouter"),
        (
            lambda app: isinstance(app, URLRouter),
            "build_application() returned a bare URLRouter: wrap it as in the talk's asgi.py, "
            "ProtocolTypeRouter({'http': ..., 'websocket': URLRouter([...])}), so the server knows which "
            "router handles which protocol",
        ),
        (
            lambda app: isinstance(app, list),
            "build_application() returned a list of routes: put them in "
            "ProtocolTypeRouter({'websocket': URLRouter([...])})",
        ),
        (
            lambda app: not isinstance(app, ProtocolTypeRouter),
            lambda app: f"build_application() returned {app!r}: return a ProtocolTypeRouter",
        ),
        (
            lambda app: "websocket" not in _mapping(app),
            lambda app: (
                f"the ProtocolTypeRouter has no 'websocket' entry (it has {sorted(_mapping(app))}): the "
                "key is the scope type, 'websocket'"
            ),
        ),
        (
            lambda app: "http" not in _mapping(app),
            "the ProtocolTypeRouter has no 'http' entry, so the same server can no longer answer pages: add "
            "'http': get_asgi_application(), next to 'websocket'",
        ),
        (_class_routes, _class_route_hint),
    ]


def _websocket_routes(application):
    """Check the shape the exercise asks for (R1); answer the URLRouter's routes."""
    diagnose(application, _shape_rules())
    return getattr(_mapping(application)["websocket"], "routes", [])


# The protocol, one connection: (what the client sends, what it must get); "error" is {"error": ...}.
_PROTOCOL = [
    ({"add": 2}, {"total": 2}),
    ({"add": 5}, {"total": 7}),
    ({"add": "two"}, "error"),  # the text's bad message
    ({"note": "no add"}, "error"),  # the text's "no add"
    ({"add": "5"}, "error"),  # digits in a str: int() would add them
    ({"add": 2.9}, "error"),  # not a whole number: int() would add 2
    ({"add": None}, "error"),
    ({"add": -3}, {"total": 4}),  # a number the text never shows
]
_BYE = {"bye": True}
# Inputs the text's table names but its example never sends, on a fresh connection after the protocol passed.
_UNSEEN = [
    ({"add": 1}, {"total": 1}),
    ({"add": True}, "error"),  # JSON's true: a bool, an int to isinstance(), but not a number
    ({"bye": False}, "error"),  # not a goodbye: only {"bye": true} closes
    ([1, 2], "error"),  # JSON, but not an object: content is a list
    ({"add": 1}, {"total": 2}),  # and the total is unchanged
]


async def _protocol_probe(application) -> dict:
    """One client speaks the whole protocol, then says bye; the consumer must close with 4000 and end."""
    client = Client(application, "/tally/")
    facts = {"client": client, "opened": await client.open(), "replies": [], "bye": None, "after_close": None}
    if not facts["opened"]:
        return facts
    try:
        for message, _ in _PROTOCOL:
            reply = await client.say(message)
            facts["replies"].append(reply)
            if reply is None or isinstance(reply, tuple):
                return facts
        facts["bye"] = await client.say(_BYE)
        if isinstance(facts["bye"], dict):  # something said before the close?
            facts["said_then"] = await client.hear()
        facts["after_close"] = await client.hear(timeout=0.1)
        await client.leave(code=BYE_CODE)
    finally:
        await stop_clients([client])
    return facts


async def _unseen_probe(application) -> dict:
    """A fresh client sends what the table names but the example never shows; each gets its answer."""
    client = Client(application, "/tally/")
    facts = {"replies": []}
    try:
        if await client.open():
            for message, _ in _UNSEEN:
                facts["replies"].append(await client.say(message))
                if _first_wrong(facts, _UNSEEN[: len(facts["replies"])]):  # a hint as soon as one is wrong
                    break
            await client.leave()
    finally:
        await stop_clients([client])
    facts["wrong"] = _first_wrong(facts, _UNSEEN)
    return facts


async def _two_at_once(application) -> dict:
    """A adds 10; B opens and adds 1; A adds 5; B leaves without a bye; A leaves. Each must count alone."""
    a, b = Client(application, "/tally/"), Client(application, "/tally/")
    try:
        await a.open()
        replies = [await a.say({"add": 10}), await b.open() and await b.say({"add": 1}), await a.say({"add": 5})]
        await b.leave()
        await a.leave()
    finally:
        await stop_clients((a, b))
    return {"replies": replies, "left": [a, b]}


def _is_error(reply) -> bool:
    return isinstance(reply, dict) and "error" in reply


def _twice_encoded(reply) -> bool:
    try:
        return isinstance(reply, str) and isinstance(json.loads(reply), (dict, list))
    except ValueError:
        return False


def _first_wrong(facts, protocol=_PROTOCOL):
    """The first step of the protocol whose reply is wrong: (message, expected, reply), or None."""
    for (message, expected), reply in zip(protocol, facts["replies"] + [None] * len(protocol), strict=False):
        if not (_is_error(reply) if expected == "error" else reply == expected and type(reply.get("total")) is int):
            return message, expected, reply
    return None


def _show(message) -> str:
    return json.dumps(message)


def _wrong_step_hint(facts) -> str:
    message, expected, reply = facts["wrong"]
    if expected == "error":
        value = message.get("add", "-") if isinstance(message, dict) else "-"
        if not isinstance(message, dict):
            what = f"it is a JSON {type(message).__name__}, not an object, so check isinstance(content, dict) first"
        elif "bye" in message:
            what = 'only {"bye": true} says goodbye'
        elif "add" not in message:
            what = 'it has no "add"'
        elif isinstance(value, bool):
            what = f"{json.dumps(value)} is a bool, not a number (in Python, True is an int to isinstance())"
        else:
            what = f"{json.dumps(value)} is not a whole number"
        if isinstance(reply, str):
            return (
                f"{_show(message)} got the text {reply!r}: {what}, so answer with a JSON object, "
                "send_json({'error': '...'}), and leave the total alone"
            )
        converted = isinstance(value, (str, float)) and isinstance(reply, dict) and "total" in reply
        return (
            f'{_show(message)} got {reply}: {what}, so answer {{"error": "..."}} and leave the total alone. '
            "Check type(n) is int"
            + ("; converting with int() or adding floats lets in what is not a whole number" if converted else "")
        )
    if isinstance(reply, dict) and isinstance(reply.get("total"), (int, float)) and type(reply["total"]) is not int:
        return f"{_show(message)} got {reply}: the total is a float; keep whole numbers (self.total = 0, not 0.0)"
    if isinstance(reply, dict) and "total" in reply and type(reply["total"]) is not int:
        return (
            f"{_show(message)} got {reply}: the total is a {type(reply['total']).__name__}, and the protocol "
            'says a number: send the int itself, {"total": self.total}, without str()'
        )
    if message in (_PROTOCOL[-1][0], _UNSEEN[-1][0]):
        return (
            f"after the bad messages, {_show(message)} got {reply}, expected {expected}: a bad message must "
            "not change the total"
        )
    return (
        f"{_show(message)} got {reply}, expected {expected}: keep the running total on self "
        "(self.total += n) and send it"
    )


_PROTOCOL_RULES = [
    (
        lambda f: f["opened"] is None,
        "the handshake on /tally/ got no answer: TallyConsumer's connect() must call await self.accept() "
        "(or not be overridden)",
    ),
    (
        lambda f: f["opened"] is False,
        "the connection to /tally/ was refused: accept it in connect() (await self.accept())",
    ),
    (
        lambda f: f["replies"][0] is None,
        'TallyConsumer did not answer {"add": 2}: an AsyncJsonWebsocketConsumer calls receive_json(self, '
        "content, **kwargs); reply with await self.send_json(...)",
    ),
    (
        lambda f: _twice_encoded(f["replies"][0]),
        lambda f: (
            f'{{"add": 2}} got the JSON string {json.dumps(f["replies"][0])}, JSON inside JSON: send_json '
            "encodes for you, so pass it the dict itself, send_json({'total': ...}), not json.dumps(...)"
        ),
    ),
    (
        lambda f: isinstance(f["replies"][0], (str, bytes)),
        lambda f: f"the reply {f['replies'][0]!r} is not JSON: use send_json(...)",
    ),
    (
        lambda f: f["replies"][0] == {"add": 2},
        "/tally/ echoed the message unchanged: is it routed to the echo consumer? Route r'^tally/$' to "
        "TallyConsumer.as_asgi()",
    ),
    (
        lambda f: (
            isinstance(f["replies"][0], dict)
            and isinstance(f["replies"][0].get("total"), int)
            and f["replies"][0]["total"] > 2
        ),
        lambda f: (
            f'a new connection\'s first {{"add": 2}} got {f["replies"][0]}: the total did not start at 0, '
            f"so it is {_SHARED}"
        ),
    ),
    (
        lambda f: isinstance(f["wrong"] and f["wrong"][2], tuple),
        lambda f: (
            f"TallyConsumer closed the connection (code {f['wrong'][2][1]}) on {_show(f['wrong'][0])}: a bad "
            'message gets {"error": "..."} and the connection stays open; only {"bye": true} closes it'
        ),
    ),
    (lambda f: f["wrong"] is not None, _wrong_step_hint),
    (
        lambda f: f["bye"] is None,
        f'TallyConsumer did not close on {{"bye": true}}: check for "bye" first and await self.close(code={BYE_CODE})',
    ),
    (
        lambda f: isinstance(f["bye"], dict) and (f.get("said_then") or [None])[0] == "closed",
        lambda f: (
            f'TallyConsumer sent {f["bye"]} before closing on {{"bye": true}}: the protocol answers "bye" '
            f"with the close alone, so send nothing, just await self.close(code={BYE_CODE})"
        ),
    ),
    (
        lambda f: not isinstance(f["bye"], tuple),
        lambda f: (
            f'TallyConsumer answered {{"bye": true}} with {f["bye"]} instead of closing: check for "bye" '
            f"before adding, and await self.close(code={BYE_CODE})"
        ),
    ),
    (
        lambda f: f["after_close"] is not None,
        lambda f: (
            f'TallyConsumer closed on {{"bye": true}} and then went on to send {f["after_close"]}: return '
            f"right after await self.close(code={BYE_CODE}) (or use elif): nothing may follow a close, and uvicorn "
            "raises RuntimeError on a send after it"
        ),
    ),
    (
        lambda f: f["bye"][1] is None,
        f'TallyConsumer closed on "bye" without a code, so the client sees 1000 and cannot tell why: '
        f"await self.close(code={BYE_CODE})",
    ),
    (
        lambda f: f["bye"][1] != BYE_CODE,
        lambda f: wrong_close_code('TallyConsumer, on "bye",', f["bye"][1], BYE_CODE),
    ),
]

_UNSEEN_RULES = [
    (
        lambda f: isinstance(f["wrong"] and f["wrong"][2], tuple),
        lambda f: (
            f"TallyConsumer closed the connection (code {f['wrong'][2][1]}) on {_show(f['wrong'][0])}: "
            'only {"bye": true} says goodbye; anything else gets {"error": "..."} and the connection stays open'
            + (' (check content.get("bye") is True, not "bye" in content)' if f["wrong"][0] == {"bye": False} else "")
        ),
    ),
    (lambda f: f["wrong"] is not None, _wrong_step_hint),
]

_APART_RULES = [
    (
        lambda f: f["replies"][0] != {"total": 10} and not f["changed"],
        lambda f: (
            f'a new connection\'s first {{"add": 10}} got {f["replies"][0]}, expected {{"total": 10}}: start '
            "at 0 and add the number the client sent, whatever it is"
        ),
    ),
    (
        lambda f: f["replies"][2] == {"total": 15} and f["replies"][1] != {"total": 1} and not f["changed"],
        lambda f: (
            f'a second connection\'s first {{"add": 1}} got {f["replies"][1]}, expected {{"total": 1}}: every '
            "connection starts at 0 and adds what it is sent"
        ),
    ),
    (
        lambda f: f["replies"] == [{"total": 10}, {"total": 1}, {"total": 15}] and f["changed"],
        lambda f: (
            f"the totals are right, but they are kept in {', '.join(f['changed'])}, outside the connections: "
            "it grows with every connection and outlives it, and a second run starts from it. Keep the total on "
            "the instance: self.total = 0 in connect(), before await self.accept()"
        ),
    ),
    (
        lambda f: f["replies"][1:] != [{"total": 1}, {"total": 15}] or f["changed"],
        lambda f: (
            f'with two connections open, A sent {{"add": 10}}, B sent {{"add": 1}} and got {f["replies"][1]}, '
            f'then A sent {{"add": 5}} and got {f["replies"][2]}; expected 1 and 15: the total is '
            + (f"kept in {', '.join(f['changed'])}, " if f["changed"] else "")
            + _SHARED
        ),
    ),
    (
        lambda f: not all(client.ended for client in f["left"]),
        "after its client left, TallyConsumer kept running: if you override websocket_disconnect, call "
        "super().websocket_disconnect(message), which ends the consumer; or override disconnect(self, code)",
    ),
    (
        lambda f: any(client.after_leaving for client in f["left"]),
        lambda f: (
            f"after its client left, TallyConsumer sent "
            f"{next(c.after_leaving for c in f['left'] if c.after_leaving)[0]}: the connection is already "
            "closed, so send nothing (no self.close()) in disconnect(); under uvicorn that send raises RuntimeError"
        ),
    ),
]


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


def _consumer_at(routes, path: str):
    """The consumer class routed at ``path`` (e.g. 'tally/'), or None."""
    for route in routes:
        consumer = consumer_class_of(route.callback)
        if consumer is not None and path.rstrip("/") in str(route.pattern):
            return consumer
    return None


def _errors(routes) -> list:
    """What an exception of the learner's code means here: (condition, advice) for learner_code."""

    def no_route(error):
        route = str(error).rsplit(" ", 1)[-1].strip("'.")
        if any(str(r.pattern).lstrip("^").startswith("/") for r in routes):
            return f"Channels matches the path without its leading '/', so write re_path(r\"^{route}$\", ...)"
        return f'add re_path(r"^{route}$", ...as_asgi()) to the URLRouter, next to the other route'

    return [
        (lambda e: isinstance(e, ValueError) and "No route found" in str(e), no_route),
        (
            lambda e: isinstance(e, TypeError) and "__init__() should return None" in str(e),
            "TallyConsumer.__init__ is an async def: Python cannot await a constructor. Set the state in "
            "connect() instead (self.total = 0, then await self.accept())",
        ),
        (
            lambda e: isinstance(e, KeyError) and e.args == ("add",),
            'a message without "add" must get {"error": ...}: check for "bye" first, then read '
            'n = content.get("add") and check isinstance(n, int)',
        ),
        (
            lambda e: isinstance(e, (TypeError, ValueError)) and ("int" in str(e) or "operand" in str(e)),
            'a bad message must get {"error": ...}, not crash the connection: check type(n) is int '
            'before adding (no int(): it accepts "5" and 2.9)',
        ),
        (
            lambda e: isinstance(e, AttributeError) and "'list' object" in str(e),
            "a message may be any JSON value: [1, 2] arrives as a list, not a dict. Answer "
            '{"error": ...} when not isinstance(content, dict), before reading it',
        ),
        (
            lambda e: isinstance(e, TypeError) and ("str" in str(e) or "serializable" in str(e)),
            "send(text_data=...) takes a str; use send_json(...) to send a dict",
        ),
    ]


def check_tally(build_application) -> None:
    """Exercise 03: /tally/ totals {"add": n} per connection, answers bad input with an error, bye closes with 4000.

    R1 build_application() returns a ProtocolTypeRouter: 'http' is Django (GET / answered), 'websocket'
    a URLRouter with echo/ (still echoing) and tally/, each routed to Consumer.as_asgi(); R2 {"add": n}
    answers {"total": t}, t the running total of this connection, an int (numbers the text never shows
    too); R3 anything else, {"add": "two"}, no "add", "5", 2.9, null, true (a bool is not a number), a
    JSON list, {"bye": false}, gets {"error": ...}, the connection stays open and the total is
    unchanged; R4 {"bye": true} closes with code 4000 (an int, not "4000"), nothing sent before or after
    the close; R5 two connections at once count apart, and nothing is kept on the class, in a global or
    in a default argument (a second run starts at 0); R6 when the client leaves, the consumer ends and
    sends nothing (no close() in disconnect()), also under the README's uvicorn transport.
    """
    from channels.generic.websocket import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer

    who = "TallyConsumer"
    with learner_code("build_application"):
        application = build_application()
    routes = _websocket_routes(application)
    tally = _consumer_at(routes, "tally/")
    if (
        tally is not None
        and "receive_json" in vars(tally)
        and not issubclass(tally, (AsyncJsonWebsocketConsumer, JsonWebsocketConsumer))
    ):
        raise ExerciseHint(
            f"{who} defines receive_json but inherits from {tally.__base__.__name__}, "
            "which never calls it: inherit from AsyncJsonWebsocketConsumer"
        )
    with learner_code(who, _errors(routes)), unawaited_coroutines() as unawaited:
        before = state_outside(tally) if tally is not None else {}
        facts = run(_protocol_probe(application))
        apart = {"replies": [None] * 3, "left": [facts["client"]], "changed": []}
        if not unawaited and facts["opened"]:
            apart = run(_two_at_once(application))
            apart["left"].append(facts["client"])
            apart["changed"] = changed_outside(before, state_outside(tally)) if tally is not None else []
    if unawaited:
        raise missing_await_hint(unawaited, who)
    facts["wrong"] = _first_wrong(facts) if facts["opened"] else None
    diagnose(facts, _PROTOCOL_RULES)
    diagnose(apart, _APART_RULES)
    with learner_code(who, _errors(routes)):
        diagnose(run(_unseen_probe(application)), _UNSEEN_RULES)
    with learner_code(who, _errors(routes)):
        served = leave_under_uvicorn(application, "/tally/", [{"add": 1}], name="check_tally")
    if served["raised"]:
        raise ExerciseHint("served by uvicorn (the README's transport): " + str(hint_for(served["raised"][0], who)))
    _check_http(application)
    with learner_code("EchoChamberConsumer", _errors(routes)):
        echo = Client(application, "/echo/")
        echoed = run(_echo_probe(echo))
    if echoed != {"ch": "x"}:
        raise ExerciseHint(f'/echo/ answered {{"ch": "x"}} with {echoed}: keep its route next to the new one')
    passed(
        f"the tally works: 2 then 5 make 7, bad input gets an error, bye closes with {BYE_CODE}, two "
        "connections count apart; /echo/ still echoes and Django answers GET /"
    )


async def _echo_probe(echo):
    try:
        return await echo.say({"ch": "x"}) if await echo.open() else None
    finally:
        await echo.leave()
