"""Keeping every credential in the settings out of error reports (the DEBUG page, the e-mails to ADMINS).

Django's own filter hides a setting by its *name* (``SafeExceptionReporterFilter.hidden_settings``:
API, AUTH, TOKEN, KEY, SECRET, PASS, SIGNATURE, HTTP_COOKIE); ``echo.layers.CredentialsFilter``
also masks the user and password of any URL (``redis://user:secret@host``). A URL carries
credentials in its query too: redis-py reads ``redis://host/0?password=secret``, and a database
URL may say ``?sslpassword=...`` or ``?api_key=...``. ``SettingsCredentialsFilter`` (settings'
``DEFAULT_EXCEPTION_REPORTER_FILTER``) masks, in any string of a report's settings and local
variables, the value of every query parameter whose name Django's pattern calls sensitive.
See https://docs.djangoproject.com/en/5.2/howto/error-reporting/#custom-error-reports
"""

import re

from echo.layers import CredentialsFilter, mask_credentials

# ?name=value or &name=value (or ;name=value): the name and the value, up to the next separator.
QUERY_PARAMETER = re.compile(r"(?P<start>[?&;](?P<name>[^=&;#?\s'\"]+)=)(?P<value>[^&;#\s'\"]*)")


def mask_sensitive_query(value, hidden=CredentialsFilter.hidden_settings):
    """``value`` with the value of each query parameter named like a secret replaced by stars (strings only)."""
    if not isinstance(value, str) or "=" not in value:
        return value

    def mask(match):
        if not hidden.search(match["name"]):
            return match[0]
        return match["start"] + CredentialsFilter.cleansed_substitute

    return QUERY_PARAMETER.sub(mask, value)


class SettingsCredentialsFilter(CredentialsFilter):
    """Django's filter, no URL user and password, and no sensitive query parameter anywhere in a report."""

    def cleanse_setting(self, key, value):
        return mask_sensitive_query(super().cleanse_setting(key, value))  # Django recurses through this

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, mask_sensitive_query(mask_credentials(value)))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
