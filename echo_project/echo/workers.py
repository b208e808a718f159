"""Work done off the consumers: jobs sent to a named channel, run by `manage.py runworker`.

A consumer that answers a client should not also do slow work: it would hold that
client's events back. It can send a job to a channel instead, and a worker process
(``python manage.py runworker room-summary``) takes it, does it, and reports to the
room through the channel layer. This needs a layer shared between processes (Redis):
the in-memory one cannot reach a worker. Delivery is at most once (Channels docs,
"Worker and Background Tasks"): for work that must not be lost, use a task queue.
"""

import logging
import re

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from django.db import DatabaseError
from django.db.models import Count

from .models import Message

logger = logging.getLogger(__name__)
SUMMARY = "room-summary"  # the channel the worker listens on


class RoomSummaryConsumer(AsyncConsumer):
    """Counts what a room said, by whom, and tells the room: ``{"type": "room.summary", "room": ...}``.

    Async, with the query in a thread (``database_sync_to_async``). A ``SyncConsumer`` would work
    too, but ``runworker``'s server (asgiref's ``StatelessServer``) passes ``send`` as a plain
    lambda, and a ``SyncConsumer`` wraps it in ``async_to_sync``, which warns on the first job:
    "async_to_sync was passed a non-async-marked callable". An async consumer uses ``send`` as is.

    A job it cannot do (no room, not a room name, a database error) is logged and skipped: an
    exception would end this consumer, the one instance the worker runs for its channel, and the
    jobs already queued for it would be lost with it. (A job with no "type" at all stops Channels'
    worker before it reaches any consumer: only send jobs with one.)
    """

    async def room_summary(self, event):
        room = event.get("room")
        if not isinstance(room, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,50}", room):
            logger.warning("room-summary: skipped a job with no valid room: %r", event)
            return
        try:
            summary = await said_in(room)
        except DatabaseError as error:
            logger.warning("room-summary: could not count what %r said: %s", room, error)
            return
        await self.channel_layer.group_send(
            f"chamber.{room}", {"type": "chamber.message", "who": "summary", "message": summary}
        )


@database_sync_to_async
def said_in(room):
    """How many messages ``room`` holds, and from how many members."""
    by_member = dict(Message.objects.filter(room=room).values_list("who").annotate(said=Count("id")))
    return {"messages": sum(by_member.values()), "members": len(by_member)}
