"""`manage.py announce ROOM TEXT`: say something to a chamber room from outside any consumer.

Sync code (a management command, a view, a cron job) reaches consumers through the
channel layer, wrapped in ``async_to_sync`` (Channels docs, "Using Outside Of
Consumers"). The text gets the room's own limits and checks, as a member's message does.
Like a member's message, it goes to the room first, and is stored in the room's history
only once the channel layer has taken it: a run that fails to send (Redis down) stores
nothing, so running the command again never stores it twice. (The other way round, store
then send, a failed send left the message stored, and a second run stored it again.)
Across processes this needs a shared layer (REDIS_URL): the in-memory one stays in
this process.
"""

import re

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from echo import history
from echo.consumers import LAYER_UNAVAILABLE, NOT_TEXT, STRICT_ENCODER, describe
from echo.models import Message

ANNOUNCER = "announcer"
ROOM_NAME = r"[A-Za-z0-9_-]{1,50}"  # the rooms echo.routing serves


class Command(BaseCommand):
    help = (
        "Send TEXT to everyone in a chamber room, then keep it in the room's history. It is stored only once "
        "the channel layer has taken it: if sending fails, nothing is stored, and running the command again "
        "never stores it twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("room")
        parser.add_argument("text")

    def handle(self, room, text, **options):
        if not re.fullmatch(ROOM_NAME, room):
            raise CommandError(f"{room!r} is not a room name: 1 to 50 letters, digits, '-' or '_'")
        # The room's own limits, as ChamberConsumer applies them to what a member says.
        size = len(STRICT_ENCODER.encode(text).encode("utf-8"))
        if size > settings.ECHO_MAX_ROOM_MESSAGE_BYTES:
            raise CommandError(f"too large for a room: {size} bytes, at most {settings.ECHO_MAX_ROOM_MESSAGE_BYTES}")
        if NOT_TEXT.search(text):
            raise CommandError("the text holds NUL or a lone surrogate, which not every database or layer can keep")
        layer = get_channel_layer()
        if isinstance(layer, InMemoryChannelLayer):  # this process's own: no server would ever hear it
            raise CommandError(
                "set REDIS_URL to the Redis the server uses: the in-memory channel layer reaches only this process"
            )
        try:
            # The room's next number, as a member's message gets (echo/history.py): the history keeps the order heard.
            seq = async_to_sync(history.next_seq)(room)
            event = {"type": "chamber.message", "who": ANNOUNCER, "message": text, "seq": seq}
            async_to_sync(layer.group_send)(f"chamber.{room}", event)
        except LAYER_UNAVAILABLE as error:
            raise CommandError(
                f"the channel layer did not take it ({describe(error)}): nothing was sent or stored, run it again"
            ) from None
        try:  # only now: what the room heard, and nothing else, is kept
            Message.objects.create(room=room, seq=seq, who=ANNOUNCER, message=text)
        except DatabaseError as error:
            raise CommandError(
                f"the room heard it, but its history could not keep it ({describe(error)}): do not run it again"
            ) from None
        self.stdout.write(f"announced to {room}")
