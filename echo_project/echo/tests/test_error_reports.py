"""Error reports never show the credentials in the channel layer's URLs.

(settings' DEFAULT_EXCEPTION_REPORTER_FILTER)
"""

import sys

from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter

from echo.layers import CredentialsFilter, mask_credentials

PASSWORD = "-".join(["s3cret", "pw"])  # never written whole here: the report quotes this file's source lines
URL = f"redis://admin:{PASSWORD}@redis.example:6379/0"
LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [URL, ("redis.example", 6379), {"address": URL}]},
    }
}


def test_the_project_uses_the_filter():
    assert isinstance(get_default_exception_reporter_filter(), CredentialsFilter)


def test_urls_lose_their_user_and_password_only():
    assert mask_credentials(URL) == "redis://********************@redis.example:6379/0"
    assert mask_credentials("redis://redis.example:6379/0") == "redis://redis.example:6379/0"
    assert mask_credentials(6379) == 6379


@override_settings(REDIS_URL=URL, CHANNEL_LAYERS=LAYERS, DEBUG=True)
def test_a_debug_report_shows_no_password_in_settings_or_local_variables():
    redis_url = URL  # a local variable of the failing frame, as the report shows them  # noqa: F841
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        report = ExceptionReporter(RequestFactory().get("/"), *sys.exc_info()).get_traceback_html()
    assert PASSWORD not in report
    assert "redis.example:6379/0" in report, "the rest of the URL is still there to debug with"
