"""A room's history: store each message, and read back the last few for whoever joins.

Every call runs the ORM on a thread of its own (``database_sync_to_async`` with an
executor), not on the thread that Channels shares for all sync code in a process.
That shared thread also runs the clean-up Channels does before every handler of every
consumer (``aclose_old_connections``): a slow write there would stall every member of
every room, even those who only receive. Here, a slow database delays only the
member whose message is being stored.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.db import DatabaseError
from django.db.models import JSONField, Value

from .models import Message

logger = logging.getLogger(__name__)

# One thread: writes happen in the order they were said, and SQLite sees one writer.
_history_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="echo-history")


def _on_history_thread(func):
    return database_sync_to_async(func, thread_sensitive=False, executor=_history_thread)


@_on_history_thread
def remember(room: str, who: str, message) -> bool:
    """Store one message said in ``room``; False (and a warning in the log) if the database refused it.

    The message was already delivered to the room: a database that is down or locked
    costs its history, never the conversation.
    """
    # A bare None would be stored as SQL NULL; JSON's null is Value(None, JSONField()) (Django's JSONField docs).
    value = Value(None, JSONField()) if message is None else message
    try:
        Message.objects.create(room=room, who=who, message=value)
    except DatabaseError as error:
        logger.warning("history: a message in %r was not stored: %s", room, error)
        return False
    return True


@_on_history_thread
def recent(room: str, limit: int) -> list[dict] | None:
    """The room's last ``limit`` messages, oldest first, as ``{"who": ..., "message": ...}``.

    None (and a warning in the log) if the database cannot be read: not an empty list, which
    would say the room never said anything.
    """
    try:
        newest_first = list(Message.objects.filter(room=room).order_by("-id").values("who", "message")[:limit])
    except DatabaseError as error:
        logger.warning("history: the history of %r could not be read: %s", room, error)
        return None
    return newest_first[::-1]
