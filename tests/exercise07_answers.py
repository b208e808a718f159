"""Exercise 07's right and wrong answers, for the table of checks in test_exercises.py."""

import functools
import threading

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction

from echo.models import Message


def room_of(consumer):
    return consumer.scope["url_route"]["kwargs"]["room"]


class Right(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        newest = Message.objects.filter(room=room_of(self)).order_by("-id").values("who", "message")[:20]
        await self.send_json({"history": [row async for row in newest][::-1]})


class NewestFirst(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        newest = Message.objects.filter(room=room_of(self)).order_by("-id").values("who", "message")[:20]
        await self.send_json({"history": [row async for row in newest]})


class EveryRoom(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        newest = Message.objects.order_by("-id").values("who", "message")[:20]
        await self.send_json({"history": [row async for row in newest][::-1]})


class FirstTwenty(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        rows = Message.objects.filter(room=room_of(self)).order_by("id").values("who", "message")[:20]
        await self.send_json({"history": [row async for row in rows]})


class SyncOrmInAsync(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        rows = list(Message.objects.filter(room=room_of(self)).values("who", "message"))
        await self.send_json({"history": rows[-20:]})


class ModelInstances(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        newest = Message.objects.filter(room=room_of(self)).order_by("-id")[:20]
        await self.send_json({"history": [row async for row in newest][::-1]})


@database_sync_to_async
def last_twenty(room):
    return list(Message.objects.filter(room=room).order_by("-id").values("who", "message")[:20])[::-1]


class ForgotAwait(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send_json({"history": last_twenty(room_of(self))})


class NeverAccepts(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.send_json({"history": await last_twenty(room_of(self))})


class AllOfThem(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        rows = Message.objects.filter(room=room_of(self)).values("who", "message")
        await self.send_json({"history": [row async for row in rows]})


def send_to_room(instance, *, group=None, kind="chamber.message"):
    event = {"type": kind, "who": instance.who, "message": instance.message}
    return group or f"chamber.{instance.room}", event


def right_receiver(sender, instance, created, **kwargs):
    if created:
        group, event = send_to_room(instance)
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, event))


def before_commit(sender, instance, created, **kwargs):
    if created:
        async_to_sync(get_channel_layer().group_send)(*send_to_room(instance))


def without_async_to_sync(sender, instance, created, **kwargs):
    if created:
        transaction.on_commit(lambda: get_channel_layer().group_send(*send_to_room(instance)))


def wrong_group(sender, instance, created, **kwargs):
    if created:
        group, event = send_to_room(instance, group=instance.room)
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, event))


def wrong_type(sender, instance, created, **kwargs):
    if created:
        group, event = send_to_room(instance, kind="chat.message")
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, event))


def on_every_save(sender, instance, created, **kwargs):
    group, event = send_to_room(instance)
    transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, event))


HISTORY_WRONG_ANSWERS = [
    (NewestFirst, "newest first"),
    (EveryRoom, "filter by the room"),
    (FirstTwenty, "*first* 20"),
    (AllOfThem, "only the last 20"),
    (SyncOrmInAsync, "async ORM"),
    (ModelInstances, "not JSON serializable"),
    (ForgotAwait, "await"),
    (NeverAccepts, "accept"),
]
RECEIVER_WRONG_ANSWERS = [
    (before_commit, "rolled back"),
    (without_async_to_sync, "async_to_sync"),
    (wrong_group, "'chamber.ex07-garden'"),
    (wrong_type, "chamber.message"),
    (on_every_save, "edited"),
]


# --------------------------------------------------------------------------- more answers (issue 21)


class TutorialsRoomName(AsyncJsonWebsocketConsumer):  # Channels' tutorial routes room_name; this route says room
    async def connect(self):
        await self.accept()
        room = self.scope["url_route"]["kwargs"]["room_name"]
        rows = Message.objects.filter(room=room).order_by("-id").values("who", "message")[:20]
        await self.send_json({"history": [row async for row in rows][::-1]})


class NegativeSlice(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        rows = Message.objects.filter(room=room_of(self)).values("who", "message")[-20:]
        await self.send_json({"history": [row async for row in rows]})


class ReverseAfterSlice(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        rows = Message.objects.filter(room=room_of(self)).order_by("-id").values("who", "message")[:20].reverse()
        await self.send_json({"history": [row async for row in rows]})


@database_sync_to_async
def lazy_last_twenty(room):
    return Message.objects.filter(room=room).order_by("-id").values("who", "message")[:20]  # not run yet


class LazyQuerySet(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        rows = await lazy_last_twenty(room_of(self))
        await self.send_json({"history": list(rows)[::-1]})


class GardenOnly(AsyncJsonWebsocketConsumer):  # hard-coded: right for the one room the text names
    async def connect(self):
        await self.accept()
        rows = Message.objects.filter(room="ex07-garden").order_by("-id").values("who", "message")[:20]
        await self.send_json({"history": [row async for row in rows][::-1]})


class HistoryOnTheClass(AsyncJsonWebsocketConsumer):  # read once, for whichever room came first
    history = None

    async def connect(self):
        await self.accept()
        if type(self).history is None:
            rows = Message.objects.filter(room=room_of(self)).order_by("-id").values("who", "message")[:20]
            type(self).history = [row async for row in rows][::-1]
        await self.send_json({"history": type(self).history})


class CrashingAfterAccepting(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        rows = Message.objects.filter(room=room_of(self)).order_by("-id").values("who", "message")[:20]
        await self.send_json({"history": [row["text"] async for row in rows]})


class WithDatabaseSyncToAsync(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send_json({"history": await last_twenty(room_of(self))})


class WithAListAndAnIdSort(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        room = self.scope["url_route"]["kwargs"]["room"]
        newest = [m async for m in Message.objects.filter(room=room).order_by("-id")[:20]]
        oldest_first = sorted(newest, key=lambda m: m.id)
        await self.send_json({"history": [{"who": m.who, "message": m.message} for m in oldest_first]})


class WithSyncToAsyncOnAMethod(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send_json({"history": await database_sync_to_async(self.newest)()})

    def newest(self):
        rows = Message.objects.filter(room=room_of(self)).order_by("-id").values("who", "message")[:20]
        return list(reversed(rows))


def silent_in_any_transaction(sender, instance, created, **kwargs):  # quiet for a rollback, and for commits in a block
    if created and not transaction.get_connection().in_atomic_block:
        async_to_sync(get_channel_layer().group_send)(*send_to_room(instance))


def calling_the_send_in_on_commit(sender, instance, created, **kwargs):
    if created:
        group, event = send_to_room(instance)
        transaction.on_commit(async_to_sync(get_channel_layer().group_send)(group, event))


def always_the_garden(sender, instance, created, **kwargs):  # hard-coded: right for the one room the text names
    if created:
        group, event = send_to_room(instance, group="chamber.ex07-garden")
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, event))


def sending_the_text_only(sender, instance, created, **kwargs):
    if created:
        event = {"type": "chamber.message", "who": instance.who, "text": instance.message}
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(f"chamber.{instance.room}", event))


def crashing_on_the_instance(sender, instance, created, **kwargs):
    if created:
        event = {"type": "chamber.message", "who": instance.author, "message": instance.message}
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(f"chamber.{instance.room}", event))


def with_partial(sender, instance, created, **kwargs):
    from functools import partial

    if created:
        group, event = send_to_room(instance)
        transaction.on_commit(partial(async_to_sync(get_channel_layer().group_send), group, event))


def with_a_named_function(sender, instance, created, **kwargs):
    if not created:
        return

    def tell():
        async_to_sync(get_channel_layer().group_send)(
            "chamber." + instance.room, {"type": "chamber.message", "who": instance.who, "message": instance.message}
        )

    transaction.on_commit(tell)


def with_underscores_in_the_type(sender, instance, created, **kwargs):  # Channels routes chamber_message the same
    if created:
        group, event = send_to_room(instance, kind="chamber_message")
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, event))


HISTORY_WRONG_ANSWERS += [
    (TutorialsRoomName, "kwargs']['room']"),
    (NegativeSlice, "A QuerySet takes no negative index"),
    (ReverseAfterSlice, "After a slice the query is fixed"),
    (LazyQuerySet, "A QuerySet is lazy"),
    (GardenOnly, "a room the exercise never shows"),
    (HistoryOnTheClass, "nothing kept on the class"),
    (CrashingAfterAccepting, "HistoryRoom raised KeyError: 'text'"),
]
RECEIVER_WRONG_ANSWERS += [
    (silent_in_any_transaction, "inside a transaction or not"),
    (calling_the_send_in_on_commit, "not on_commit(send(...))"),
    (always_the_garden, "send each message to its own room's group"),
    (sending_the_text_only, "'who' and 'message'"),
    (crashing_on_the_instance, "tell_the_room raised AttributeError"),
]
HISTORY_RIGHT_ANSWERS = [WithDatabaseSyncToAsync, WithAListAndAnIdSort, WithSyncToAsyncOnAMethod]
RECEIVER_RIGHT_ANSWERS = [with_partial, with_a_named_function, with_underscores_in_the_type]
RAISING = [
    ("check_room_history", TutorialsRoomName, "KeyError", '["room_name"]'),
    ("check_room_history", CrashingAfterAccepting, "KeyError", 'row["text"]'),
    ("check_room_history", NegativeSlice, "ValueError", "[-20:]"),
    ("check_tell_the_room", crashing_on_the_instance, "AttributeError", "instance.author"),
    ("check_tell_the_room", calling_the_send_in_on_commit, "TypeError", "transaction.on_commit("),
]


class ClosingInDisconnect(Right):  # the talk's bug: the connection is already gone
    async def disconnect(self, code):
        await self.close()


HISTORY_WRONG_ANSWERS.append((ClosingInDisconnect, "a close() in disconnect()"))


@functools.lru_cache(maxsize=128)
def cached_last_twenty(room):  # read once per room, for every newcomer after
    return list(Message.objects.filter(room=room).order_by("-id").values("who", "message")[:20])[::-1]


class CachingTheHistory(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send_json({"history": await database_sync_to_async(cached_last_twenty)(room_of(self))})


class ClosingAfterTheHistory(Right):  # "the job is done": the member came to chat
    async def connect(self):
        await super().connect()
        await self.close()


_SEEN_PKS = set()  # a rolled-back row's pk is handed out again: the next new message is "seen"


def skipping_the_pks_seen(sender, instance, created, **kwargs):
    if instance.pk in _SEEN_PKS:
        return
    _SEEN_PKS.add(instance.pk)
    group, event = send_to_room(instance)
    transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, event))


def sending_from_a_thread(sender, instance, created, **kwargs):  # fire and forget: late, or never
    if created:
        group, event = send_to_room(instance)
        send = lambda: async_to_sync(get_channel_layer().group_send)(group, event)  # noqa: E731
        transaction.on_commit(lambda: threading.Thread(target=send).start())


def sending_the_message_as_a_str(sender, instance, created, **kwargs):
    if created:
        event = {"type": "chamber.message", "who": instance.who, "message": str(instance.message)}
        transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(f"chamber.{instance.room}", event))


HISTORY_WRONG_ANSWERS += [
    (CachingTheHistory, "functools.lru_cache, a dict, a global"),
    (ClosingAfterTheHistory, "after sending the history the consumer closed the connection"),
]
RECEIVER_WRONG_ANSWERS += [
    (skipping_the_pks_seen, "That pk had been given to a message just rolled back"),
    (sending_from_a_thread, "your receiver started a thread that was still running"),
    (sending_the_message_as_a_str, "a dict stays a dict"),
]
