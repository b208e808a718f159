"""Exercise 09, security: members only; a token middleware that says who is at the door.

``check_members_only(MembersOnlyEcho)``, the requirements:

- R1 an anonymous visitor is accepted, then closed with code 4401, an int (it may be told why first;
  nothing is sent after the close);
- R2 a logged-in member stays connected and gets each message echoed back exactly;
- R2b a scope with no "user" at all (a route without AuthMiddlewareStack) lets nobody in: the consumer
  closes with 4401 or fails loudly (``self.scope["user"]``, as the solution reads it, raises KeyError);
  it never echoes for a visitor it could not identify;
- R3 with an anonymous visitor and a member connected at once, each is treated as itself;
- R4 the consumer ends when its client leaves.

``check_token_auth(TokenAuthMiddleware)``, the requirements:

- R1 ada's token (alone, before or after another parameter) puts the real user ada in scope["user"];
- R2 a wrong token, or none, puts AnonymousUser there (and the members-only consumer closes with 4401);
- R3 the scope the middleware was given is left as it was (a copy goes on);
- R1b only the parameter named ``token`` counts: ada's token as ``csrftoken=`` or ``notoken=`` is anonymous;
- R4 nothing about one visitor reaches the next: every order of visits (token, wrong token, none), and
  all three at once, give each visitor their own user; nothing is stored on the middleware; nothing is
  cached across connections (ada's account goes between two visits with her token: the second is anonymous);
- R5 the lookup runs through database_sync_to_async, awaited; the inner application is awaited.

Probes observe each requirement with a real user from the database and the check's own consumer; a
table of (condition, hint) rules then names the first requirement broken.

Over 400 lines: two exercises' specifications, each requirement with its probe and its hint rule, kept in one
file so it says everything the checks ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import secrets

from ._common import (
    ENDED,
    SHORT,
    ExerciseHint,
    diagnose,
    end_conversation,
    in_a_plain_thread,
    learner_code,
    missing_await_hint,
    next_event,
    passed,
    run,
    unawaited_coroutines,
    wrong_close_code,
)

GOOD_TOKEN = "ada-s3cret"  # the exercise's TOKENS maps it to the user "ada"
_NO_USER = object()  # what the check's consumer notes when its scope has no "user"
_NOT_CALLED = object()  # a visit the check's consumer never saw


async def _conversation(application, path, *, user=None, messages=()):
    """Connect at ``path`` (with ``user`` in the scope, if given), send ``messages``; answer what happened.

    Answers a dict: accepted (None: no answer), outputs (every message the application sent, in order),
    close (the close code, or None), ended (whether the application ended once its client left).
    """
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(application, path, headers=[(b"host", b"127.0.0.1")])
    if user is not None:
        communicator.scope["user"] = user  # what AuthMiddlewareStack would find in the session
    await communicator.send_input({"type": "websocket.connect"})
    first = await next_event(communicator)
    accepted = None if first in (None, ENDED) else first["type"] == "websocket.accept"
    outputs, close, after_close = [], (first.get("code") if accepted is False else None), []

    async def collect(wait):
        nonlocal close
        output = await next_event(communicator, wait)
        while output not in (None, ENDED):
            if output["type"] == "websocket.close":
                close = output.get("code")
                after = await next_event(communicator, 0.05)  # the connection is closed: nothing may follow
                while after not in (None, ENDED):
                    after_close.append(after["type"])
                    after = await next_event(communicator, 0.02)
                return
            outputs.append(json.loads(output["text"]) if output.get("text") else output.get("bytes"))
            output = await next_event(communicator, 0.02)

    if accepted:
        await collect(0.1)  # what it says (or the close) before the client says anything
        for message in messages:
            if close is not None:
                break
            await communicator.send_json_to(message)
            await collect(SHORT)
    end = await end_conversation(communicator, accepted is not None)  # after any answer: a server then sends disconnect
    ended, late = end["ended"], end["late"]
    return {
        "accepted": accepted,
        "outputs": outputs,
        "close": close,
        "ended": ended,
        "late": late,
        "after_close": after_close,
        "scope": communicator.scope,
    }


def _ada():
    """The user the good token belongs to, made if missing (in a plain thread: Django's ORM is sync)."""
    from django.contrib.auth.models import User

    return in_a_plain_thread(lambda: User.objects.get_or_create(username="ada")[0])


def _described(user) -> str:
    """A user as a hint names it (no memory address)."""
    if user is None or isinstance(user, (str, bytes)):
        return repr(user)
    return f"{type(user).__name__} {str(user)!r}" if getattr(user, "is_authenticated", False) else type(user).__name__


# --------------------------------------------------------------------------- 09a members only


def check_members_only(consumer_class) -> None:
    """Exercise 09a: anonymous users are closed with 4401; logged-in users get their echo."""
    from django.contrib.auth.models import AnonymousUser

    ada = _ada()
    application = consumer_class.as_asgi()
    unseen = {"ch": "the door is open", "n": 7}

    async def probes():
        anonymous = await _conversation(application, "/members/", user=AnonymousUser())
        if not anonymous["accepted"] or anonymous["close"] != 4401 or not anonymous["ended"]:  # known: say it now
            return {"anonymous": anonymous, "member": anonymous, "no_user": None, "both": [(anonymous, anonymous)]}
        member = await _conversation(application, "/members/", user=ada, messages=[unseen, {"ch": "x"}])
        if member["close"] is not None or member["outputs"] != [unseen, {"ch": "x"}]:
            return {"anonymous": anonymous, "member": member, "no_user": None, "both": [(anonymous, member)]}
        try:  # a route without AuthMiddlewareStack: no "user" in the scope at all
            no_user = await _conversation(application, "/members/", messages=[{"ch": "who am I?"}])
        except KeyError as error:  # self.scope["user"] fails loudly: the mistake shows at once
            if error.args != ("user",):
                raise
            no_user = {"raised": True, "close": None, "late": [], "after_close": [], "ended": True}
        if not no_user.get("raised") and no_user["close"] != 4401:
            return {"anonymous": anonymous, "member": member, "no_user": no_user, "both": [(anonymous, member)]}
        both = []
        for member_first in (False, True):  # two connections at once, in both orders
            visitors = [
                _conversation(application, "/members/", user=AnonymousUser()),
                _conversation(application, "/members/", user=ada, messages=[{"ch": "together"}]),
            ]
            pair = await asyncio.gather(*(visitors[::-1] if member_first else visitors))
            both.append(pair[::-1] if member_first else pair)
        return {"anonymous": anonymous, "member": member, "no_user": no_user, "both": both}

    advice = [
        (
            lambda e: isinstance(e, TypeError) and "not callable" in str(e),
            "is_authenticated is a property: if not self.scope['user'].is_authenticated (no brackets)",
        ),
        (KeyError, "The user is scope['user'], put there by AuthMiddlewareStack"),
    ]
    with learner_code("MembersOnlyEcho", advice) as _, unawaited_coroutines() as unawaited:
        facts = run(probes())
    if unawaited:
        raise missing_await_hint(unawaited, "MembersOnlyEcho")
    anonymous, member = facts["anonymous"], facts["member"]
    together = [conversation for pair in facts["both"] for conversation in pair]
    together += [facts["no_user"]] if facts["no_user"] and not facts["no_user"].get("raised") else []
    anonymous_too, member_too = next(
        (pair for pair in facts["both"] if pair[0]["close"] != 4401 or pair[1]["outputs"] != [{"ch": "together"}]),
        facts["both"][0],
    )
    diagnose(
        facts,
        [
            (
                lambda f: anonymous["accepted"] is None,
                "an anonymous user's handshake got no answer: connect() must accept first, then close with code 4401",
            ),
            (
                lambda f: anonymous["accepted"] is False,
                "an anonymous user's handshake was refused outright (HTTP 403, no reason given): "
                "accept first, then close with code 4401, so the page knows to show a login link",
            ),
            (
                lambda f: anonymous["close"] is None,
                "an anonymous user got no close at all: is_authenticated is False for "
                "AnonymousUser (the user object itself is truthy), so test "
                "if not self.scope['user'].is_authenticated, then self.close(code=4401)",
            ),
            (
                lambda f: anonymous["close"] != 4401,
                wrong_close_code("MembersOnlyEcho, for an anonymous user,", anonymous["close"], 4401),
            ),
            (
                lambda f: anonymous["after_close"],
                lambda f: (
                    f"an anonymous user was closed with 4401, then sent {anonymous['after_close'][0]!r}: nothing "
                    "can be sent on a closed connection (the client never gets it; a server raises). Tell them why "
                    "first, then close: await self.send_json(...), then await self.close(code=4401)"
                ),
            ),
            (
                lambda f: not anonymous["ended"],
                "the consumer kept running after its client left: let websocket_disconnect end it "
                "(call super() if you override it)",
            ),
            (
                lambda f: member["accepted"] is not True or member["close"] is not None,
                f"a logged-in user got {('close code ' + str(member['close'])) if member['close'] else 'no connection'}"
                " instead of the echo: keep members connected, close only when not is_authenticated",
            ),
            (
                lambda f: member["outputs"] != [unseen, {"ch": "x"}],
                f"a logged-in user sent {unseen} then {{'ch': 'x'}} and got {member['outputs']}: "
                "send each message back as it came, self.send_json(content)",
            ),
            (
                lambda f: f["no_user"] is not None and not f["no_user"].get("raised") and f["no_user"]["close"] != 4401,
                lambda f: (
                    "a visitor whose scope had no 'user' at all (a route without AuthMiddlewareStack) got "
                    + (
                        f"close code {f['no_user']['close']!r}"
                        if f["no_user"]["close"] is not None
                        else f"in, and {f['no_user']['outputs']}"
                    )
                    + ": members only means nobody unknown gets in. Read self.scope['user'] (a missing "
                    "middleware then fails loudly, KeyError), or treat a missing user as anonymous, close(code=4401); "
                    "never let a visitor in because you could not tell who they are"
                ),
            ),
            (
                lambda f: anonymous_too["close"] != 4401 or member_too["outputs"] != [{"ch": "together"}],
                "with an anonymous visitor and a member connected at the same time, "
                f"the visitor got close code {anonymous_too['close']} and the member {member_too['outputs']}: "
                "keep what you learn about a user on self (one consumer instance per connection), "
                "never on the class or in a global",
            ),
            (
                lambda f: any(c["late"] for c in (anonymous, member, *together)),
                lambda f: (
                    "after its client left, the consumer sent "
                    f"{next(c['late'][0] for c in (anonymous, member, *together) if c['late'])}: "
                    "nothing can be sent on a connection that is gone (a close() in disconnect() is lesson 03's bug)"
                ),
            ),
            (
                lambda f: not all(c["ended"] for c in (anonymous, member, *together)),
                "the consumer kept running after its client left: let websocket_disconnect end it "
                "(call super() if you override it)",
            ),
        ],
    )
    passed("MembersOnlyEcho works: anonymous users get close code 4401, members get their echo")


# --------------------------------------------------------------------------- 09b a token middleware

_VISITS = {  # who: (query string, whether it is ada)
    "a good token": (f"token={GOOD_TOKEN}", True),
    "a good token before another parameter": (f"token={GOOD_TOKEN}&room=lobby", True),
    "a good token after another parameter": (f"room=lobby&token={GOOD_TOKEN}", True),
    "a wrong token": ("token=guessed", False),
    "no token at all": ("", False),
    "ada's token under another name, csrftoken": (f"csrftoken={GOOD_TOKEN}", False),
    "ada's token under another name, notoken": (f"room=lobby&notoken={GOOD_TOKEN}", False),
}
_ORDERED = ("a good token", "a wrong token", "no token at all")  # tried in every order, then all at once


def _visitor_app(seen: dict):
    """The members-only consumer the check wraps: notes the user each connection saw, by its path."""
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    class MembersOnly(AsyncJsonWebsocketConsumer):
        async def connect(self):
            user = self.scope.get("user", _NO_USER)
            seen[self.scope["path"]] = user
            await self.accept()
            if not getattr(user, "is_authenticated", False):
                await self.close(code=4401)

    return MembersOnly.as_asgi()


async def _visit(application, number: int, who: str):
    """One visitor, at a path of its own; answers (what happened, the scope the caller gave)."""
    from channels.testing import WebsocketCommunicator

    query_string = _VISITS[who][0]
    path = f"/members/{number}/"
    communicator = WebsocketCommunicator(application, f"{path}?{query_string}" if query_string else path)
    await communicator.send_input({"type": "websocket.connect"})
    first = await next_event(communicator)
    code = None
    if first not in (None, ENDED) and first["type"] == "websocket.accept":
        second = await next_event(communicator, 0.05)  # the check's consumer closes right after accepting
        code = second.get("code") if second not in (None, ENDED) and second["type"] == "websocket.close" else None
    await end_conversation(communicator, first not in (None, ENDED))
    return {"who": who, "path": path, "answered": first not in (None, ENDED), "code": code}, communicator.scope


async def _token_probes(middleware_class, early_rules):
    """Each visitor alone, then (unless ``early_rules`` already name a mistake) every order, then all at once."""
    seen: dict = {}
    numbers = itertools.count()
    application = middleware_class(_visitor_app(seen))
    attributes = set(getattr(application, "__dict__", {}))
    alone, scopes = [], []
    for who in _VISITS:
        visit, scope = await _visit(application, next(numbers), who)
        alone.append(visit)
        scopes.append(scope)
    for visit in alone:
        visit["user"] = seen.get(visit["path"], _NOT_CALLED)
    stored = sorted(set(getattr(application, "__dict__", {})) - attributes)
    facts = {"alone": alone, "orders": [], "together": [], "scopes": scopes, "stored": stored}
    if any(condition(facts) for condition, _ in early_rules):  # the hint is known: give it now
        return facts
    orders = []
    for order in itertools.permutations(_ORDERED):
        fresh = middleware_class(_visitor_app(seen))  # a global or a class attribute outlives an instance
        orders.append([(await _visit(fresh, next(numbers), who))[0] for who in order])
    together = [visit for visit, _ in await asyncio.gather(*(_visit(application, next(numbers), w) for w in _ORDERED))]
    # ada's account goes (her username changes, so user_for_token no longer finds her) between two visits
    # with her token: the second must be anonymous, whatever the first left in a cache
    async with _ada_away() as away:
        revoked, _ = await _visit(application, next(numbers), "a good token")
    revoked["away"] = away
    for visit in itertools.chain(together, [revoked], *orders):
        visit["user"] = seen.get(visit["path"], _NOT_CALLED)
    stored = sorted(set(getattr(application, "__dict__", {})) - attributes)
    return dict(facts, orders=orders, together=together, revoked=revoked, stored=stored)


@contextlib.asynccontextmanager
async def _ada_away():
    """While inside, ada's username is another one (as if her account were gone); put back after."""
    from asgiref.sync import sync_to_async
    from django.contrib.auth.models import User

    away = f"ada-away-{secrets.token_hex(3)}"
    await sync_to_async(lambda: User.objects.filter(username="ada").update(username=away))()
    try:
        yield away
    finally:
        await sync_to_async(lambda: User.objects.filter(username=away).update(username="ada"))()


def _is_ada(user, ada) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "pk", None) == ada.pk


def _wrong_user(visit, ada) -> bool:
    """Whether a visitor saw another user than their own."""
    return not _is_ada(visit["user"], ada) if _VISITS[visit["who"]][1] else _is_ada(visit["user"], ada)


def _first(visits, condition):
    return next((v for v in visits if condition(v)), None)


def _token_rules(ada):
    from django.contrib.auth.models import AnonymousUser, User

    def alone(f, condition):
        return _first(f["alone"], condition)

    def is_ada_visit(v):
        return _VISITS[v["who"]][1]

    def crossed(f):
        for order in f["orders"]:
            for earlier, later in itertools.pairwise(order):
                if _wrong_user(later, ada) and not _wrong_user(earlier, ada):
                    return earlier, later
        return None

    def not_ada(f):
        return alone(f, lambda v: is_ada_visit(v) and not _is_ada(v["user"], ada))

    def lookup_coroutine(f):
        return _first(f["alone"], lambda v: inspect.iscoroutine(v["user"]))

    def query(v):
        return _VISITS[v["who"]][0]

    return [
        (
            lambda f: f["stored"],
            lambda f: (
                f"your middleware stored self.{f['stored'][0]}: one middleware instance serves every "
                "connection, so the next visitor would find this one's value there (BaseMiddleware's "
                "docstring: don't store state on the instance). Keep it in a local variable, and in the scope"
            ),
        ),
        (
            lookup_coroutine,
            lambda f: (
                f"with {lookup_coroutine(f)['who']}, the consumer saw a coroutine as scope['user'], not a "
                "user: database_sync_to_async(user_for_token)(token) gives a coroutine, and only await runs "
                "the lookup: user = await database_sync_to_async(user_for_token)(token)"
            ),
        ),
        (
            lambda f: all(v["user"] is _NOT_CALLED and not v["answered"] for v in f["alone"]),
            "the consumer was never called: end __call__ with "
            "return await super().__call__(scope, receive, send), which calls the application you wrap",
        ),
        (
            lambda f: any("user" in scope for scope in f["scopes"]),
            "your middleware wrote scope['user'] into the scope it was given, which belongs to the "
            "caller (the server, an outer middleware) and outlives this connection: make a copy, "
            "scope = dict(scope, user=user), and pass that on",
        ),
        (
            lambda f: alone(f, lambda v: v["user"] is _NOT_CALLED and v["answered"]),
            lambda f: (
                f"with {alone(f, lambda v: v['user'] is _NOT_CALLED and v['answered'])['who']}, your middleware "
                "answered the visitor itself and never called the consumer: a middleware says who is at the door, "
                "the consumer decides. Pass every visitor on, AnonymousUser() for a missing or wrong token"
            ),
        ),
        (
            lambda f: alone(f, lambda v: v["user"] is _NO_USER),
            lambda f: (
                f"with {alone(f, lambda v: v['user'] is _NO_USER)['who']}, the scope the consumer got had "
                "no 'user': pass the copy with the user on to the inner app, not the scope you were given: "
                "return await super().__call__(dict(scope, user=user), receive, send)"
            ),
        ),
        (
            lambda f: alone(f, lambda v: isinstance(v["user"], (str, bytes))),
            lambda f: (
                f"with {alone(f, lambda v: isinstance(v['user'], (str, bytes)))['who']}, scope['user'] was "
                f"the string {alone(f, lambda v: isinstance(v['user'], (str, bytes)))['user']!r}: look the token's "
                "user up, await database_sync_to_async(user_for_token)(token), and put that in scope['user']"
            ),
        ),
        (
            lambda f: alone(f, lambda v: is_ada_visit(v) and not isinstance(v["user"], User) and "&" not in query(v)),
            lambda f: (
                lambda v: (
                    f"with {v['who']} (?{query(v)}), the consumer saw {_described(v['user'])}: "
                    "scope['query_string'] is bytes and has no '?': parse_qs(scope['query_string'].decode())"
                    ".get('token') gives ['ada-s3cret']"
                )
            )(alone(f, lambda v: is_ada_visit(v) and not isinstance(v["user"], User) and "&" not in query(v))),
        ),
        (
            lambda f: alone(f, lambda v: is_ada_visit(v) and not isinstance(v["user"], User) and "&" in query(v)),
            lambda f: (
                lambda v: (
                    f"with {v['who']} (?{query(v)}), the consumer saw {_described(v['user'])}: read the "
                    "query string with parse_qs(scope['query_string'].decode()).get('token'), "
                    "not by splitting it by hand"
                )
            )(alone(f, lambda v: is_ada_visit(v) and not isinstance(v["user"], User) and "&" in query(v))),
        ),
        (
            lambda f: alone(f, lambda v: "token=" in query(v) and not is_ada_visit(v) and _is_ada(v["user"], ada)),
            lambda f: (
                lambda v: (
                    f"with {v['who']} (?{query(v)}), the consumer saw {_described(v['user'])}: that parameter "
                    "is not 'token'. Finding 'token=' in the text matches csrftoken= and notoken= too: read "
                    "the parameter by its name, parse_qs(scope['query_string'].decode()).get('token')"
                )
            )(alone(f, lambda v: "token=" in query(v) and not is_ada_visit(v) and _is_ada(v["user"], ada))),
        ),
        (
            not_ada,
            lambda f: (
                f"with {not_ada(f)['who']}, the consumer saw {_described(not_ada(f)['user'])}, not ada: "
                "put the user that user_for_token answers in scope['user']"
            ),
        ),
        (
            crossed,
            lambda f: (
                "a visitor with {1[who]}, right after one with {0[who]}, was served as {2}: ".format(
                    *crossed(f), _described(crossed(f)[1]["user"])
                )
                + "your middleware kept the user of one connection where the next one found it (a global, or an "
                "attribute of the class). One middleware serves every visitor: keep the user in a local variable "
                "and in the scope's copy"
            ),
        ),
        (
            lambda f: alone(f, lambda v: not is_ada_visit(v) and not isinstance(v["user"], AnonymousUser)),
            lambda f: (
                lambda v: (
                    f"with {v['who']}, scope['user'] was {_described(v['user'])}: a visitor without a valid "
                    "token is AnonymousUser(), so consumers can ask scope['user'].is_authenticated"
                )
            )(alone(f, lambda v: not is_ada_visit(v) and not isinstance(v["user"], AnonymousUser))),
        ),
        (
            lambda f: _first(f["together"], lambda v: _wrong_user(v, ada)),
            lambda f: (
                "with a good token, a wrong token and none arriving at the same time, "
                f"{_first(f['together'], lambda v: _wrong_user(v, ada))['who']} was served as "
                f"{_described(_first(f['together'], lambda v: _wrong_user(v, ada))['user'])}: "
                "while one visitor's lookup is awaited, the others run: "
                "keep each visitor's token and user in local variables"
            ),
        ),
        (
            lambda f: _is_ada(f["revoked"]["user"], ada),
            lambda f: (
                f"ada visited with her token; then her account went (her username became {f['revoked']['away']!r}, "
                "so user_for_token answers AnonymousUser), and her token still served her as "
                f"{_described(f['revoked']['user'])}: your middleware kept a token's user from an earlier visit "
                "(a dict, an lru_cache, a global). A revoked token must stop working at once: look the user up "
                "on every connection"
            ),
        ),
        (
            lambda f: alone(f, lambda v: not is_ada_visit(v) and v["code"] != 4401),
            lambda f: (
                f"with {alone(f, lambda v: not is_ada_visit(v) and v['code'] != 4401)['who']}, the "
                "members-only consumer was not closed with 4401: pass the anonymous user on to it"
            ),
        ),
    ]


def _token_advice():
    from django.contrib.auth.models import User
    from django.core.exceptions import SynchronousOnlyOperation

    return [
        (
            SynchronousOnlyOperation,
            "The database lookup ran inside the event loop and Django refused it: "
            "await database_sync_to_async(user_for_token)(token)",
        ),
        (
            lambda e: isinstance(e, AttributeError) and getattr(e, "name", None) in ("app", "application"),
            lambda e: (
                f"BaseMiddleware has no self.{e.name}: it keeps the application it wraps as self.inner. "
                "End __call__ with return await super().__call__(scope, receive, send)"
            ),
        ),
        (
            lambda e: isinstance(e, TypeError) and "unhashable" in str(e),
            "parse_qs gives a list of values for each name, ?token=a&token=b gives ['a', 'b']: take token[0]",
        ),
        (
            lambda e: isinstance(e, TypeError) and "NoneType" in str(e),
            "parse_qs(...).get('token') is None when the URL has no token: test it first, "
            "token = ...get('token'); user = ... if token else AnonymousUser()",
        ),
        (
            (KeyError, IndexError, User.DoesNotExist),
            "A missing or wrong token is no error, it is AnonymousUser(): parse_qs(...).get('token'), and "
            "user_for_token answers AnonymousUser for a token it does not know",
        ),
    ]


def check_token_auth(middleware_class) -> None:
    """Exercise 09b: the middleware puts the token's user (or AnonymousUser) in a copy of the scope."""
    ada = _ada()
    rules = _token_rules(ada)
    early = rules[: next(n for n, (condition, _) in enumerate(rules) if condition.__name__ == "crossed")]
    with learner_code("TokenAuthMiddleware", _token_advice()), unawaited_coroutines() as unawaited:
        facts = run(_token_probes(middleware_class, early))
    for visit in itertools.chain(facts["alone"], facts["together"], *facts["orders"]):
        if inspect.iscoroutine(visit["user"]):
            visit["user"].close()  # never awaited by the learner: closed here, so Python does not warn later
    if any(name.startswith("SyncToAsync.") for name in unawaited):
        raise ExerciseHint(
            "the consumer saw a coroutine as scope['user'], not a user: "
            "database_sync_to_async(user_for_token)(token) gives a coroutine, and only await runs "
            "the lookup: user = await database_sync_to_async(user_for_token)(token)"
        )
    if unawaited:
        raise ExerciseHint(
            "super().__call__(...) was called without await, so the consumer never ran: "
            "return await super().__call__(scope, receive, send)"
        )
    diagnose(facts, rules)
    passed(
        "TokenAuthMiddleware works: ada's token lets her in, a wrong token or none gets AnonymousUser "
        "and close code 4401, in every order and all at once, and the caller's scope is left as it was"
    )
