"""Work done off the consumers: jobs sent to a named channel, run by `manage.py runworker`.

A consumer that answers a client should not also do slow work: it would hold that
client's events back. It can send a job to a channel instead, and a worker process
(``python manage.py runworker room-summary``) takes it, does it, and reports to the
room through the channel layer. This needs a layer shared between processes (Redis):
the in-memory one cannot reach a worker. Delivery is at most once (Channels docs,
"Worker and Background Tasks"): for work that must not be lost, use a task queue.

A job nobody can do costs nothing but a line of log, and never the job after it: the
consumer skips what it cannot do, ``skipping_failed_jobs`` (ASGI middleware around it, in
asgi.py) starts it again after a job that ended it, and ``SturdyWorker``, which echo_project's
``manage.py runworker`` runs, skips a job with no "type", which stops Channels' own worker
before any consumer sees it.
"""

import asyncio
import logging
import re

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.worker import Worker
from django.db import DatabaseError
from django.db.models import Count

from .consumers import LAYER_UNAVAILABLE, describe
from .models import Message

logger = logging.getLogger(__name__)
SUMMARY = "room-summary"  # the channel the worker listens on


class RoomSummaryConsumer(AsyncConsumer):
    """Counts what a room said, by whom, and tells the room: ``{"type": "room.summary", "room": ...}``.

    Async, with the query in a thread (``database_sync_to_async``). A ``SyncConsumer`` would work
    too, but ``runworker``'s server (asgiref's ``StatelessServer``) passes ``send`` as a plain
    lambda, and a ``SyncConsumer`` wraps it in ``async_to_sync``, which warns on the first job:
    "async_to_sync was passed a non-async-marked callable". An async consumer uses ``send`` as is.

    A job it cannot do (no room, not a room name, a database error) is logged and skipped. One that
    ends it anyway (a "type" it has no handler for: Channels' ``dispatch`` raises) would end the one
    instance the worker runs for its channel, and the jobs queued for it would wait for nobody:
    ``skipping_failed_jobs`` logs it and starts a new instance on the same queue. (A job with no
    "type" at all never reaches it: ``SturdyWorker`` skips it.)
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


def skipping_failed_jobs(application):
    """ASGI middleware for a worker's channel: after a job that ends the consumer, a new one takes the next.

    The worker runs one application instance per channel and feeds it the channel's jobs in order,
    through ``receive``; the job that failed was taken from it, the ones after it still wait there.
    While the channel layer is down, the consumer's own read fails too: then it starts again after a
    second, not at once.
    """

    async def serve_jobs(scope, receive, send):
        while True:
            try:
                return await application(scope, receive, send)
            except LAYER_UNAVAILABLE as error:
                logger.warning("worker: the channel layer failed (%s): starting again in 1 s", describe(error))
                await asyncio.sleep(1)
            except Exception as error:
                logger.warning("worker: skipped a job that failed on %r (%s)", scope.get("channel"), describe(error))

    return serve_jobs


class SturdyWorker(Worker):
    """Channels' worker (``manage.py runworker``), that skips a job with no "type" instead of stopping.

    Channels' ``Worker.listener`` raises ``ValueError("Worker received message with no type.")`` for
    such a job, which ends the whole process; here it is logged and skipped, and a job whose "type" is
    not a string too (Channels' consumer could not look up a handler for it). While the channel layer
    is down (Redis restarting), the listener waits and tries again, 1 s, 2 s, ... up to 10 s apart,
    instead of ending the process. The rest is Channels' listener: one application instance per
    channel, fed in order. It overrides ``listener``, which Channels does not document as a hook:
    the workshop's ``tests/echo_project/test_commands.py`` runs the real command.
    """

    async def listener(self, channel):
        delay = 1
        while True:
            try:
                message = await self.channel_layer.receive(channel)
            except LAYER_UNAVAILABLE as error:
                logger.warning("worker: the channel layer failed (%s): trying again in %s s", describe(error), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            delay = 1
            kind = message.get("type")
            if not isinstance(kind, str) or not kind:
                logger.warning("worker: skipped a job on %r with no type: %r", channel, message)
                continue
            scope = {"type": "channel", "channel": channel}
            instance_queue = self.get_or_create_application_instance(channel, scope)
            await instance_queue.put(message)


@database_sync_to_async
def said_in(room):
    """How many messages ``room`` holds, and from how many members."""
    by_member = dict(Message.objects.filter(room=room).values_list("who").annotate(said=Count("id")))
    return {"messages": sum(by_member.values()), "members": len(by_member)}
