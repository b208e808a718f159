"""Keeping the channel layer's credentials out of error reports.

A Redis channel layer is configured with a URL, and a URL may carry a password
(``redis://:secret@redis.example:6379/0``). Django's error reports (the debug page,
the e-mails to ADMINS) show the settings; its default filter hides a setting by its
*name* (``PASSWORD``, ``SECRET``, ``KEY``...), and neither ``REDIS_URL`` nor
``CHANNEL_LAYERS`` is such a name. ``CredentialsFilter`` (settings'
``DEFAULT_EXCEPTION_REPORTER_FILTER``) also masks the user and password of any URL, in
settings and in a traceback's local variables.
See https://docs.djangoproject.com/en/stable/howto/error-reporting/#custom-error-reports
"""

import re

from django.views.debug import SafeExceptionReporterFilter

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
