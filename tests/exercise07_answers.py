"""Exercise 07's right and wrong answers, for the table of checks in test_exercises.py."""

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
