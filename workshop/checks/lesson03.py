"""Exercise 03, Channels: a reversing consumer, routed next to the echo in one ProtocolTypeRouter."""

from __future__ import annotations

import json

from ._common import (
    ExerciseHint,
    consumer_class_of,
    json_conversation,
    missing_await_hint,
    not_written,
    passed,
    run,
    unawaited_coroutines,
)


def _websocket_routes(application):
    """Check the shape the exercise asks for; answer the URLRouter's routes."""
    from channels.consumer import AsyncConsumer, SyncConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter

    if application is None:
        raise ExerciseHint("build_application() returned None: return the ProtocolTypeRouter")
    if isinstance(application, URLRouter):
        raise ExerciseHint(
            "build_application() returned a bare URLRouter: wrap it as in the talk's asgi.py, "
            "ProtocolTypeRouter({'websocket': URLRouter([...])}), so the server knows which "
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


def _talk(application, path, message, who, routes=()):
    try:
        with unawaited_coroutines() as unawaited:
            connected, replies = run(json_conversation(application, path, [message]))
    except NotImplementedError:
        raise not_written(who) from None
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
    except TypeError as error:
        if "JSON serializable" in str(error) or "str" in str(error):
            raise ExerciseHint(
                f"{who} raised TypeError: {error}. send(text_data=...) takes a str; use send_json(...) to send a dict"
            ) from None
        raise ExerciseHint(f"{who} raised TypeError: {error}") from None
    if unawaited:
        raise missing_await_hint(unawaited, who)
    if connected is None:
        raise ExerciseHint(
            f"the handshake on {path} got no answer: {who}'s connect() must call "
            "await self.accept() (or not be overridden)"
        )
    if connected is False:
        raise ExerciseHint(f"the connection to {path} was refused: accept it in connect() (await self.accept())")
    if not replies or replies[0] is None:
        raise ExerciseHint(
            f"{who} did not answer {json.dumps(message)}: an AsyncJsonWebsocketConsumer calls "
            "receive_json(self, content, **kwargs); reply with await self.send_json(...)"
        )
    return replies[0]


def _consumer_named(routes, name):
    for route in routes:
        consumer = consumer_class_of(route.callback)
        if consumer is not None and consumer.__name__ == name:
            return consumer
    return None


def check_reverse_routing(build_application) -> None:
    """Exercise 03: /reverse/ answers {"text": t} with {"reversed": t[::-1]}; /echo/ still echoes."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer

    try:
        application = build_application()
    except NotImplementedError:
        raise not_written("build_application") from None
    routes = _websocket_routes(application)
    reverse = _consumer_named(routes, "ReverseConsumer")
    if (
        reverse is not None
        and "receive_json" in vars(reverse)
        and not issubclass(reverse, (AsyncJsonWebsocketConsumer, JsonWebsocketConsumer))
    ):
        raise ExerciseHint(
            f"ReverseConsumer defines receive_json but inherits from {reverse.__base__.__name__}, "
            "which never calls it: inherit from AsyncJsonWebsocketConsumer"
        )
    reply = _talk(application, "/reverse/", {"text": "channels"}, "ReverseConsumer", routes)
    if isinstance(reply, tuple):
        raise ExerciseHint(f"/reverse/ closed the connection (code {reply[1]}) instead of answering")
    try:
        reply = json.loads(reply)
    except (TypeError, ValueError):
        raise ExerciseHint(f"the reply {reply!r} is not JSON: use send_json(...)") from None
    if reply == {"text": "channels"}:
        raise ExerciseHint(
            "/reverse/ echoed the message unchanged: is it routed to the echo consumer? Route "
            "r'^reverse/$' to ReverseConsumer.as_asgi()"
        )
    if reply != {"reversed": "slennahc"}:
        raise ExerciseHint(
            f'for {{"text": "channels"}} the reply was {reply}, expected {{"reversed": "slennahc"}}'
            ': content["text"][::-1] reverses a string'
        )
    echoed = _talk(application, "/echo/", {"ch": "x"}, "EchoChamberConsumer", routes)
    if isinstance(echoed, tuple) or json.loads(echoed) != {"ch": "x"}:
        raise ExerciseHint("/echo/ no longer echoes: keep its route next to the new one")
    passed('routing works: /reverse/ turns "channels" into "slennahc", /echo/ still echoes')
