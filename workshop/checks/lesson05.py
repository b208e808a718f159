"""Exercise 05, groups: a lobby that announces arrivals and broadcasts what members say."""

from __future__ import annotations

import asyncio
import json

from ._common import (
    SHORT,
    ExerciseHint,
    connect,
    missing_await_hint,
    next_output,
    not_written,
    passed,
    run,
    unawaited_coroutines,
)

# What Bob sends: the text, plus fields a hostile client adds to pass for someone else or to smuggle data.
_BOBS_MESSAGE = {"text": "hi", "who": "mallory", "type": "lobby.joined", "colour": "red"}


async def _next_json(communicator, skip_joins=False):
    while True:
        output = await next_output(communicator)
        if output is None:
            return None
        if output["type"] == "websocket.close":
            return ("closed", output.get("code"))
        message = json.loads(output["text"])
        if not (skip_joins and "joined" in message):
            return message


async def _lobby_conversation(consumer_class):
    """Ada and Bob join; Bob speaks; both leave. Answers what they heard, the group events, the group after."""
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    layer = get_channel_layer()
    await layer.flush()  # start from an empty in-memory layer, in this loop
    events = []
    group_send = layer.group_send

    async def recording_group_send(group, message):
        events.append((group, dict(message)))
        await group_send(group, message)

    layer.group_send = recording_group_send
    application = consumer_class.as_asgi()
    ada = WebsocketCommunicator(application, "/lobby/?name=ada")
    bob = WebsocketCommunicator(application, "/lobby/?name=bob")
    heard = {"ada": [], "bob": None, "events": events, "left_behind": None}
    started = []
    try:
        for member in (ada, bob):
            started.append(member)
            connected, _ = await connect(member)
            if not connected:
                heard["refused"] = connected
                return heard
        heard["ada"] = [await _next_json(ada)]  # ada joined
        if heard["ada"][0] is None:
            return heard  # no need to wait for more
        heard["ada"].append(await _next_json(ada))  # bob joined
        await bob.send_json_to(_BOBS_MESSAGE)
        heard["bob"] = await _next_json(bob, skip_joins=True)
        heard["ada"].append(await _next_json(ada))
    finally:
        running = [member.future for member in started if not member.future.done()]
        for member in started:
            if member.future in running:
                await member.send_input({"type": "websocket.disconnect", "code": 1000})
        if running:
            await asyncio.wait(running, timeout=SHORT)  # a consumer ends when its client has left
        heard["still_running"] = sum(not future.done() for future in running)
        for future in running:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        heard["left_behind"] = len(getattr(layer, "groups", {}).get("lobby", {}))
        del layer.group_send
        await layer.flush()
    return heard


def check_lobby_consumer(consumer_class) -> None:
    """Exercise 05: a lobby that announces arrivals and broadcasts what members say."""
    try:
        with unawaited_coroutines() as unawaited:
            heard = run(_lobby_conversation(consumer_class))
    except NotImplementedError:
        raise not_written("LobbyConsumer") from None
    except ValueError as error:
        if "No handler for message type" in str(error):
            kind = str(error).rsplit(" ", 1)[-1]
            method = kind.replace(".", "_")
            raise ExerciseHint(
                f"a group event of type {kind!r} needs a method named {method}(self, event) "
                "on the consumer: the type, dots replaced by underscores"
            ) from None
        raise ExerciseHint(f"the consumer raised ValueError: {error}") from None
    except RuntimeError as error:
        if "AsyncToSync" in str(error):
            raise ExerciseHint(
                "async_to_sync is for sync code; in an async consumer await the layer's "
                "methods directly: await self.channel_layer.group_send(...)"
            ) from None
        raise ExerciseHint(f"the consumer raised RuntimeError: {error}") from None
    except KeyError as error:
        raise ExerciseHint(
            f"the consumer raised KeyError: {error}. A handler gets the event dict you "
            "group_send: read the fields you put in it"
        ) from None
    if unawaited:
        raise missing_await_hint(unawaited, "LobbyConsumer")
    if "refused" in heard:
        raise ExerciseHint(
            "the connection was refused: accept it in connect() (await self.accept())"
            if heard["refused"] is False
            else "the handshake got no answer: connect() must call await self.accept()"
        )
    joins = heard["ada"][:2]
    if joins and isinstance(joins[0], dict) and str(joins[0].get("joined", "")).startswith(("name=", "b'")):
        raise ExerciseHint(
            f"Ada heard {joins[0]}: the query string is the bytes b'name=ada'; parse it, "
            "parse_qs(self.scope['query_string'].decode())['name'][0]"
        )
    if joins != [{"joined": "ada"}, {"joined": "bob"}]:
        raise ExerciseHint(
            f"Ada heard {joins} as Ada then Bob arrived, expected [{{'joined': 'ada'}}, "
            "{'joined': 'bob'}]: in connect(), group_add the channel and accept *before* "
            "group_send-ing the arrival (and read the name from the query string)"
        )
    said = [event for group, event in heard["events"] if "hi" in json.dumps(event)]
    if any("colour" in json.dumps(event) for event in said):
        raise ExerciseHint(
            f"Bob's whole message went into the group event {said[0]}: copy only the fields you "
            "expect, {'type': 'lobby.say', 'who': self.who, 'text': content['text']}, so a client "
            "cannot add or overwrite fields"
        )
    bob_heard, ada_heard = heard["bob"], heard["ada"][2]
    if any(isinstance(m, dict) and m.get("who") == "mallory" for m in (bob_heard, ada_heard)):
        raise ExerciseHint(
            "Bob sent 'who': 'mallory' and the lobby believed him: take the name from the "
            "connection (self.who), never from the client's message"
        )
    if bob_heard != {"who": "bob", "text": "hi"}:
        raise ExerciseHint(f"Bob said 'hi' and heard {bob_heard}, expected {{'who': 'bob', 'text': 'hi'}}")
    if ada_heard != {"who": "bob", "text": "hi"}:
        raise ExerciseHint(
            f"Bob said 'hi' and Ada heard {ada_heard}: only the sender got it? Send to the "
            "group with self.channel_layer.group_send('lobby', ...), not with send_json"
        )
    if heard["still_running"]:
        raise ExerciseHint(
            "after the clients left, the consumer kept running: if you override "
            "websocket_disconnect, call super().websocket_disconnect(message), which ends the "
            "consumer; or override disconnect(self, close_code) instead"
        )
    if heard["left_behind"]:
        raise ExerciseHint(
            f"after Ada and Bob left, the group 'lobby' still held {heard['left_behind']} "
            "channel(s): group_discard in disconnect(), or messages pile up for nobody"
        )
    passed("LobbyConsumer works: arrivals announced, 'hi' from Bob reached Ada and Bob, the group emptied")
