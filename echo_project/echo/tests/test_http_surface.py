"""The HTTP surface: no credential on error pages, TRACE refused, nosniff on static files, a spoofed Host
answered cheaply.

Requests go through ``echo_project.asgi.application`` in this process, as a server would
send them (the static files handler and the middleware included).
"""

import sys
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.test import Client, RequestFactory, override_settings
from django.views import debug
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter

from echo import middleware
from echo.error_reports import SettingsCredentialsFilter, mask_sensitive_query
from echo_project.asgi import application

SECRET = "-".join(["s3cret", "pw"])  # never written whole here: the report quotes this file's source lines


def test_the_project_uses_the_filter():
    assert isinstance(get_default_exception_reporter_filter(), SettingsCredentialsFilter)


@pytest.mark.parametrize(
    "url, masked",
    [
        (f"redis://redis.example:6379/0?password={SECRET}", "redis://redis.example:6379/0?password=*"),
        (f"redis://h/0?db=1&PASSWORD={SECRET}&x=2", "redis://h/0?db=1&PASSWORD=*&x=2"),
        (f"postgres://h/db?sslmode=require&sslpassword={SECRET}", "postgres://h/db?sslmode=require&sslpassword=*"),
        (f"https://api.example/v1?api_key={SECRET}#top", "https://api.example/v1?api_key=*#top"),
        (f"amqp://h/?auth_token={SECRET};heartbeat=5", "amqp://h/?auth_token=*;heartbeat=5"),
        ("redis://h/0?db=1&socket_timeout=5", "redis://h/0?db=1&socket_timeout=5"),  # nothing secret: unchanged
    ],
)
def test_sensitive_query_parameters_lose_their_value_only(url, masked):
    assert mask_sensitive_query(url) == masked.replace("*", SettingsCredentialsFilter.cleansed_substitute)
    assert mask_sensitive_query(6379) == 6379


QUERY_URL = f"redis://redis.example:6379/0?password={SECRET}&db=0"
USERINFO_URL = f"redis://admin:{SECRET}@redis.example:6379/1"
LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [QUERY_URL, {"address": USERINFO_URL}, ("redis.example", 6379)]},
    }
}


@override_settings(REDIS_URL=QUERY_URL, CHANNEL_LAYERS=LAYERS, ECHO_BACKUP_URLS=[USERINFO_URL], DEBUG=True)
def test_a_debug_report_shows_no_credential_of_any_url_in_settings_or_local_variables():
    redis_url = QUERY_URL  # a local variable of the failing frame, as the report shows them  # noqa: F841
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        report = ExceptionReporter(RequestFactory().get("/"), *sys.exc_info()).get_traceback_html()
    assert SECRET not in report
    assert "redis.example:6379/0?password=" in report and "db=0" in report, "the rest is still there to debug with"


async def respond(method, path, host=b"127.0.0.1:8000"):
    """Status, headers (lower-case names) and body, as a server would receive them from the application."""
    scope = {"type": "http", "http_version": "1.1", "method": method, "path": path, "query_string": b""}
    communicator = ApplicationCommunicator(application, {**scope, "headers": [(b"host", host)]})
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(30)
    body, more = b"", True
    while more:  # a file's last chunk may have no "body" (the ASGI spec allows it: Channels' HttpCommunicator fails)
        chunk = await communicator.receive_output(30)
        body, more = body + chunk.get("body", b""), chunk.get("more_body", False)
    return start["status"], {name.lower(): value for name, value in start.get("headers", [])}, body


@pytest.mark.parametrize("path", ["/", "/static/echo/echo.js", "/nowhere/"])
async def test_trace_gets_405_everywhere(path):
    status, headers, body = await respond("TRACE", path)
    assert status == 405 and headers[b"allow"] == b"GET, HEAD"
    assert b"127.0.0.1" not in body, "nothing of the request echoed back"


async def test_static_files_are_served_with_nosniff_and_the_page_too():
    status, headers, _ = await respond("GET", "/static/echo/echo.js")
    assert status == 200 and headers[b"x-content-type-options"] == b"nosniff"
    status, headers, _ = await respond("GET", "/")
    assert status == 200 and headers[b"x-content-type-options"] == b"nosniff"  # SecurityMiddleware's


@pytest.mark.parametrize("debug_on", [True, False])
async def test_a_spoofed_host_gets_one_line_on_the_event_loop_and_no_technical_page(monkeypatch, debug_on):
    def no_technical_page(*args, **kwargs):
        raise AssertionError("a technical page was rendered")

    monkeypatch.setattr(debug, "technical_500_response", no_technical_page)
    threads = []
    refusal = middleware.refusal

    def refusal_here(request):
        threads.append(threading.current_thread())
        return refusal(request)

    monkeypatch.setattr(middleware, "refusal", refusal_here)
    with override_settings(DEBUG=debug_on):
        status, headers, body = await respond("GET", "/", host=b"evil.example")
    assert status == 400 and headers[b"content-type"].startswith(b"text/plain")
    assert len(body) < 200, body
    if debug_on:
        assert b"You may need to add 'evil.example' to ALLOWED_HOSTS." in body, "what Django's page would say"
    else:
        assert body == b"Bad Request (400)\n"
    assert threads == [threading.current_thread()], "refused on the event loop, not on a thread"
    status, _, _ = await respond("GET", "/")
    assert status == 200, "an allowed host is served"


def test_under_a_sync_server_too():
    """The middleware also works when Django runs synchronously (WSGI, the test client)."""
    client = Client(HTTP_HOST="127.0.0.1")
    assert client.generic("TRACE", "/").status_code == 405
    spoofed = client.get("/", HTTP_HOST="evil.example")
    assert spoofed.status_code == 400 and b"ALLOWED_HOSTS" in spoofed.content
    assert client.get("/").status_code == 200
