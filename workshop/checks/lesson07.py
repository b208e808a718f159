"""Exercise 07, the database: a room that sends its history, a receiver that tells the room after commit.

Both run the learner's code for real: a consumer through a ``WebsocketCommunicator``
on the kernel's database, a ``post_save`` receiver on real saves, committed and rolled
back, heard by echo_project's ``ChamberConsumer``.
"""

from __future__ import annotations

import asyncio
import json

from asgiref.sync import markcoroutinefunction

from ._common import ExerciseHint, not_written, passed, run

ROOM_PATH = r"^room/(?P<room>[A-Za-z0-9_-]+)/$"


# --------------------------------------------------------------------------- the last N messages


def _fill_rooms():
    from echo.models import Message

    Message.objects.filter(room__in=["ex07-garden", "ex07-cellar"]).delete()
    Message.objects.bulk_create([Message(room="ex07-garden", who="ada", message={"n": n}) for n in range(25)])
    Message.objects.bulk_create([Message(room="ex07-cellar", who="eve", message="secret") for _ in range(3)])


async def _first_message(consumer_class, room="ex07-garden"):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.urls import re_path

    await sync_to_async(_fill_rooms)()
    application = URLRouter([re_path(ROOM_PATH, consumer_class.as_asgi())])
    member = WebsocketCommunicator(application, f"/room/{room}/")
    try:
        connected, _ = await member.connect(timeout=2)
    except asyncio.TimeoutError:
        return "no answer", None
    except AssertionError:  # the communicator's own check: something was sent before the accept
        return "sent before accepting", None
    if not connected:
        return "refused", None
    try:
        output = await member.receive_output(timeout=2)
    except asyncio.TimeoutError:
        return "silent", None
    finally:
        await member.disconnect()
    if output["type"] == "websocket.close":
        return "closed", None
    return "sent", json.loads(output["text"])


def check_room_history(consumer_class) -> None:
    """Exercise: on connect, a member receives {"history": [...]}: the room's last 20 messages, oldest first."""
    from django.core.exceptions import SynchronousOnlyOperation

    try:
        what, message = run(_first_message(consumer_class))
    except NotImplementedError:
        raise not_written("HistoryRoom") from None
    except SynchronousOnlyOperation:
        raise ExerciseHint(
            "the ORM was called straight from async code: in an async consumer, use the async ORM "
            "(`async for`, `aget`, ...) or wrap the query in database_sync_to_async"
        ) from None
    except TypeError as error:
        if "coroutine" in str(error):
            raise ExerciseHint(
                "a coroutine was sent instead of the messages: await the database_sync_to_async "
                "call (or the async ORM call)"
            ) from None
        if "not JSON serializable" in str(error):
            raise ExerciseHint(
                f"{error}: send plain dicts, e.g. .values('who', 'message'), not model instances or querysets"
            ) from None
        raise
    if what == "no answer":
        raise ExerciseHint("the connection was never answered: accept it in connect() (await self.accept())")
    if what == "sent before accepting":
        raise ExerciseHint(
            "the history was sent before the connection was accepted: await self.accept() first, then send"
        )
    if what == "refused":
        raise ExerciseHint("the connection was refused: accept it in connect() (await self.accept()) before sending")
    if what in ("silent", "closed"):
        raise ExerciseHint(
            "the member was accepted but received nothing: send {'history': [...]} in connect(), right after accepting"
        )
    if not isinstance(message, dict) or "history" not in message:
        raise ExerciseHint(f"the first message was {message!r}: send {{'history': [...]}}")
    history = message["history"]
    expected = [{"who": "ada", "message": {"n": n}} for n in range(5, 25)]
    if not isinstance(history, list) or not all(isinstance(item, dict) for item in history):
        raise ExerciseHint(f"history must be a list of {{'who': ..., 'message': ...}} dicts, got {history!r:.80}")
    if any(item.get("who") == "eve" for item in history):
        raise ExerciseHint(
            "the history of 'ex07-garden' holds another room's messages: filter by the room in the URL, "
            "self.scope['url_route']['kwargs']['room']"
        )
    if history == expected:
        passed("HistoryRoom works: the last 20 messages of the room, oldest first, and nothing from other rooms")
        return
    if history == expected[::-1]:
        raise ExerciseHint(
            "the right 20 messages, newest first: the page shows them oldest first, reverse them "
            "after taking the newest 20"
        )
    if len(history) == 25:
        raise ExerciseHint("all 25 messages of the room were sent: only the last 20 (order by '-id', then [:20])")
    if history == [{"who": "ada", "message": {"n": n}} for n in range(20)]:
        raise ExerciseHint("these are the *first* 20 messages: take the newest 20 (order by '-id'), then reverse")
    if history and set(history[0]) != {"who", "message"}:
        raise ExerciseHint(f"each item must be exactly {{'who': ..., 'message': ...}}, got {history[0]!r:.80}")
    raise ExerciseHint(f"expected the last 20 messages (n 5 to 24) oldest first, got {history!r:.120}")


# --------------------------------------------------------------------------- a receiver that tells the room


class _Recorded:
    """group_send calls the receiver made, and whether each was awaited."""

    def __init__(self, layer):
        self.calls: list[dict] = []
        self._send = layer.group_send
        # A plain function marked as a coroutine function, as async_to_sync expects of group_send: it records
        # each call when it is made, awaited or not.
        layer.group_send = markcoroutinefunction(lambda group, message: self.group_send(group, message))
        self._layer = layer

    def group_send(self, group, message):
        call = {"group": group, "message": message, "awaited": False}
        self.calls.append(call)
        send = self._send

        class Awaitable:
            def __await__(self):
                call["awaited"] = True
                return send(group, message).__await__()

        return Awaitable()

    def restore(self):
        self._layer.group_send = self._send


async def _listen_while(save_steps, receiver):
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.db.models.signals import post_save

    import echo.routing
    from echo.models import Message

    layer = get_channel_layer()
    recorded = _Recorded(layer)
    post_save.connect(receiver, sender=Message, dispatch_uid="exercise: tell the room")
    member = WebsocketCommunicator(
        URLRouter(echo.routing.websocket_urlpatterns),
        "/chamber/ex07-garden/",
        headers=[(b"origin", b"http://127.0.0.1")],
    )
    heard = []
    try:
        connected, _ = await member.connect(timeout=2)
        assert connected, "echo_project's ChamberConsumer refused the check's member"
        for _ in range(3):  # who it is, the history, its own arrival
            await member.receive_output(timeout=2)
        for step in save_steps:
            await sync_to_async(step, thread_sensitive=False)()
            # receive_nothing waits without cancelling the app, as a timed-out receive_output would
            if await member.receive_nothing(timeout=0.5):
                heard.append(None)
                continue
            output = await member.receive_output()
            heard.append(json.loads(output["text"]) if "text" in output else output)
    finally:
        post_save.disconnect(sender=Message, dispatch_uid="exercise: tell the room")
        recorded.restore()
        await member.disconnect()
    return heard, recorded.calls


def _rolled_back():
    from django.db import transaction

    from echo.models import Message

    try:
        with transaction.atomic():
            Message.objects.create(room="ex07-garden", who="a view", message="free cake")
            raise ValueError("payment declined")
    except ValueError:
        pass


def _committed():
    from echo.models import Message

    Message.objects.create(room="ex07-garden", who="a view", message="cake at four")


def _updated():
    from echo.models import Message

    message = Message.objects.filter(room="ex07-garden", message="cake at four").last()
    message.who = "an editor"
    message.save()


def check_tell_the_room(receiver) -> None:
    """Exercise: a post_save receiver that tells the room about new messages, after commit only."""
    try:
        heard, calls = run(_listen_while([_rolled_back, _committed, _updated], receiver))
    except NotImplementedError:
        raise not_written("tell_the_room") from None
    except ValueError as error:
        if "No handler for message type" in str(error):
            raise ExerciseHint(
                f"{error}: the room's consumer handles events of type 'chamber.message' (its method chamber_message)"
            ) from None
        raise
    except KeyError as error:
        raise ExerciseHint(
            f"the room's consumer needs the event's {error} key: send "
            "{'type': 'chamber.message', 'who': instance.who, 'message': instance.message}"
        ) from None
    rolled_back, committed, updated = heard
    calls = [call for call in calls if call["message"].get("type") != "chamber.presence"]  # the room's own
    if calls and not any(call["awaited"] for call in calls):
        raise ExerciseHint(
            "group_send was called but never run: it is a coroutine function; sync code (a signal "
            "receiver) calls it as async_to_sync(channel_layer.group_send)(group, event)"
        )
    if calls and all(call["group"] != "chamber.ex07-garden" for call in calls):
        raise ExerciseHint(
            f"the event went to the group {calls[0]['group']!r}: the room 'ex07-garden' is the group "
            "'chamber.ex07-garden' (f'chamber.{instance.room}')"
        )
    if rolled_back is not None:
        raise ExerciseHint(
            "the room heard a message that was rolled back: send only after commit, with "
            "transaction.on_commit(lambda: ...)"
        )
    if committed is None:
        raise ExerciseHint(
            "the room heard nothing when a message was saved: call "
            "async_to_sync(get_channel_layer().group_send)('chamber.' + instance.room, event) "
            "inside transaction.on_commit(...)"
        )
    if committed != {"who": "a view", "message": "cake at four"}:
        raise ExerciseHint(f"the room heard {committed!r}, expected {{'who': 'a view', 'message': 'cake at four'}}")
    if updated is not None:
        raise ExerciseHint(
            "the room heard the message again when it was edited: tell it about new rows only "
            "(the receiver's `created` argument)"
        )
    passed("tell_the_room works: new messages reach the room after commit, rolled-back and edited ones do not")
