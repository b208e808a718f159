"""Exercise 09, security: the origin check and the auth middleware in the right order; members only."""

from __future__ import annotations

import json

from ._common import ExerciseHint, connect, inner_applications, next_output, not_written, passed, run, stop


async def _handshake(application, origin: bytes | None, user=None, path="/whoami/"):
    """Open a connection; answer (connected, what the consumer sent before going quiet)."""
    from channels.testing import WebsocketCommunicator

    headers = [(b"host", b"127.0.0.1")] + ([(b"origin", origin)] if origin else [])
    communicator = WebsocketCommunicator(application, path, headers=headers)
    if user is not None:
        communicator.scope["user"] = user  # what AuthMiddlewareStack would find in the session
    connected, _ = await connect(communicator)
    replies = []
    try:
        while connected and (output := await next_output(communicator, 0.3)) is not None:
            replies.append(output)
            if output["type"] == "websocket.close":
                break
    finally:
        await stop(communicator, disconnect=bool(connected))
    return connected, replies


def check_protect(protect) -> None:
    """Exercise 08a: protect(app) refuses foreign or missing origins and puts the user in the scope."""
    from channels.auth import AuthMiddleware
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.security.websocket import OriginValidator

    class WhoAmI(AsyncJsonWebsocketConsumer):
        async def connect(self):
            await self.accept()
            await self.send_json({"user": str(self.scope.get("user", "no user in the scope"))})

    try:
        application = protect(WhoAmI.as_asgi())
    except NotImplementedError:
        raise not_written("protect") from None
    except TypeError as error:
        raise ExerciseHint(
            f"protect raised TypeError: {error}. Each wrapper takes the application it wraps: "
            "AllowedHostsOriginValidator(AuthMiddlewareStack(app))"
        ) from None
    if application is None:
        raise ExerciseHint("protect returned None: return the wrapped application")
    layers = inner_applications(application)
    validators = [i for i, layer in enumerate(layers) if isinstance(layer, OriginValidator)]
    auths = [i for i, layer in enumerate(layers) if isinstance(layer, AuthMiddleware)]
    if validators and auths and validators[0] > auths[0]:
        raise ExerciseHint(
            "the origin check is inside AuthMiddlewareStack: a foreign page's cookies are read and "
            "its session loaded (a database query, when it sends a session cookie) before it is "
            "refused. Put AllowedHostsOriginValidator outermost: "
            "AllowedHostsOriginValidator(AuthMiddlewareStack(app))"
        )
    for origin in (b"http://evil.example", None):
        connected, _ = run(_handshake(application, origin))
        if connected:
            who = "a page on evil.example" if origin else "a client without an Origin header"
            if validators:
                raise ExerciseHint(
                    f"{who} got in through your origin check: use AllowedHostsOriginValidator, which "
                    "allows only the hosts in settings.ALLOWED_HOSTS (not OriginValidator(app, ['*']))"
                )
            raise ExerciseHint(f"{who} got in: wrap the app in AllowedHostsOriginValidator")
    connected, replies = run(_handshake(application, b"http://127.0.0.1"))
    if not connected:
        raise ExerciseHint(
            "a page from 127.0.0.1 (in ALLOWED_HOSTS) was refused: use AllowedHostsOriginValidator, "
            "which allows the hosts in settings.ALLOWED_HOSTS"
        )
    said = json.loads(replies[0]["text"])["user"] if replies and replies[0].get("text") else None
    if said != "AnonymousUser":
        raise ExerciseHint(
            f"the consumer saw user {said!r}: wrap the app in AuthMiddlewareStack too, inside the origin validator"
        )
    passed("protect works: evil.example and Origin-less clients are refused, same-host pages see the user")


class _LoggedIn:
    is_authenticated = True
    is_anonymous = False
    username = "ada"

    def __str__(self):
        return self.username


def check_members_only(consumer_class) -> None:
    """Exercise 08b: anonymous users are closed with 4401; logged-in users get their echo."""
    from django.contrib.auth.models import AnonymousUser

    application = consumer_class.as_asgi()
    try:
        connected, replies = run(_handshake(application, None, user=AnonymousUser(), path="/members/"))
    except NotImplementedError:
        raise not_written("MembersOnlyEcho") from None
    except TypeError as error:
        if "not callable" in str(error):
            raise ExerciseHint(
                f"MembersOnlyEcho raised TypeError: {error}. is_authenticated is a property: "
                "if not self.scope['user'].is_authenticated (no brackets)"
            ) from None
        raise ExerciseHint(f"MembersOnlyEcho raised TypeError: {error}") from None
    except KeyError as error:
        raise ExerciseHint(
            f"MembersOnlyEcho raised KeyError: {error}. The user is scope['user'], put there by AuthMiddlewareStack"
        ) from None
    if connected is None:
        raise ExerciseHint(
            "an anonymous user's handshake got no answer: connect() must accept first, then close with code 4401"
        )
    if not connected:
        raise ExerciseHint(
            "an anonymous user's handshake was refused outright (HTTP 403, no reason given): "
            "accept first, then close with code 4401, so the page knows to show a login link"
        )
    closes = [r for r in replies if r["type"] == "websocket.close"]
    if not closes:
        raise ExerciseHint(
            "an anonymous user got no close at all: is_authenticated is False for "
            "AnonymousUser (the user object itself is truthy), so test "
            "if not self.scope['user'].is_authenticated, then self.close(code=4401)"
        )
    if closes[0].get("code") != 4401:
        raise ExerciseHint(f"an anonymous user got code {closes[0].get('code')}: close with self.close(code=4401)")
    if any(r["type"] == "websocket.send" for r in replies):
        raise ExerciseHint("an anonymous user received a message before the close: close right after accept")

    async def member_echo():
        from channels.testing import WebsocketCommunicator

        communicator = WebsocketCommunicator(application, "/members/")
        communicator.scope["user"] = _LoggedIn()
        connected, _ = await connect(communicator)
        if not connected:
            await stop(communicator)
            return None
        try:
            await communicator.send_json_to({"ch": "x"})
            return await next_output(communicator)
        finally:
            await stop(communicator, disconnect=True)

    reply = run(member_echo())
    if reply is None or reply["type"] != "websocket.send":
        raise ExerciseHint(
            f"a logged-in user got {reply!r} instead of the echo: keep them connected and send_json(content) back"
        )
    if json.loads(reply["text"]) != {"ch": "x"}:
        raise ExerciseHint(f"a logged-in user's {{'ch': 'x'}} came back as {reply['text']}")
    passed("MembersOnlyEcho works: anonymous users get close code 4401, members get their echo")
