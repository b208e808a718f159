"""Exercise 09's check: its right answers, the variants learners write, and the wrong answers with their hints.

Beyond the mistakes people make one at a time, the wrong answers include state kept between visitors
(a module global, a class attribute), which only a second visitor in the right order reveals.
"""

from urllib.parse import parse_qs, parse_qsl

import pytest
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.middleware import BaseMiddleware

from tests.checks import table_tests

# The check uses the ORM from other threads than the test's, as it does in a learner's kernel: pytest-django's
# test database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)

TOKENS = {"ada-s3cret": "ada"}


def user_for_token(token):
    from django.contrib.auth.models import AnonymousUser, User

    try:
        return User.objects.get(username=TOKENS[token])
    except (KeyError, User.DoesNotExist):
        return AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


class TokenAuthWithoutDatabaseSyncToAsync(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = user_for_token(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthNeverCallingTheInnerApp(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        scope = dict(scope, user=user)


class TokenAuthNotAwaitingSuper(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return super().__call__(dict(scope, user=user), receive, send)


class TokenAuthMutatingTheScope(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        scope["user"] = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, scope, receive, send)


class TokenAuthParsingBytes(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"]).get("token")  # bytes in, bytes keys out
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthSplittingByHand(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        query = scope["query_string"].decode()
        token = query.split("=")[1] if query else None
        user = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthRaisingOnAMissingToken(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope["query_string"].decode())["token"][0]
        user = await database_sync_to_async(user_for_token)(token)
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthPuttingTheTokenInTheScope(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = token[0] if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthPassingTheList(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthWithNoneForAStranger(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else None
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthNotAwaitingTheLookup(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthPassingTheOriginalScope(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        new_scope = dict(scope, user=user)  # noqa: F841 (the mistake: made, then not passed on)
        return await BaseMiddleware.__call__(self, scope, receive, send)


class TokenAuthCallingSelfApp(TokenAuthMiddleware):  # a plain ASGI middleware's self.app; BaseMiddleware has self.inner
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await self.app(dict(scope, user=user), receive, send)


class TokenAuthCallingSelfApplication(TokenAuthMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await self.application(dict(scope, user=user), receive, send)


class TokenAuthSplittingOnTokenEquals(TokenAuthMiddleware):  # right until another parameter follows the token
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        query = scope["query_string"].decode()
        token = query.split("token=")[1] if "token=" in query else None
        user = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=user), receive, send)


class TokenAuthKeepingTheUserOnSelf(TokenAuthMiddleware):  # one instance serves every connection
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        if not hasattr(self, "user"):
            token = parse_qs(scope["query_string"].decode()).get("token")
            self.user = await database_sync_to_async(user_for_token)(token[0]) if token else AnonymousUser()
        return await BaseMiddleware.__call__(self, dict(scope, user=self.user), receive, send)


class MembersOnly(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.close(code=4401)

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class MembersOnlyRefusingOutright(MembersOnly):
    async def connect(self):
        if not self.scope["user"].is_authenticated:
            await self.close()
            return
        await self.accept()


class MembersOnlyWithTheWrongCode(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.close(code=1008)


class MembersOnlyClosingEveryone(MembersOnly):
    async def connect(self):
        await self.accept()
        await self.close(code=4401)


class MembersOnlyTestingTheUserItself(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"]:
            await self.close(code=4401)


class MembersOnlyCallingIsAuthenticated(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated():
            await self.close(code=4401)


class MembersOnlyNeverAnsweringAnonymous(MembersOnly):
    async def connect(self):
        if self.scope["user"].is_authenticated:
            await self.accept()


class MembersOnlyForgettingAwait(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            self.close(code=4401)


class MembersOnlyDecidingOnTheClass(MembersOnly):  # the last visitor's verdict serves every member
    allowed = False

    async def connect(self):
        await self.accept()
        type(self).allowed = self.scope["user"].is_authenticated
        if not type(self).allowed:
            await self.close(code=4401)

    async def receive_json(self, content, **kwargs):
        if type(self).allowed:
            await self.send_json(content)


class MembersOnlyEchoingTheFirstMessageOnly(MembersOnly):
    async def receive_json(self, content, **kwargs):
        if not hasattr(self, "answered"):
            self.answered = True
            await self.send_json(content)


class MembersOnlyNotEndingOnDisconnect(MembersOnly):
    async def websocket_disconnect(self, message):
        await self.disconnect(message.get("code"))


class MembersOnlyReadingTheSession(MembersOnly):  # raises: the check's scope has no session
    async def connect(self):
        await self.accept()
        if not self.scope["session"].get("user_id"):
            await self.close(code=4401)


class MembersOnlyAskingIsAnonymous(MembersOnly):
    async def connect(self):
        await self.accept()
        if self.scope["user"].is_anonymous:
            await self.close(code=4401)


class MembersOnlyAskingForTheId(MembersOnly):  # AnonymousUser's id is None; a real user's is not
    async def connect(self):
        await self.accept()
        if self.scope["user"].id is None:
            await self.close(code=4401)


class MembersOnlySayingWhyFirst(MembersOnly):
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.send_json({"error": "log in first"})
            await self.close(code=4401)


_last_user = None  # a module global: the last visitor's user


class TokenAuthKeepingTheLastUserInAGlobal(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        global _last_user
        token = parse_qs(scope["query_string"].decode()).get("token")
        if token:
            _last_user = await database_sync_to_async(user_for_token)(token[0])
        return await super().__call__(dict(scope, user=_last_user or AnonymousUser()), receive, send)


class TokenAuthKeepingTheUserOnTheClass(BaseMiddleware):
    user = None

    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = parse_qs(scope["query_string"].decode()).get("token")
        if token:
            type(self).user = await database_sync_to_async(user_for_token)(token[0])
        return await super().__call__(dict(scope, user=type(self).user or AnonymousUser()), receive, send)


class TokenAuthIndexingTheMissingToken(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope["query_string"].decode()).get("token")[0]
        user = await database_sync_to_async(user_for_token)(token)
        return await super().__call__(dict(scope, user=user), receive, send)


_pending_token = {}  # a global written before the await and read after it: visitors arriving together mix


class TokenAuthNotingTheTokenInAGlobal(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        _pending_token["token"] = (parse_qs(scope["query_string"].decode()).get("token") or [""])[0]
        await database_sync_to_async(lambda: None)()  # any await lets another visitor in
        user = await database_sync_to_async(user_for_token)(_pending_token["token"])
        return await super().__call__(dict(scope, user=user), receive, send)


class TokenAuthAskingTheQueryStringOnce(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        tokens = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        user = AnonymousUser()
        if "token" in tokens:
            user = await database_sync_to_async(user_for_token)(tokens["token"])
        return await super().__call__({**scope, "user": user}, receive, send)


class TokenAuthCopyingTheScope(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        scope = scope.copy()
        token = parse_qs(scope["query_string"].decode()).get("token", [None])[0]
        scope["user"] = await database_sync_to_async(user_for_token)(token)
        return await self.inner(scope, receive, send)


class TokenAuthTurningStrangersAway(BaseMiddleware):  # the middleware closes; the consumer never decides
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope["query_string"].decode()).get("token")
        user = await database_sync_to_async(user_for_token)(token[0]) if token else None
        if user is None or not user.is_authenticated:
            await receive()
            await send({"type": "websocket.close", "code": 4401})
            return
        return await super().__call__(dict(scope, user=user), receive, send)


class MembersOnlyLettingInWhomItCannotTell(MembersOnly):  # no AuthMiddlewareStack on the route: everyone in
    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        if user is not None and not user.is_authenticated:
            await self.close(code=4401)


class MembersOnlyTreatingNoUserAsAnonymous(MembersOnly):  # right: a missing user is nobody known
    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)


class MembersOnlyTellingWhyAfterTheClose(MembersOnly):  # the client never gets it: the connection is closed
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.close(code=4401)
            await self.send_json({"error": "log in first"})


class MembersOnlyClosingWithAStrCode(MembersOnly):  # prints as 4401, is not 4401
    async def connect(self):
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.close(code="4401")


_USERS_BY_TOKEN = {}  # a cache that outlives every connection: a revoked token keeps working


class TokenAuthCachingUsersByToken(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        token = (parse_qs(scope["query_string"].decode()).get("token") or [None])[0]
        if token not in _USERS_BY_TOKEN:
            _USERS_BY_TOKEN[token] = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await super().__call__(dict(scope, user=_USERS_BY_TOKEN[token]), receive, send)


class TokenAuthFindingTokenEqualsAnywhere(BaseMiddleware):  # csrftoken=... and notoken=... match too
    async def __call__(self, scope, receive, send):
        from django.contrib.auth.models import AnonymousUser

        query = scope["query_string"].decode()
        token = query.split("token=")[1].split("&")[0] if "token=" in query else None
        user = await database_sync_to_async(user_for_token)(token) if token else AnonymousUser()
        return await super().__call__(dict(scope, user=user), receive, send)


class MembersOnlyClosingInDisconnect(MembersOnly):  # the talk's bug: the connection is already gone
    async def disconnect(self, code):
        await self.close()


CHECKS = {
    "check_members_only": (
        MembersOnly,
        "close code 4401",
        [
            (MembersOnlyRefusingOutright, "refused outright"),
            (MembersOnlyWithTheWrongCode, "closed with code 1008: the exercise asks for 4401"),
            (MembersOnlyLettingInWhomItCannotTell, "a visitor whose scope had no 'user' at all"),
            (MembersOnlyTellingWhyAfterTheClose, "then sent 'websocket.send'"),
            (MembersOnlyClosingWithAStrCode, "closed with code '4401', a str"),
            (MembersOnlyClosingEveryone, "a logged-in user got"),
            (MembersOnlyTestingTheUserItself, "the user object itself is truthy"),
            (MembersOnlyCallingIsAuthenticated, "is_authenticated is a property"),
            (MembersOnlyNeverAnsweringAnonymous, "got no answer"),
            (MembersOnlyForgettingAwait, "MembersOnlyEcho called close(...) without await"),
            (MembersOnlyDecidingOnTheClass, "never on the class or in a global"),
            (MembersOnlyEchoingTheFirstMessageOnly, "send each message back as it came"),
            (MembersOnlyNotEndingOnDisconnect, "kept running after its client left"),
            (MembersOnlyReadingTheSession, "MembersOnlyEcho raised KeyError: 'session'"),
            (MembersOnlyClosingInDisconnect, "a close() in disconnect()"),
        ],
    ),
    "check_token_auth": (
        TokenAuthMiddleware,
        "ada's token lets her in",
        [
            (TokenAuthWithoutDatabaseSyncToAsync, "database_sync_to_async(user_for_token)"),
            (TokenAuthNeverCallingTheInnerApp, "the consumer was never called"),
            (TokenAuthNotAwaitingSuper, "was called without await"),
            (TokenAuthMutatingTheScope, "make a copy, scope = dict(scope, user=user)"),
            (TokenAuthParsingBytes, "scope['query_string'] is bytes"),
            (TokenAuthSplittingByHand, "not by splitting it by hand"),
            (TokenAuthRaisingOnAMissingToken, "raised KeyError: 'token'"),
            (TokenAuthPuttingTheTokenInTheScope, "was the string 'ada-s3cret'"),
            (TokenAuthWithNoneForAStranger, "is AnonymousUser()"),
            (TokenAuthPassingTheList, "take token[0]"),
            (TokenAuthNotAwaitingTheLookup, "the consumer saw a coroutine as scope['user']"),
            (TokenAuthPassingTheOriginalScope, "pass the copy with the user on to the inner app"),
            (TokenAuthCallingSelfApp, "it keeps the application it wraps as self.inner"),
            (TokenAuthCallingSelfApplication, "it keeps the application it wraps as self.inner"),
            (TokenAuthSplittingOnTokenEquals, "(?token=ada-s3cret&room=lobby), the consumer saw AnonymousUser: read"),
            (TokenAuthKeepingTheUserOnSelf, "your middleware stored self.user"),
            (TokenAuthKeepingTheLastUserInAGlobal, "a global, or an attribute of the class"),
            (TokenAuthKeepingTheUserOnTheClass, "a global, or an attribute of the class"),
            (TokenAuthIndexingTheMissingToken, "is None when the URL has no token"),
            (TokenAuthNotingTheTokenInAGlobal, "arriving at the same time"),
            (TokenAuthTurningStrangersAway, "never called the consumer"),
            (TokenAuthCachingUsersByToken, "her token still served her"),
            (TokenAuthFindingTokenEqualsAnywhere, "matches csrftoken= and notoken= too"),
        ],
    ),
}

OTHER_RIGHT_ANSWERS = [
    ("check_members_only", MembersOnlyAskingIsAnonymous),
    ("check_members_only", MembersOnlyAskingForTheId),
    ("check_members_only", MembersOnlySayingWhyFirst),
    ("check_members_only", MembersOnlyTreatingNoUserAsAnonymous),
    ("check_token_auth", TokenAuthAskingTheQueryStringOnce),
    ("check_token_auth", TokenAuthCopyingTheScope),
    ("check_token_auth", TokenAuthMiddleware),  # a second run in the same process
]

# Answers that raise: the hint names the exception and the learner's own line (its source text).
RAISING = [
    ("check_members_only", MembersOnlyReadingTheSession, "KeyError", 'self.scope["session"]'),
    ("check_members_only", MembersOnlyCallingIsAuthenticated, "TypeError", "is_authenticated()"),
    ("check_token_auth", TokenAuthIndexingTheMissingToken, "TypeError", '.get("token")[0]'),
    ("check_token_auth", TokenAuthRaisingOnAMissingToken, "KeyError", '["token"][0]'),
    ("check_token_auth", TokenAuthCallingSelfApp, "AttributeError", "self.app("),
]


(
    test_the_check_passes_the_solution,
    test_the_check_passes_the_variants_learners_write,
    test_the_check_names_each_mistake,
    test_an_answer_that_raises_gets_a_hint_naming_its_line,
    test_the_check_has_its_wrong_answers_and_correct_variants,
) = table_tests(CHECKS, OTHER_RIGHT_ANSWERS, RAISING)
