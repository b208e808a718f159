"""`manage.py summarize ROOM`: ask the room-summary worker to count what a room said.

Sync code hands a job to a worker by sending it to the worker's named channel with
``async_to_sync(channel_layer.send)`` (Channels docs, "Worker and Background Tasks"); the
worker (`manage.py runworker room-summary`, echo/workers.py) tells the room. Delivery is at
most once: with no worker listening, the job waits in Redis until it expires (60 s).
"""

import re

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.management.base import BaseCommand, CommandError

from echo.management.commands.announce import ROOM_NAME
from echo.workers import SUMMARY


class Command(BaseCommand):
    help = "Send a job to the room-summary worker: it counts what ROOM said and tells the room."

    def add_arguments(self, parser):
        parser.add_argument("room")

    def handle(self, room, **options):
        if not re.fullmatch(ROOM_NAME, room):
            raise CommandError(f"{room!r} is not a room name: 1 to 50 letters, digits, '-' or '_'")
        layer = get_channel_layer()
        if isinstance(layer, InMemoryChannelLayer):
            raise CommandError(
                "set REDIS_URL to the Redis the worker uses: the in-memory channel layer reaches only this process"
            )
        async_to_sync(layer.send)(SUMMARY, {"type": "room.summary", "room": room})
        self.stdout.write(f"asked for a summary of {room}")
