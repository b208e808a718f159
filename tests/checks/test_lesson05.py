"""Exercise 05's check: a lobby that announces arrivals and broadcasts what members say."""

from urllib.parse import parse_qs, parse_qsl

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tests.checks import answer_tests

# --------------------------------------------------------------------------- right answers


class Lobby(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.who = parse_qs(self.scope["query_string"].decode()).get("name", ["guest"])[0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})

    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send("lobby", {"type": "lobby.say", "who": self.who, "text": content["text"]})

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard("lobby", self.channel_name)

    async def lobby_joined(self, event):
        await self.send_json({"joined": event["who"]})

    async def lobby_say(self, event):
        await self.send_json({"who": event["who"], "text": event["text"]})


class LobbyWithParseQsl(Lobby):
    async def connect(self):
        self.name = dict(parse_qsl(self.scope["query_string"].decode())).get("name") or "guest"
        self.who = self.name
        await self.accept()
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.name})


class LobbyWithAGroupName(AsyncJsonWebsocketConsumer):
    group = "lobby"  # a constant on the class is fine: it is the same for everyone

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("utf-8"))
        self.member = query["name"][0] if "name" in query else "guest"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.channel_layer.group_send(self.group, {"type": "lobby.joined", "name": self.member})

    async def receive_json(self, content, **kwargs):
        text = str(content.get("text", ""))
        await self.channel_layer.group_send(self.group, {"type": "lobby.say", "name": self.member, "text": text})

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def lobby_joined(self, event):
        await self.send_json({"joined": event["name"]})

    async def lobby_say(self, event):
        await self.send_json({"who": event["name"], "text": event["text"]})


class LobbyCallingSuperOnDisconnect(Lobby):
    async def websocket_disconnect(self, message):
        await self.channel_layer.group_discard("lobby", self.channel_name)
        await super().websocket_disconnect(message)


# --------------------------------------------------------------------------- wrong answers


class LobbyWithoutGroup(Lobby):
    async def connect(self):
        self.who = parse_qs(self.scope["query_string"].decode()).get("name", ["guest"])[0]
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyAnsweringOnlyTheSender(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.send_json({"who": self.who, "text": content["text"]})


class LobbyWithAnUnhandledType(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send("lobby", {"type": "lobby.message", "who": self.who, "text": "x"})


class LobbyCopyingTheWholeMessage(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send("lobby", {**content, "type": "lobby.say", "who": self.who})


class LobbyBelievingTheClient(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(
            "lobby", {"type": "lobby.say", "who": content.get("who", self.who), "text": content["text"]}
        )


class LobbyWithAsyncToSync(Lobby):
    async def receive_json(self, content, **kwargs):
        from asgiref.sync import async_to_sync

        async_to_sync(self.channel_layer.group_send)(
            "lobby", {"type": "lobby.say", "who": self.who, "text": content["text"]}
        )


class LobbyForgettingAwait(Lobby):
    async def receive_json(self, content, **kwargs):
        self.channel_layer.group_send("lobby", {"type": "lobby.say", "who": self.who, "text": content["text"]})


class LobbyNeverLeaving(Lobby):
    async def disconnect(self, close_code):
        pass


class LobbyNotEndingOnDisconnect(Lobby):
    async def websocket_disconnect(self, message):
        await self.channel_layer.group_discard("lobby", self.channel_name)


class LobbyWithTheRawQueryString(Lobby):
    async def connect(self):
        self.who = self.scope["query_string"].decode()
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbySplittingByHand(Lobby):  # right for ada and bob; not for a name the browser percent-encodes
    async def connect(self):
        query = self.scope["query_string"].decode()
        self.who = query.split("=")[1] if "=" in query else "guest"
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyWithTheNameOnTheClass(Lobby):
    async def connect(self):
        LobbyWithTheNameOnTheClass.who = parse_qs(self.scope["query_string"].decode()).get("name", ["guest"])[0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyIndexingTheQueryString(Lobby):
    async def connect(self):
        self.who = self.scope["query_string"]["name"]
        await super().connect()


class LobbyParsingBytes(Lobby):
    async def connect(self):
        self.who = parse_qs(self.scope["query_string"])["name"][0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyParsingBytesWithADefault(Lobby):  # never crashes, and everyone is a guest
    async def connect(self):
        self.who = parse_qs(self.scope["query_string"]).get("name", ["guest"])[0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyRequiringAName(Lobby):  # crashes on /lobby/
    async def connect(self):
        self.who = parse_qs(self.scope["query_string"].decode())["name"][0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyClosingOnDisconnect(Lobby):  # the talk's bug
    async def disconnect(self, close_code):
        await self.channel_layer.group_discard("lobby", self.channel_name)
        await self.close()


class LobbyAnnouncingBeforeJoining(Lobby):
    async def connect(self):
        self.who = parse_qs(self.scope["query_string"].decode()).get("name", ["guest"])[0]
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})
        await self.channel_layer.group_add("lobby", self.channel_name)


LAST_NAME = {"who": None}


class LobbyRememberingTheNameInAGlobal(Lobby):
    async def connect(self):
        LAST_NAME["who"] = parse_qs(self.scope["query_string"].decode()).get("name", ["guest"])[0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": LAST_NAME["who"]})

    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(
            "lobby", {"type": "lobby.say", "who": LAST_NAME["who"], "text": content["text"]}
        )


class LobbyAnnouncingLeavesButStaying(Lobby):
    async def disconnect(self, close_code):
        await self.channel_layer.group_send("lobby", {"type": "lobby.say", "who": self.who, "text": "left"})


class LobbyAnsweringTheSenderTwice(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.send_json({"who": self.who, "text": content["text"]})
        await super().receive_json(content, **kwargs)


class LobbyReadingAnotherField(Lobby):
    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(
            "lobby", {"type": "lobby.say", "who": self.who, "text": content.get("message")}
        )


# --------------------------------------------------------------------------- the tables


class LobbyCallingTheNamelessAnonymous(Lobby):  # the text says "guest"
    async def connect(self):
        self.who = parse_qs(self.scope["query_string"].decode()).get("name", ["anonymous"])[0]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyUnquotingByHand(Lobby):  # decodes %C3%A9, but not a + and not a second parameter
    async def connect(self):
        from urllib.parse import unquote

        query = self.scope["query_string"].decode()
        self.who = unquote(query.split("=", 1)[1]) if "=" in query else "guest"
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyUnquotingPlusButTakingTheRest(Lobby):  # a + becomes a space, but &lang=en stays in the name
    async def connect(self):
        from urllib.parse import unquote_plus

        query = self.scope["query_string"].decode()
        self.who = unquote_plus(query.split("=", 1)[1]) if "=" in query else "guest"
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyInADefaultArgument(Lobby):  # every member's name in connect's default dict, never cleaned up
    async def connect(self, _names={}):  # noqa: B006 (the mistake under test)
        _names[self.channel_name] = parse_qs(self.scope["query_string"].decode()).get("name", ["guest"])[0]
        self.who = _names[self.channel_name]
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


class LobbyWithQueryDict(Lobby):  # a right variant: Django's QueryDict parses the same way
    async def connect(self):
        from django.http import QueryDict

        self.who = QueryDict(self.scope["query_string"]).get("name", "guest")
        await self.channel_layer.group_add("lobby", self.channel_name)
        await self.accept()
        await self.channel_layer.group_send("lobby", {"type": "lobby.joined", "who": self.who})


RIGHT = [Lobby, LobbyWithParseQsl, LobbyWithAGroupName, LobbyCallingSuperOnDisconnect, LobbyWithQueryDict]

WRONG = [
    (LobbyWithoutGroup, "group_add the channel and accept *before* group_send-ing"),
    (LobbyAnsweringOnlyTheSender, "only the sender got it"),
    (LobbyWithAnUnhandledType, "needs a method named lobby_message(self, event)"),
    (LobbyCopyingTheWholeMessage, "Bob's message went into the group event"),
    (LobbyBelievingTheClient, "never from the client's message"),
    (LobbyWithAsyncToSync, "async_to_sync is for sync code"),  # django/channels#1194
    (LobbyForgettingAwait, "group_send(...) without await"),
    (LobbyNeverLeaving, "group_discard in disconnect()"),
    (LobbyWithTheRawQueryString, "parse it"),
    (LobbyNotEndingOnDisconnect, "call super().websocket_disconnect(message)"),
    (LobbySplittingByHand, "splitting by hand does not"),
    (LobbyWithTheNameOnTheClass, "Keep it on self"),
    (LobbyIndexingTheQueryString, "raised TypeError: byte indices must be integers"),
    (LobbyParsingBytes, "parse_qs of bytes has bytes keys"),
    (LobbyParsingBytesWithADefault, "decode it before parsing"),
    (LobbyRequiringAName, "a member without a name"),
    (LobbyClosingOnDisconnect, "no self.close()) in disconnect()"),
    (LobbyAnnouncingBeforeJoining, "accept *before* group_send-ing the arrival"),
    (LobbyRememberingTheNameInAGlobal, "Keep it on self"),
    (LobbyAnnouncingLeavesButStaying, "group_discard in disconnect()"),
    (LobbyAnsweringTheSenderTwice, "a member heard Bob's 'hi' twice"),
    (LobbyReadingAnotherField, "Bob heard {'who': 'bob', 'text': None}"),
    (LobbyCallingTheNamelessAnonymous, "joins as exactly 'guest'"),
    (LobbyUnquotingByHand, "a + is a space"),
    (LobbyUnquotingPlusButTakingTheRest, "may hold more parameters than name (&lang=en)"),
    (LobbyInADefaultArgument, "outside its connections (LobbyInADefaultArgument.connect(_names=...))"),
]


RAISING = [
    (LobbyIndexingTheQueryString, 'self.who = self.scope["query_string"]["name"]'),
    (LobbyParsingBytes, 'self.who = parse_qs(self.scope["query_string"])["name"][0]'),
    (LobbyRequiringAName, 'self.who = parse_qs(self.scope["query_string"].decode())["name"][0]'),
]

(
    test_a_right_answer_passes_twice_in_one_kernel,
    test_a_wrong_answer_gets_its_hint,
    test_an_exception_in_the_answer_is_a_hint_naming_its_line,
    test_each_check_has_eight_wrong_answers_and_three_right_ones,
) = answer_tests(RIGHT, WRONG, RAISING, check="check_lobby_consumer")
