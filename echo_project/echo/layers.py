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

import logging
import re

from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer
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
    """channels_redis's core layer, whose clean-up after each message it receives cannot fail unseen.

    Having received a message, the layer starts a task of its own that removes the message's copy
    from a backup queue in Redis (``_clean_receive_backup``), and never looks at that task again. If
    Redis goes away just then, the task fails, and asyncio logs "Task exception was never retrieved"
    with a traceback (issue 22, Redis killed). Here that failure is logged in one line instead: the copy
    stays in the backup, and the layer puts it back on its channel on its next receive there, if Redis
    kept its data.

    This overrides a method channels_redis does not document as a hook (as echo/tuned.py does for
    Channels): ``echo/tests/test_layer_failures.py`` fails if channels_redis changes it.
    """

    async def _clean_receive_backup(self, index, channel):
        try:
            await super()._clean_receive_backup(index, channel)
        except (RedisConnectionError, RedisTimeoutError) as error:
            logger.warning("channel layer: could not clean a received message's backup in Redis: %s", error)
