"""Exercise 09, security: members only; a token middleware that says who is at the door."""

from __future__ import annotations

import inspect
import json

from ._common import (
    ExerciseHint,
    connect,
    in_a_plain_thread,
    missing_await_hint,
    next_output,
    not_written,
    passed,
    run,
    stop,
    unawaited_coroutines,
)


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


GOOD_TOKEN = "ada-s3cret"  # the exercise's TOKENS maps it to the user "ada"
_NO_USER = object()  # what the check's consumer notes when its scope has no "user"


def _ada():
    """The user the good token belongs to, made if missing (in a plain thread: Django's ORM is sync)."""
    from django.contrib.auth.models import User

    return in_a_plain_thread(lambda: User.objects.get_or_create(username="ada")[0])


def _described(user) -> str:
    """A user as a hint names it (no memory address)."""
    if user is None or isinstance(user, (str, bytes)):
        return repr(user)
    return f"{type(user).__name__} {str(user)!r}" if getattr(user, "is_authenticated", False) else type(user).__name__


async def _visit(application, query_string: str):
    """Connect with ``query_string``; answer (the scope the caller made, connected, the close code or None)."""
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(application, f"/members/?{query_string}" if query_string else "/members/")
    connected, _ = await connect(communicator)
    code = None
    try:
        if connected is None and communicator.future.done():
            communicator.future.result()  # the middleware crashed: raise its error
        output = await next_output(communicator, 0.3) if connected else None
        if output is not None and output["type"] == "websocket.close":
            code = output.get("code")
    finally:
        await stop(communicator, disconnect=bool(connected))
    return communicator.scope, connected, code


def check_token_auth(middleware_class) -> None:
    """Exercise 09b: the middleware puts the token's user (or AnonymousUser) in a copy of the scope."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from django.contrib.auth.models import AnonymousUser, User
    from django.core.exceptions import SynchronousOnlyOperation

    ada = _ada()
    seen = []

    class MembersOnly(AsyncJsonWebsocketConsumer):
        async def connect(self):
            seen.append(self.scope.get("user", _NO_USER))
            await self.accept()
            if not getattr(seen[-1], "is_authenticated", False):
                await self.close(code=4401)

    application = middleware_class(MembersOnly.as_asgi())
    attributes = set(getattr(application, "__dict__", {}))
    visits = [
        ("a good token", f"token={GOOD_TOKEN}", ada),
        ("a good token before another parameter", f"token={GOOD_TOKEN}&room=lobby", ada),
        ("a good token after another parameter", f"room=lobby&token={GOOD_TOKEN}", ada),
        ("a wrong token", "token=guessed", None),
        ("no token at all", "", None),
    ]
    for who, query_string, expected in visits:
        seen.clear()
        try:
            with unawaited_coroutines() as unawaited:
                scope, connected, code = run(_visit(application, query_string))
        except NotImplementedError:
            raise not_written("TokenAuthMiddleware") from None
        except SynchronousOnlyOperation:
            raise ExerciseHint(
                "the database lookup ran inside the event loop and Django refused it (SynchronousOnlyOperation): "
                "await database_sync_to_async(user_for_token)(token)"
            ) from None
        except AttributeError as error:
            on_the_middleware = inspect.isclass(middleware_class) and isinstance(
                getattr(error, "obj", None), middleware_class
            )
            if on_the_middleware and getattr(error, "name", None) in ("app", "application"):
                raise ExerciseHint(
                    f"your middleware called self.{error.name}, which BaseMiddleware does not have: it keeps "
                    "the application it wraps as self.inner. End __call__ with "
                    "return await super().__call__(scope, receive, send)"
                ) from None
            raise ExerciseHint(f"with {who}, your middleware raised AttributeError: {error}") from None
        except TypeError as error:
            if "unhashable" not in str(error):
                raise
            raise ExerciseHint(
                f"with {who}, your middleware passed a list as the token ({error}): parse_qs gives a list "
                "of values for each name, ?token=a&token=b gives ['a', 'b']: take token[0]"
            ) from None
        except (KeyError, IndexError, User.DoesNotExist) as error:
            raise ExerciseHint(
                f"{who} crashed your middleware with {type(error).__name__}: {error}. A missing or wrong token "
                "is no error, it is AnonymousUser(): parse_qs(...).get('token'), and user_for_token answers "
                "AnonymousUser for a token it does not know"
            ) from None
        stored = sorted(set(getattr(application, "__dict__", {})) - attributes)
        if stored:
            raise ExerciseHint(
                f"with {who}, your middleware stored self.{stored[0]}: one middleware instance serves every "
                "connection, so the next visitor would find this one's value there (BaseMiddleware's "
                "docstring: don't store state on the instance). Keep it in a local variable, and in the scope"
            )
        lookups = [user for user in seen if inspect.iscoroutine(user)]
        for lookup in lookups:
            lookup.close()  # never awaited by the learner: closed here, so Python does not warn later
        if lookups or any(name.startswith("SyncToAsync.") for name in unawaited):
            raise ExerciseHint(
                f"with {who}, the consumer saw a coroutine as scope['user'], not a user: "
                "database_sync_to_async(user_for_token)(token) gives a coroutine, and only await runs "
                "the lookup: user = await database_sync_to_async(user_for_token)(token)"
            )
        if unawaited:
            raise ExerciseHint(
                "super().__call__(...) was called without await, so the consumer never ran: "
                "return await super().__call__(scope, receive, send)"
            )
        if not seen:
            raise ExerciseHint(
                f"with {who}, the consumer was never called: end __call__ with "
                "return await super().__call__(scope, receive, send), which calls the application you wrap"
            )
        if "user" in scope:
            raise ExerciseHint(
                "your middleware wrote scope['user'] into the scope it was given, which belongs to the "
                "caller (the server, an outer middleware) and outlives this connection: make a copy, "
                "scope = dict(scope, user=user), and pass that on"
            )
        user = seen[0]
        if user is _NO_USER:
            raise ExerciseHint(
                f"with {who}, the scope the consumer got had no 'user': pass the copy with the user "
                "on to the inner app, not the scope you were given: "
                "return await super().__call__(dict(scope, user=user), receive, send)"
            )
        if isinstance(user, (str, bytes)):
            raise ExerciseHint(
                f"with {who}, scope['user'] was the string {user!r}: look the token's user up, "
                "await database_sync_to_async(user_for_token)(token), and put that in scope['user']"
            )
        if expected is not None and not isinstance(user, User):
            if "&" in query_string:
                raise ExerciseHint(
                    f"with {who} (?{query_string}), the consumer saw {_described(user)}: read the query string with "
                    "parse_qs(scope['query_string'].decode()).get('token'), not by splitting it by hand"
                )
            raise ExerciseHint(
                f"with {who} (?{query_string}), the consumer saw {_described(user)}: scope['query_string'] is bytes "
                "and has no '?': parse_qs(scope['query_string'].decode()).get('token') gives ['ada-s3cret']"
            )
        if expected is not None and user.pk != expected.pk:
            raise ExerciseHint(f"with {who}, the consumer saw {_described(user)}, not ada")
        if expected is None and not isinstance(user, AnonymousUser):
            raise ExerciseHint(
                f"with {who}, scope['user'] was {_described(user)}: a visitor without a valid token "
                "is AnonymousUser(), so consumers can ask scope['user'].is_authenticated"
            )
        if expected is None and code != 4401:
            raise ExerciseHint(f"with {who}, the members-only consumer was not closed with 4401 (got {code!r})")
    passed(
        "TokenAuthMiddleware works: ada's token lets her in, a wrong token or none gets AnonymousUser "
        "and close code 4401, and the caller's scope is left as it was"
    )


class _LoggedIn:
    is_authenticated = True
    is_anonymous = False
    username = "ada"

    def __str__(self):
        return self.username


def check_members_only(consumer_class) -> None:
    """Exercise 09a: anonymous users are closed with 4401; logged-in users get their echo."""
    from django.contrib.auth.models import AnonymousUser

    application = consumer_class.as_asgi()
    try:
        with unawaited_coroutines() as unawaited:
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
    if unawaited:
        raise missing_await_hint(unawaited, "MembersOnlyEcho")
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
