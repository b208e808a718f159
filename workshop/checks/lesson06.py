"""Exercise 06, Redis: sync code (a management command, a cron job) speaks in a room through the layer.

Sync code reaches the async channel layer through ``async_to_sync``, as Channels'
docs show under "Using Outside Of Consumers". The check calls the learner's
``announce(room, text)`` from a plain thread, as a management command would run
it: first against an in-memory layer that records every call (for a precise
hint), then for real, through a real redis-server, to a member connected to
echo_project served by uvicorn in another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json

from ..clients import connect_ws
from ..project import serve_echo_project
from ..redis_server import serve_redis
from ._common import ExerciseHint, in_a_plain_thread, not_written, passed, run, unawaited_coroutines

_ROOM, _TEXT = "garden", "tea is ready"
_GROUP = f"chamber.{_ROOM}"
_EVENT = {"type": "chamber.message", "who": "announcer", "message": {"text": _TEXT}}
_LAYER_METHODS = ("group_send", "send", "group_add")


@contextlib.contextmanager
def _channel_layer(config: dict):
    """Inside the block, the default channel layer is one built from ``config``; answer it.

    ``get_channel_layer()`` answers it, and so does the layer that ``get_channel_layer()``
    gave before (code may keep it in a variable, as a management command module does):
    its sending methods are handed to the new layer, recorded (see ``_recording``). The
    earlier layer is the default again afterwards.
    """
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer
    from django.conf import settings
    from django.test import override_settings

    from ..django_setup import configure_django

    if not settings.configured:
        configure_django()
    earlier = get_channel_layer()
    try:
        with override_settings(CHANNEL_LAYERS={DEFAULT_CHANNEL_LAYER: config}):  # Channels drops cached layers
            layer = get_channel_layer()
            with _recording([layer] + ([earlier] if earlier is not None else []), layer) as calls:
                yield calls
    finally:
        if earlier is not None:
            channel_layers.backends[DEFAULT_CHANNEL_LAYER] = earlier


@contextlib.contextmanager
def _recording(layers, target):
    """Record each call of the sending methods of ``layers``, carried out by ``target``, and whether it ran."""
    from asgiref.sync import markcoroutinefunction

    calls = []

    def recording(name):
        original = getattr(target, name)

        def call(*args, **kwargs):
            record = {"method": name, "args": args, "awaited": False}
            calls.append(record)

            async def sending():
                record["awaited"] = True
                return await original(*args, **kwargs)

            return sending()

        return markcoroutinefunction(call)

    for layer in layers:
        for name in _LAYER_METHODS:
            setattr(layer, name, recording(name))
    try:
        yield calls
    finally:
        for layer in layers:
            for name in _LAYER_METHODS:
                with contextlib.suppress(AttributeError):
                    delattr(layer, name)


def _call(announce):
    try:
        in_a_plain_thread(announce, _ROOM, _TEXT)
    except NotImplementedError:
        raise not_written("announce") from None
    except TypeError as error:
        if "Group name must be" in str(error) or "Channel name must be" in str(error):
            raise ExerciseHint(
                "the group name was refused: names may hold only ASCII letters, digits, '-', "
                "'_' and '.', and are shorter than 100 characters, so use 'chamber.' + room, as "
                "ChamberConsumer does"
            ) from None
        raise ExerciseHint(f"announce raised TypeError: {error}") from None
    except RuntimeError as error:
        if "event loop" in str(error):
            raise ExerciseHint(
                f"announce raised RuntimeError: {error}. Call async_to_sync(channel_layer."
                "group_send)(group, event) from plain sync code, not asyncio's loop"
            ) from None
        raise ExerciseHint(f"announce raised RuntimeError: {error}") from None


def _hint_from_calls(calls) -> None:
    sends = [c for c in calls if c["method"] in ("group_send", "send")]
    if not sends:
        raise ExerciseHint(
            "announce sent nothing through get_channel_layer(): call "
            "async_to_sync(channel_layer.group_send)(group, event) with "
            "channel_layer = get_channel_layer()"
        )
    call = sends[0]
    if call["method"] == "send":
        raise ExerciseHint(
            f"announce used channel_layer.send({call['args'][0]!r}, ...), which reaches one "
            "channel: a room is a group, so use group_send"
        )
    if not call["awaited"]:
        raise ExerciseHint(
            "channel_layer.group_send(...) made a coroutine that nobody ran, so nothing was sent: "
            "from sync code, wrap it, async_to_sync(channel_layer.group_send)(group, event)"
        )
    group, event = (list(call["args"]) + [None, None])[:2]
    if group != _GROUP:
        raise ExerciseHint(
            f"announce sent to the group {group!r}: ChamberConsumer's members join 'chamber.' + room, here {_GROUP!r}"
        )
    if not isinstance(event, dict) or event.get("type") != "chamber.message":
        kind = event.get("type") if isinstance(event, dict) else event
        raise ExerciseHint(
            f"the event's type was {kind!r}: it must be 'chamber.message', which Channels hands "
            "to ChamberConsumer.chamber_message (dots become underscores)"
        )
    if event != _EVENT:
        raise ExerciseHint(
            f"the event was {event}, expected {_EVENT}: chamber_message sends the member "
            "{'who': event['who'], 'message': event['message']}"
        )


def check_announce(announce) -> None:
    """Exercise 06: sync announce(room, text) reaches a chamber's members in another process, through Redis."""
    if not callable(announce):
        raise ExerciseHint(f"pass the function itself: check_announce(announce), not {announce!r}")
    if inspect.iscoroutinefunction(announce):
        raise ExerciseHint(
            "announce is an async def, but a management command or a cron job is sync code: "
            "write def announce(room, text) and call async_to_sync(channel_layer.group_send)(...)"
        )
    with _channel_layer({"BACKEND": "channels.layers.InMemoryChannelLayer"}) as calls, unawaited_coroutines():
        _call(announce)
    _hint_from_calls(calls)

    with (
        serve_redis(name="check_announce redis") as redis,
        serve_echo_project({"REDIS_URL": redis.redis_url}, name="check_announce echo_project") as project,
    ):

        async def member():
            async with connect_ws(project.ws_url(f"chamber/{_ROOM}/")) as websocket:
                for _ in range(3):  # its name, the room's history, its own arrival
                    await websocket.recv()
                with _channel_layer(
                    {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis.redis_url]}}
                ):
                    await asyncio.to_thread(_call, announce)
                try:
                    return json.loads(await asyncio.wait_for(websocket.recv(), 2))
                except (asyncio.TimeoutError, TimeoutError):
                    return None

        heard = run(member())
    expected = {"who": "announcer", "message": {"text": _TEXT}}
    if heard != expected:
        raise ExerciseHint(
            f"a member of room {_ROOM!r}, on a server in another process, heard {heard}, expected {expected}"
        )
    passed(
        f"announce works: from sync code, through Redis, a member of room {_ROOM!r} in another process heard {_TEXT!r}"
    )
