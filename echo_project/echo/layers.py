"""The channel layer: its credentials kept out of error reports, and Redis's layer when Redis goes away.

A Redis channel layer is configured with a URL, and a URL may carry a password
(``redis://:secret@redis.example:6379/0``). Django's error reports (the debug page,
the e-mails to ADMINS) show the settings; its default filter hides a setting by its
*name* (``PASSWORD``, ``SECRET``, ``KEY``...), and neither ``REDIS_URL`` nor
``CHANNEL_LAYERS`` is such a name. ``CredentialsFilter`` (settings'
``DEFAULT_EXCEPTION_REPORTER_FILTER``) also masks the user and password of any URL, in
settings and in a traceback's local variables.
See https://docs.djangoproject.com/en/stable/howto/error-reporting/#custom-error-reports
"""

import asyncio
import logging
import re

from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer
from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# scheme://user:password@host -> the user and password
URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def mask_credentials(value):
    """``value`` with the user and password of every URL in it replaced by stars (strings only)."""
    if isinstance(value, str):
        return URL_CREDENTIALS.sub(rf"\g<scheme>{SafeExceptionReporterFilter.cleansed_substitute}@", value)
    return value


class CredentialsFilter(SafeExceptionReporterFilter):
    """Django's filter, and no URL credentials anywhere in a report's settings or local variables."""

    def cleanse_setting(self, key, value):
        return mask_credentials(super().cleanse_setting(key, value))

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, mask_credentials(value)) for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class RedisChannelLayer(ChannelsRedisChannelLayer):
    """channels_redis's core layer: it loses no message to a consumer that ends, and its clean-up cannot fail unseen.

    **A consumer that ends loses nobody else's message.** All the consumers of one server process
    read their channels through one Redis list: whichever is receiving at the moment pops the next
    message, whoever it is for, and puts it in the receiver's buffer (``receive_single`` under
    ``receive_lock``). A consumer that ends has its receive cancelled; if that happens while it holds a
    message it popped for another consumer (its ``BZPOPMIN`` answered, its backup copy not yet written),
    the message is gone: a watcher in a room missed one "left" in a burst of 200 leaves, about one run in
    six (the mechanism of django/channels_redis#366). Here the pop goes on in a task of its own when its
    caller is cancelled, and the next receive takes it over and hands out what it popped, as the
    cancelled caller would have done.

    **A Redis that hangs fails a call, as one that is down does.** Its connections have no socket timeout
    (a receive blocks in ``BZPOPMIN``: see settings.py), so ``send``, ``group_add``, ``group_discard``
    and ``group_send`` (Channels' documented layer API) give up after ``settings.ECHO_LAYER_TIMEOUT``
    with redis-py's ``TimeoutError``: a member who speaks is closed with 1011, a join is refused with
    1013, a leave retries, instead of all of them waiting for as long as Redis is stopped.

    Having received a message, the layer starts a task of its own that removes the message's copy
    from a backup queue in Redis (``_clean_receive_backup``), and never looks at that task again. If
    Redis goes away just then, the task fails, and asyncio logs "Task exception was never retrieved"
    with a traceback (issue 22, Redis killed). Here that failure is logged in one line instead: the copy
    stays in the backup, and the layer puts it back on its channel on its next receive there, if Redis
    kept its data.

    This overrides methods channels_redis does not document as hooks (as echo/tuned.py does for
    Channels): ``echo/tests/test_layer_failures.py`` fails if channels_redis changes them.
    """

    async def _clean_receive_backup(self, index, channel):
        try:
            await super()._clean_receive_backup(index, channel)
        except (RedisConnectionError, RedisTimeoutError) as error:
            logger.warning("channel layer: could not clean a received message's backup in Redis: %s", error)

    async def send(self, channel, message):
        return await self.in_time(super().send(channel, message))

    async def group_add(self, group, channel):
        return await self.in_time(super().group_add(group, channel))

    async def group_discard(self, group, channel):
        return await self.in_time(super().group_discard(group, channel))

    async def group_send(self, group, message):
        return await self.in_time(super().group_send(group, message))

    @staticmethod
    async def in_time(call):
        """Await a layer call for ``settings.ECHO_LAYER_TIMEOUT`` at most; then fail as redis-py does when Redis is
        unreachable, so that whoever handles a Redis that is down handles a Redis that hangs."""
        try:
            return await asyncio.wait_for(call, settings.ECHO_LAYER_TIMEOUT)
        except asyncio.TimeoutError:
            raise RedisTimeoutError(f"Redis did not answer in {settings.ECHO_LAYER_TIMEOUT:g} s") from None

    async def receive_single(self, channel):
        if "!" not in channel:  # a channel a worker reads on its own: nobody else's messages
            return await super().receive_single(channel)
        # The next caller takes over a pop whose caller was cancelled, over or not, and hands out what it popped.
        # (Put in a buffer by a callback instead, a message could wait there while a receiver that had just
        # taken the lock without seeing it pops anew, for as long as nothing else comes.)
        popping, self.abandoned_pop = self.abandoned_pop, None
        if popping is None or popping.done() and (popping.cancelled() or popping.exception() is not None):
            popping = asyncio.ensure_future(super().receive_single(channel))
        try:
            return await asyncio.shield(popping)
        except asyncio.CancelledError:
            self.abandoned_pop = popping
            popping.add_done_callback(log_a_failed_pop)
            raise

    abandoned_pop: asyncio.Future | None = None  # a pop whose caller was cancelled: the next caller's


def log_a_failed_pop(popping: asyncio.Future):
    """A pop nobody awaits any more failed (Redis went away): a line of log, not "exception never retrieved"."""
    if not popping.cancelled() and (error := popping.exception()) is not None:
        logger.warning("channel layer: a receive that was cancelled failed afterwards: %r", error)
