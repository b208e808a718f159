"""Exercise 07, the database: a room that sends its history, a receiver that tells the room after commit.

``check_room_history(HistoryRoom)``, the requirements:

- R1 a member is accepted, then its first message is ``{"history": [...]}``;
- R2 the history is the room's last 20 messages, oldest first, each exactly ``{"who": ..., "message": ...}``;
- R3 only the room in the URL (``scope["url_route"]["kwargs"]["room"]``), whatever it holds: a room never
  shown, with fewer than 20 messages, gets all of them;
- R4 two members of different rooms connected at once each get their own room's history;
- R5 the history is read on every connect: a message saved (through the ORM) after earlier visits is the
  last item a newcomer gets (nothing cached across connections, an ``lru_cache`` included);
- R6 after the history the connection stays open (the member came to chat): no close within a short wait;
- R7 the consumer ends when its member leaves, and sends nothing after.

``check_tell_the_room(tell_the_room)``, the requirements:

- R1 a new message, once committed, reaches its room's members as ``{"who": ..., "message": ...}``;
- R2 a message rolled back never reaches the room;
- R3 a message committed inside ``transaction.atomic()`` reaches it, once the block commits;
- R4 an edit of a message is not announced again;
- R5 a message reaches its own room only (a room the text never shows, and not another);
- R6 the layer's group_send runs (through async_to_sync), by the time the commit returns (not later, from a
  thread of its own);
- R7 the event is exactly ``{"type": "chamber.message", "who": instance.who, "message": instance.message}``:
  a JSON object stays an object (no ``str()``).

The receiver's saves are noted as it is told of them (the step, the row's pk, ``created``), and each
group_send as it is made, so a silence is diagnosed by what happened: nothing sent, sent late, or a pk
that a rolled-back row had before.

Both run the learner's code for real on the kernel's database: a consumer through a ``WebsocketCommunicator``,
a ``post_save`` receiver on real saves heard by echo_project's ``ChamberConsumer``. Probes collect facts,
a table of (condition, hint) rules names the first requirement broken, and any exception from the learner's
code becomes a hint naming their line.

Over 400 lines: two exercises' specifications, each requirement with its probe and its hint rule, kept in one
file so it says everything the checks ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading

from asgiref.sync import markcoroutinefunction

from ._common import (
    ENDED,
    SHORT,
    ExerciseHint,
    diagnose,
    end_conversation,
    hint_for,
    is_learners_code,
    learner_code,
    next_event,
    passed,
    run,
    unawaited_coroutines,
    where,
)

ROOM_PATH = r"^room/(?P<room>[A-Za-z0-9_-]+)/$"


# --------------------------------------------------------------------------- the last N messages


def _fill_rooms(unseen: str, unseen_rows: list):
    from echo.models import Message

    Message.objects.filter(room__in=["ex07-garden", "ex07-cellar"]).delete()
    Message.objects.filter(room__startswith="ex07-attic").delete()
    Message.objects.bulk_create([Message(room="ex07-garden", who="ada", message={"n": n}) for n in range(25)])
    Message.objects.bulk_create([Message(room="ex07-cellar", who="eve", message="secret") for _ in range(3)])
    Message.objects.bulk_create([Message(room=unseen, **row) for row in unseen_rows])


async def _first_message(application, room):
    """Connect a member to ``room``; answer what it got first, and whether the consumer ended when it left."""
    from channels.testing import WebsocketCommunicator

    member = WebsocketCommunicator(application, f"/room/{room}/")
    await member.send_input({"type": "websocket.connect"})
    first = await next_event(member, 2 * SHORT)  # a right answer queries the database before it answers
    if first in (None, ENDED):
        what, message = "no answer", None
    elif first["type"] == "websocket.close":
        what, message = "refused", None
    elif first["type"] != "websocket.accept":
        what, message = "sent before accepting", None
    else:
        output = await next_event(member, 2 * SHORT)
        if output in (None, ENDED) or output["type"] == "websocket.close":
            what, message = "silent", None
        else:
            what, message = "sent", json.loads(output["text"]) if output.get("text") else output.get("bytes")
    stays = None
    if what == "sent":  # the member came to chat: after the history, the connection stays open
        after = await next_event(member, 0.1)
        stays = after is None or (after is not ENDED and after["type"] != "websocket.close")
    end = await end_conversation(member, what not in ("no answer", "refused"))
    return {"what": what, "message": message, "stays": stays, "ended": end["ended"], "late": end["late"]}


def _one_more(row):
    from echo.models import Message

    Message.objects.create(room="ex07-garden", **row)


async def _history_probes(consumer_class):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter
    from django.urls import re_path

    unseen = f"ex07-attic-{secrets.token_hex(3)}"
    unseen_rows = [{"who": "grace", "message": {"note": secrets.token_hex(4), "n": n}} for n in range(7)]
    await sync_to_async(_fill_rooms)(unseen, unseen_rows)
    application = URLRouter([re_path(ROOM_PATH, consumer_class.as_asgi())])
    garden = await _first_message(application, "ex07-garden")
    garden_too, unseen_room = await asyncio.gather(
        _first_message(application, "ex07-garden"), _first_message(application, unseen)
    )
    # one more message, saved through the ORM after those visits: the next newcomer sees it last
    newest = {"who": "grace", "message": {"n": 25, "note": secrets.token_hex(4)}}
    await sync_to_async(_one_more)(newest)
    newcomer = await _first_message(application, "ex07-garden")
    return {
        "garden": garden,
        "garden_too": garden_too,
        "unseen": unseen_room,
        "unseen_rows": unseen_rows,
        "newcomer": newcomer,
        "newest": newest,
    }


def _history(facts, key="garden"):
    message = facts[key]["message"]
    return message.get("history") if isinstance(message, dict) else None


_GARDEN = [{"who": "ada", "message": {"n": n}} for n in range(5, 25)]


def _read_lazily(error) -> bool:
    """A SynchronousOnlyOperation raised on a line that does not call the ORM itself: a QuerySet read late."""
    line = where(error) or ""
    return "objects" not in line.rsplit(": ", 1)[-1]


_HISTORY_ADVICE = [
    (
        lambda e: type(e).__name__ == "SynchronousOnlyOperation" and _read_lazily(e),
        "A QuerySet is lazy: its query runs where it is read, here in async code. A QuerySet returned "
        "from a database_sync_to_async function has not run yet: return list(...) from inside that function "
        "(or read it with async for)",
    ),
    (
        lambda e: type(e).__name__ == "SynchronousOnlyOperation",
        "The ORM was called straight from async code: in an async consumer, use the async ORM "
        "(`async for`, `aget`, ...) or wrap the query in database_sync_to_async",
    ),
    (
        lambda e: isinstance(e, TypeError) and "coroutine" in str(e),
        "A coroutine was sent instead of the messages: await the database_sync_to_async call (or the async ORM call)",
    ),
    (
        lambda e: isinstance(e, TypeError) and "not JSON serializable" in str(e),
        "Send plain dicts, e.g. .values('who', 'message'), not model instances or querysets",
    ),
    (
        lambda e: isinstance(e, KeyError) and e.args and e.args[0] != "room",
        "This route names the room 'room' (room/<room>/): self.scope['url_route']['kwargs']['room']",
    ),
    (
        lambda e: "Negative indexing" in str(e),
        "A QuerySet takes no negative index: take the newest 20 with .order_by('-id')[:20], then "
        "reverse them in Python ([::-1] on the list)",
    ),
    (
        lambda e: "Cannot reverse a query once a slice has been taken" in str(e),
        "After a slice the query is fixed: read the 20 rows into a list, then reverse the list ([::-1])",
    ),
]

_HISTORY_RULES = [
    (
        lambda f: f["garden"]["what"] == "no answer",
        "the connection was never answered: accept it in connect() (await self.accept())",
    ),
    (
        lambda f: f["garden"]["what"] == "sent before accepting",
        "the history was sent before the connection was accepted: await self.accept() first, then send",
    ),
    (
        lambda f: f["garden"]["what"] == "refused",
        "the connection was refused: accept it in connect() (await self.accept()) before sending",
    ),
    (
        lambda f: f["garden"]["what"] == "silent",
        "the member was accepted but received nothing: send {'history': [...]} in connect(), right after accepting",
    ),
    (
        lambda f: not isinstance(f["garden"]["message"], dict) or "history" not in f["garden"]["message"],
        lambda f: f"the first message was {f['garden']['message']!r:.80}: send {{'history': [...]}}",
    ),
    (
        lambda f: not isinstance(_history(f), list) or not all(isinstance(item, dict) for item in _history(f)),
        lambda f: f"history must be a list of {{'who': ..., 'message': ...}} dicts, got {_history(f)!r:.80}",
    ),
    (
        lambda f: any(item.get("who") == "eve" for item in _history(f)),
        "the history of 'ex07-garden' holds another room's messages: filter by the room in the URL, "
        "self.scope['url_route']['kwargs']['room']",
    ),
    (
        lambda f: _history(f) == _GARDEN[::-1],
        "the right 20 messages, newest first: the page shows them oldest first, reverse them "
        "after taking the newest 20",
    ),
    (
        lambda f: len(_history(f)) == 25,
        "all 25 messages of the room were sent: only the last 20 (order by '-id', then [:20])",
    ),
    (
        lambda f: _history(f) == [{"who": "ada", "message": {"n": n}} for n in range(20)],
        "these are the *first* 20 messages: take the newest 20 (order by '-id'), then reverse",
    ),
    (
        lambda f: _history(f) and set(_history(f)[0]) != {"who", "message"},
        lambda f: f"each item must be exactly {{'who': ..., 'message': ...}}, got {_history(f)[0]!r:.80}",
    ),
    (
        lambda f: _history(f) != _GARDEN,
        lambda f: f"expected the last 20 messages (n 5 to 24) oldest first, got {_history(f)!r:.120}",
    ),
    (
        lambda f: _history(f, "unseen") != f["unseen_rows"] or _history(f, "garden_too") != _GARDEN,
        lambda f: (
            f"a room the exercise never shows, with 7 messages, got {_history(f, 'unseen')!r:.120} while "
            "another member joined the garden: query the room in this member's URL, and send all its messages "
            "when it has fewer than 20 (nothing hard-coded, nothing kept on the class)"
        ),
    ),
    (
        lambda f: _history(f, "newcomer") != [*_GARDEN[1:], f["newest"]],
        lambda f: (
            f"a message saved after the earlier visits, {f['newest']}, was not the last one a newcomer got "
            f"(got {(_history(f, 'newcomer') or [None])[-1]!r:.120}): a history kept between connections "
            "(functools.lru_cache, a dict, a global) goes stale with the first new message. Query the "
            "database on every connect"
        ),
    ),
    (
        lambda f: any(f[key]["stays"] is False for key in ("garden", "garden_too", "unseen", "newcomer")),
        "after sending the history the consumer closed the connection: the member came to chat, and the "
        "history is only how the room looks when they arrive. Keep the connection open (no close() in connect())",
    ),
    (
        lambda f: f["garden"]["late"],
        lambda f: (
            f"after its member left, the consumer sent {f['garden']['late'][0]}: nothing can be sent on a "
            "connection that is gone (a close() in disconnect() is lesson 03's bug)"
        ),
    ),
    (
        lambda f: not all(f[key]["ended"] for key in ("garden", "garden_too", "unseen", "newcomer")),
        "the consumer kept running after its member left: do not override websocket_disconnect (or call super() in it)",
    ),
]


def check_room_history(consumer_class) -> None:
    """Exercise: on connect, a member receives {"history": [...]}: the room's last 20 messages, oldest first."""
    # unawaited_coroutines outside: a coroutine the learner never awaited warns here, not in a later cell
    with unawaited_coroutines(), learner_code("HistoryRoom", _HISTORY_ADVICE):
        facts = run(_history_probes(consumer_class))
    diagnose(facts, _HISTORY_RULES)
    passed("HistoryRoom works: the last 20 messages of the room, oldest first, and nothing from other rooms")


# --------------------------------------------------------------------------- a receiver that tells the room


class _Recorded:
    """group_send calls the receiver made, and whether each was awaited; the saves the receiver was told of."""

    def __init__(self, layer):
        self.calls: list[dict] = []
        self.saves: list[dict] = []  # each post_save the receiver got: the step, the row's pk, created
        self.step = None
        self.unjoined: list[str] = []  # the steps after which a thread the learner started was still running
        self._send = layer.group_send
        # A plain function marked as a coroutine function, as async_to_sync expects of group_send: it records
        # each call when it is made, awaited or not, and answers a real coroutine (asyncio.run takes it too).
        layer.group_send = markcoroutinefunction(lambda group, message: self.group_send(group, message))
        self._layer = layer

    def group_send(self, group, message):
        call = {"group": group, "message": message, "awaited": False, "step": self.step}
        self.calls.append(call)
        send = self._send

        async def group_send():
            call["awaited"] = True
            await send(group, message)

        return group_send()

    def told(self, receiver):
        """``receiver``, noting each save it is told of first."""

        def told(sender, **kwargs):
            instance = kwargs.get("instance")
            self.saves.append(
                {"step": self.step, "pk": getattr(instance, "pk", None), "created": kwargs.get("created")}
            )
            return receiver(sender=sender, **kwargs)

        return told

    async def send(self, group, message):
        """The layer's own group_send, not recorded: the check's markers."""
        await self._send(group, message)

    def restore(self):
        self._layer.group_send = self._send


_CAKE = {"who": "a view", "message": "cake at four"}


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

    Message.objects.create(room="ex07-garden", **_CAKE)


def _updated():
    from echo.models import Message

    message = Message.objects.filter(room="ex07-garden", message="cake at four").last()
    message.who = "an editor"
    message.save()


def _committed_in_a_transaction():
    from django.db import transaction

    from echo.models import Message

    with transaction.atomic():  # as a view under ATOMIC_REQUESTS, or any code that saves several rows
        Message.objects.create(room="ex07-garden", who="a form", message={"tea": 2})


def _in_the_cellar(note):
    def save():
        from echo.models import Message

        Message.objects.create(room="ex07-cellar", who="eve", message={"note": note})

    return save


async def _joined(path):
    """A member of a room of echo_project's, past its three greetings (who it is, the history, its arrival)."""
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    import echo.routing

    member = WebsocketCommunicator(
        URLRouter(echo.routing.websocket_urlpatterns), path, headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await member.connect(timeout=2)
    assert connected, "echo_project's ChamberConsumer refused the check's member"
    for _ in range(3):
        await member.receive_output(timeout=2)
    return member


async def _heard(member, send, group, marker):
    """What ``member`` heard before ``marker``, which the check sends to ``group`` after each save.

    Whatever the receiver sent while the save ran arrives before the marker, so silence is seen as
    soon as the marker arrives, with no timeout to wait out. Answers the first event heard (None for
    nothing), or the error the room's consumer raised on an event it could not handle.
    """
    await send(group, {"type": "chamber.message", "who": "the check", "message": marker})
    heard = []
    while True:
        try:
            output = await next_event(member, 2 * SHORT)
        except (ValueError, KeyError) as error:  # the room's consumer could not handle the event
            return {"refused": f"{type(error).__name__}: {error}"}
        if output in (None, ENDED):
            break
        event = json.loads(output["text"]) if "text" in output else output
        if event == {"who": "the check", "message": marker}:
            break
        heard.append(event)
    return heard[0] if heard else None


async def _receiver_probes(receiver):
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer
    from django.db.models.signals import post_save

    from echo.models import Message

    note = secrets.token_hex(4)
    steps = {
        "rolled back": _rolled_back,
        "committed": _committed,
        "edited": _updated,
        "committed in atomic()": _committed_in_a_transaction,
        "in the cellar": _in_the_cellar(note),
    }
    recorded = _Recorded(get_channel_layer())
    told = recorded.told(receiver)  # a strong reference, kept while the probes run
    post_save.connect(told, sender=Message, dispatch_uid="exercise: tell the room")
    garden = cellar = None
    heard = {}
    try:
        garden = await _joined("/chamber/ex07-garden/")
        cellar = await _joined("/chamber/ex07-cellar/")
        for name, step in steps.items():
            recorded.step = name
            with _threads_started() as started:
                await sync_to_async(step, thread_sensitive=False)()
            if any(thread.is_alive() for thread in started):  # still running once the save has returned
                recorded.unjoined.append(name)
            marker = f"{name}: {note}"
            heard[name] = await _heard(garden, recorded.send, "chamber.ex07-garden", marker)
            heard[f"{name}, in the cellar"] = await _heard(cellar, recorded.send, "chamber.ex07-cellar", marker)
    finally:
        post_save.disconnect(sender=Message, dispatch_uid="exercise: tell the room")
        recorded.restore()
        # A member whose consumer could not handle the event has told so already (see _heard).
        await asyncio.gather(
            *(end_conversation(member, True) for member in (garden, cellar) if member), return_exceptions=True
        )
    calls = [call for call in recorded.calls if call["message"].get("type") != "chamber.presence"]  # the room's own
    return {"heard": heard, "calls": calls, "saves": recorded.saves, "unjoined": recorded.unjoined, "note": note}


@contextlib.contextmanager
def _threads_started():
    """The threads the learner's code starts inside the block (their target is the learner's function)."""
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def noting(thread):
        code = getattr(getattr(thread, "_target", None), "__code__", None)
        if is_learners_code(code):
            started.append(thread)
        return start(thread)

    threading.Thread.start = noting
    try:
        yield started
    finally:
        threading.Thread.start = start


def _saved(f, step):
    """The first new row the receiver was told of in ``step`` (its pk), or None."""
    return next((save for save in f["saves"] if save["step"] == step and save["created"]), None)


def _sent_for(f, step, event):
    """Whether a group_send carried ``event`` (who and message) at any time: late, from a thread, included."""
    return any(
        isinstance(call["message"], dict)
        and {k: call["message"].get(k) for k in ("who", "message")} == event
        and call["awaited"]
        for call in f["calls"]
    )


def _pk_used_again(f):
    rolled_back, committed = _saved(f, "rolled back"), _saved(f, "committed")
    return rolled_back and committed and rolled_back["pk"] == committed["pk"]


def _refused(f):
    return next((h["refused"] for h in f["heard"].values() if isinstance(h, dict) and "refused" in h), None)


_RECEIVER_RULES = [
    (
        lambda f: f["calls"] and not any(call["awaited"] for call in f["calls"]),
        "group_send was called but never run: it is a coroutine function; sync code (a signal "
        "receiver) calls it as async_to_sync(channel_layer.group_send)(group, event)",
    ),
    (
        lambda f: f["unjoined"],
        lambda f: (
            f"when a message was {f['unjoined'][0]}, your receiver started a thread that was still running after "
            "the save had returned: nobody waits for it, so the room hears the message late or never, and its "
            "errors are lost. Send in the on_commit callback itself, no thread: "
            "on_commit(lambda: async_to_sync(channel_layer.group_send)(group, event))"
        ),
    ),
    (
        lambda f: f["calls"] and all(not call["group"].startswith("chamber.ex07-") for call in f["calls"]),
        lambda f: (
            f"the event went to the group {f['calls'][0]['group']!r}: the room 'ex07-garden' is the group "
            "'chamber.ex07-garden' (f'chamber.{instance.room}')"
        ),
    ),
    (
        _refused,
        lambda f: (
            f"the room's consumer could not handle your event ({_refused(f)}): it handles events of type "
            "'chamber.message' (its method chamber_message) with the keys 'who' and 'message': "
            "{'type': 'chamber.message', 'who': instance.who, 'message': instance.message}"
        ),
    ),
    (
        lambda f: f["heard"]["rolled back"] is not None,
        "the room heard a message that was rolled back: send only after commit, with "
        "transaction.on_commit(lambda: ...)",
    ),
    (
        lambda f: f["heard"]["committed"] is None and _sent_for(f, "committed", _CAKE),
        "the room heard nothing by the time the save had returned, but your receiver sent the event later "
        "(the check's own message, sent right after the save, arrived first): a send from a thread you "
        "started and never waited for comes late, or never, and its errors are lost. Send in the on_commit "
        "callback itself: on_commit(lambda: async_to_sync(channel_layer.group_send)(group, event))",
    ),
    (
        lambda f: f["heard"]["committed"] is None and _pk_used_again(f),
        lambda f: (
            f"your receiver was told of a new message (created=True, pk {_saved(f, 'committed')['pk']}) and sent "
            "nothing. That pk had been given to a message just rolled back: the database hands it out again, "
            "so a record of the pks already seen (a set, a global) is wrong about it. Decide by the receiver's "
            "created argument alone"
        ),
    ),
    (
        lambda f: f["heard"]["committed"] is None and _saved(f, "committed") and not f["calls"],
        "your receiver was told of a new message (created=True) and made no group_send at all: for every "
        "new message, call async_to_sync(get_channel_layer().group_send)('chamber.' + instance.room, event) "
        "inside transaction.on_commit(...)",
    ),
    (
        lambda f: f["heard"]["committed"] is None,
        "the room heard nothing when a message was saved: call "
        "async_to_sync(get_channel_layer().group_send)('chamber.' + instance.room, event) "
        "inside transaction.on_commit(...)",
    ),
    (
        lambda f: f["heard"]["committed"] != _CAKE,
        lambda f: f"the room heard {f['heard']['committed']!r}, expected {_CAKE}",
    ),
    (
        lambda f: f["heard"]["edited"] is not None,
        "the room heard the message again when it was edited: tell it about new rows only "
        "(the receiver's `created` argument)",
    ),
    (
        lambda f: f["heard"]["committed in atomic()"] not in (None, {"who": "a form", "message": {"tea": 2}}),
        lambda f: (
            "a message {'tea': 2} (a JSON object) reached the room as "
            f"{f['heard']['committed in atomic()']!r}: send instance.message as it is, a dict stays a dict "
            "(no str(), no json.dumps: the layer and the consumer carry JSON values): "
            "{'type': 'chamber.message', 'who': instance.who, 'message': instance.message}"
        ),
    ),
    (
        lambda f: f["heard"]["committed in atomic()"] != {"who": "a form", "message": {"tea": 2}},
        lambda f: (
            "a message saved inside transaction.atomic(), which then committed, "
            + (
                "never reached the room"
                if f["heard"]["committed in atomic()"] is None
                else f"reached the room as {f['heard']['committed in atomic()']!r}"
            )
            + ": every save may run inside a transaction (a view under "
            "ATOMIC_REQUESTS, a form saving several rows); on_commit runs your function when the outermost "
            "block commits, so register it for every new message, inside a transaction or not"
        ),
    ),
    (
        lambda f: (
            f["heard"]["in the cellar, in the cellar"] != {"who": "eve", "message": {"note": f["note"]}}
            or f["heard"]["in the cellar"] is not None
        ),
        lambda f: (
            f"a new message in the room 'ex07-cellar' reached its members as "
            f"{f['heard']['in the cellar, in the cellar']!r} and the garden's as {f['heard']['in the cellar']!r}: "
            "send each message to its own room's group, f'chamber.{instance.room}', with its own who and message"
        ),
    ),
]

_RECEIVER_ADVICE = [
    (
        lambda e: isinstance(e, TypeError) and "on_commit()'s callback must be a callable" in str(e),
        "on_commit takes the function to run later: on_commit(lambda: send(...)), not on_commit(send(...)), "
        "which runs the send now and hands on_commit its result",
    ),
    (
        KeyError,
        "The room's consumer needs the event's 'who' and 'message': send "
        "{'type': 'chamber.message', 'who': instance.who, 'message': instance.message}",
    ),
]


def check_tell_the_room(receiver) -> None:
    """Exercise: a post_save receiver that tells the room about new messages, after commit only."""
    if not callable(receiver):
        raise ExerciseHint(f"pass the receiver itself: check_tell_the_room(tell_the_room), not {receiver!r}")
    # unawaited_coroutines outside: a group_send never awaited warns here, not in a later cell
    with unawaited_coroutines(), learner_code("tell_the_room", _RECEIVER_ADVICE, raise_background=False) as caught:
        facts = run(_receiver_probes(receiver))
    # echo_project's consumer logs what it could not handle (the event it was sent); anything else is the learner's
    refused = [e for e in caught.errors if isinstance(e, KeyError) or "No handler for message type" in str(e)]
    if len(refused) < len(caught.errors):
        raise hint_for(next(e for e in caught.errors if e not in refused), "tell_the_room", _RECEIVER_ADVICE)
    if refused:
        facts["heard"]["refused"] = {"refused": f"{type(refused[0]).__name__}: {refused[0]}"}
    diagnose(facts, _RECEIVER_RULES)
    passed("tell_the_room works: new messages reach the room after commit, rolled-back and edited ones do not")
