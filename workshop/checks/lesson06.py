"""Exercise 06, Redis: sync code (a cron job, a management command) speaks in several rooms through the layer.

``check_announce(announce)``, the requirements of ``announce(rooms, text)``:

- R1 it is plain sync code, as a cron job or a management command runs it (called from a thread with no
  event loop);
- R2 every room in ``rooms`` hears ``{"who": "announcer", "message": {"text": text}}``, once: an event of
  type ``"chamber.message"`` (or ``"chamber_message"``: Channels routes both to ``chamber_message``) sent to
  the group ``"chamber." + room``, which ChamberConsumer's members join; a room not in the list hears
  nothing; an empty list sends nothing; room names are used as they are (the route allows capitals, and
  a group name is case-sensitive);
- R3 the layer's coroutines run (through ``async_to_sync``);
- R4 one call runs one event loop, whatever the number of rooms: each ``async_to_sync`` call from sync
  code starts a thread with an event loop of its own, and channels_redis opens a Redis connection per loop.
  Measured: the check notes the loop each send runs in;
- R5 for real: through a real redis-server, members connected to echo_project in another process hear it.

Rooms and text are ones the exercise never shows. The first probe runs on an in-memory layer that records
each send (group, event, whether it ran, its event loop); the second through Redis. A table of
(condition, hint) rules names the first requirement broken; any exception becomes a hint naming the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import secrets

from ..clients import connect_ws
from ..project import serve_echo_project
from ..redis_server import serve_redis
from ._common import ExerciseHint, diagnose, in_a_plain_thread, learner_code, passed, run, unawaited_coroutines

_LAYER_METHODS = ("group_send", "send", "group_add")
_TYPES = ("chamber.message", "chamber_message")  # Channels' get_handler_name turns dots into underscores


@contextlib.contextmanager
def _channel_layer(config: dict):
    """Inside the block, the default channel layer is one built from ``config``; answer its recorded sends.

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
    """Record each call of the sending methods of ``layers``, carried out by ``target``: whether it ran, and where."""
    from asgiref.sync import markcoroutinefunction

    calls = []
    originals = {name: getattr(target, name) for name in _LAYER_METHODS}  # before any is replaced

    def recording(name):
        original = originals[name]

        def call(*args, **kwargs):
            record = {"method": name, "args": args, "awaited": False, "loop": None}
            calls.append(record)

            async def sending():
                record["awaited"] = True
                record["loop"] = asyncio.get_running_loop()  # kept: a freed loop's id may be reused
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


_ADVICE = [
    (
        lambda e: isinstance(e, TypeError) and ("Group name must be" in str(e) or "Channel name must be" in str(e)),
        "Group names may hold only ASCII letters, digits, '-', '_' and '.', and are shorter than 100 "
        "characters: send to 'chamber.' + room for each room in rooms, as ChamberConsumer names its group",
    ),
    (
        lambda e: isinstance(e, RuntimeError) and "event loop" in str(e),
        "Call async_to_sync(...) from plain sync code, not inside asyncio's loop",
    ),
    (
        lambda e: isinstance(e, AttributeError) and "'function' object" in str(e),
        "get_channel_layer is a function: call it, get_channel_layer().group_send",
    ),
]


def _recorded_probe(announce, rooms, text):
    """announce(rooms, text) and announce([], text) on a recording in-memory layer: what was sent, and how."""
    with _channel_layer({"BACKEND": "channels.layers.InMemoryChannelLayer"}) as calls, unawaited_coroutines():
        in_a_plain_thread(announce, list(rooms), text)
        told = list(calls)
        in_a_plain_thread(announce, [], text)
    return {"calls": told, "after_empty": calls[len(told) :], "rooms": rooms, "text": text}


def _sends(f):
    return [c for c in f["calls"] if c["method"] in ("group_send", "send")]


def _events(f):
    return [(list(c["args"]) + [None, None])[:2] for c in _sends(f) if c["method"] == "group_send"]


def _expected_groups(f):
    return sorted(f"chamber.{room}" for room in f["rooms"])


def _bad_type(f):
    return next(
        (
            e.get("type") if isinstance(e, dict) else e
            for _, e in _events(f)
            if not isinstance(e, dict) or e.get("type") not in _TYPES
        ),
        None,
    )


def _loops(f):
    return len({c["loop"] for c in _sends(f)})


_RULES = [
    (
        lambda f: not _sends(f),
        "announce sent nothing through get_channel_layer(): for each room, "
        "group_send('chamber.' + room, event) on channel_layer = get_channel_layer(), run from sync code "
        "through async_to_sync",
    ),
    (
        lambda f: any(c["method"] == "send" for c in _sends(f)),
        lambda f: (
            f"announce used channel_layer.send({_sends(f)[0]['args'][0]!r}, ...), which reaches one "
            "channel: a room is a group, so use group_send"
        ),
    ),
    (
        lambda f: not any(c["awaited"] for c in _sends(f)),
        "channel_layer.group_send(...) made a coroutine that nobody ran, so nothing was sent: "
        "from sync code, wrap it, async_to_sync(channel_layer.group_send)(group, event), or await it "
        "inside one async function that you call through async_to_sync",
    ),
    (
        lambda f: any(not str(group).startswith("chamber.") for group, _ in _events(f)),
        lambda f: (
            f"announce sent to the group {next(g for g, _ in _events(f) if not str(g).startswith('chamber.'))!r}: "
            "ChamberConsumer's members join 'chamber.' + room"
        ),
    ),
    (
        lambda f: (
            sorted(group for group, _ in _events(f)) != _expected_groups(f)
            and sorted(str(group).lower() for group, _ in _events(f)) == sorted(g.lower() for g in _expected_groups(f))
        ),
        lambda f: (
            f"for the rooms {f['rooms']} announce sent to the groups {[g for g, _ in _events(f)]}: a group name "
            "is case-sensitive, and a room's members join 'chamber.' + room as the URL spells it; use the room "
            "name as it is (no lower(), no upper())"
        ),
    ),
    (
        lambda f: sorted(group for group, _ in _events(f)) != _expected_groups(f),
        lambda f: (
            f"for the rooms {f['rooms']} announce sent to the groups {[g for g, _ in _events(f)]}: "
            "send once to 'chamber.' + room for every room in rooms"
        ),
    ),
    (
        _bad_type,
        lambda f: (
            f"the event's type was {_bad_type(f)!r}: it must be 'chamber.message', which Channels hands "
            "to ChamberConsumer.chamber_message (dots become underscores)"
        ),
    ),
    (
        lambda f: any(
            {k: v for k, v in e.items() if k != "type"} != {"who": "announcer", "message": {"text": f["text"]}}
            for _, e in _events(f)
        ),
        lambda f: (
            f"the event was {_events(f)[0][1]}, expected {{'type': 'chamber.message', 'who': 'announcer', "
            f"'message': {{'text': {f['text']!r}}}}}: chamber_message sends the member "
            "{'who': event['who'], 'message': event['message']}"
        ),
    ),
    (
        lambda f: not all(c["awaited"] for c in _sends(f)),
        "some group_send(...) calls made coroutines that nobody ran: await every one of them",
    ),
    (
        lambda f: _loops(f) > 1,
        lambda f: (
            f"announce ran {_loops(f)} event loops for {len(f['rooms'])} rooms: each async_to_sync call "
            "from sync code starts a thread with an event loop of its own, and channels_redis opens a Redis "
            "connection for each loop. Put the sends in one async function (await group_send for each room) "
            "and call it once: async_to_sync(to_every_room)()"
        ),
    ),
    (
        lambda f: f["after_empty"],
        "announce([], text) sent something: with no rooms, send nothing",
    ),
]


async def _members_hear(project, rooms, silent_room, announce, text, redis_url):
    """Members of ``rooms`` and of ``silent_room`` on echo_project; announce; answer what each heard."""
    async with contextlib.AsyncExitStack() as stack:
        members = {}
        for room in [*rooms, silent_room]:
            websocket = await stack.enter_async_context(connect_ws(project.ws_url(f"chamber/{room}/")))
            for _ in range(3):  # its name, the room's history, its own arrival
                await websocket.recv()
            members[room] = websocket
        with _channel_layer(
            {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
        ) as calls:
            await asyncio.to_thread(announce, list(rooms), text)  # a thread with no event loop, as a command

        async def heard(room, wait):
            try:
                return json.loads(await asyncio.wait_for(members[room].recv(), wait))
            except (asyncio.TimeoutError, TimeoutError):
                return None

        told = await asyncio.gather(*(heard(room, 2) for room in rooms))
        quiet = await heard(silent_room, 0.2)  # after the others heard: a send to it would be there by now
        return {
            "heard": dict(zip(rooms, told, strict=True)),
            "silent room": quiet,
            "loops": len({c["loop"] for c in calls}),
        }


def check_announce(announce) -> None:
    """Exercise 06: sync announce(rooms, text) reaches each room's members in another process, through Redis."""
    if not callable(announce):
        raise ExerciseHint(f"pass the function itself: check_announce(announce), not {announce!r}")
    if inspect.iscoroutinefunction(announce):
        raise ExerciseHint(
            "announce is an async def, but a management command or a cron job is sync code: "
            "write def announce(rooms, text) and call async_to_sync(...) inside it"
        )
    # names as the room route allows them ([A-Za-z0-9_-]): capitals, digits, '_' and '-'; a group name is
    # case-sensitive, so 'Hall-1' and 'hall-1' are two rooms
    rooms = [f"Hall-{secrets.token_hex(2)}", f"lab_{secrets.token_hex(2).upper()}", f"attic{secrets.token_hex(2)}"]
    text = f"closing at {secrets.randbelow(4) + 5} pm"
    with learner_code("announce", _ADVICE):
        facts = _recorded_probe(announce, rooms, text)
    diagnose(facts, _RULES)

    listened, silent = rooms[:2], f"cellar-{secrets.token_hex(2)}"
    with (
        serve_redis(name="check_announce redis") as redis,
        serve_echo_project({"REDIS_URL": redis.redis_url}, name="check_announce echo_project") as project,
        learner_code("announce", _ADVICE),
    ):
        real = run(_members_hear(project, listened, silent, announce, text, redis.redis_url))
    expected = {"who": "announcer", "message": {"text": text}}
    diagnose(
        real,
        [
            (
                lambda r: any(heard != expected for heard in r["heard"].values()),
                lambda r: (
                    f"members of the rooms {listened}, on a server in another process, heard "
                    f"{list(r['heard'].values())}, expected {expected} each"
                ),
            ),
            (
                lambda r: r["silent room"] is not None,
                lambda r: f"a member of {silent!r}, a room not in the list, heard {r['silent room']}",
            ),
        ],
    )
    passed(
        f"announce works: from sync code, one event loop for {len(rooms)} rooms; through Redis, members of "
        "2 rooms in another process heard it, and a room not in the list did not"
    )
