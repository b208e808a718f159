"""Refusals answered cheaply, before any view: a spoofed ``Host`` and ``TRACE``.

A request whose ``Host`` is not in ``ALLOWED_HOSTS`` makes Django raise ``DisallowedHost``
(in ``CommonMiddleware``); with ``DEBUG`` on, Django answers it with its technical page, 69 KB
rendered for each such request, while the consumers wait for the CPU: 16 clients spoofing
``Host`` took the stock echo's median round trip from 0.2 to 35-39 ms, against 11-13 ms with
this middleware (benchmarks/spoofed_host.py, benchmarks/RESULTS.md). This middleware,
first in ``MIDDLEWARE`` and asynchronous (so it runs on the event loop, no thread), answers
them a one-line 400 instead: the line Django's page would explain (which host to add to
``ALLOWED_HOSTS``) while ``DEBUG`` is on, "Bad Request (400)" otherwise. Django's security
log still records each one, in one line.

``TRACE`` (which echoes a request back, and which no page here needs) gets 405; static files,
which Django serves outside the middleware, get the same from ``echo_project/asgi.py``.
"""

import logging

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils.decorators import sync_and_async_middleware

security_logger = logging.getLogger("django.security.DisallowedHost")


def refusal(request):
    """The response for a request refused before any view, or None to let it through."""
    if request.method == "TRACE":
        return HttpResponseNotAllowed(["GET", "HEAD"])
    try:
        request.get_host()
    except DisallowedHost as error:
        text = f"{error}\n" if settings.DEBUG else "Bad Request (400)\n"
        response = HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
        response["X-Content-Type-Options"] = "nosniff"
        # One line, as Django logs it but without the traceback: a spoofed Host is not a bug here.
        security_logger.error(str(error), extra={"status_code": 400, "request": request})
        return response
    return None


@sync_and_async_middleware
def cheap_refusals(get_response):
    """A spoofed Host gets a one-line 400 and TRACE a 405, on the event loop, before any technical page.

    Django's function middleware for both worlds (docs: "Asynchronous support" in Middleware):
    under ASGI the stack is async, so this runs on the event loop and costs no thread hop.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request):
            response = refusal(request)
            return await get_response(request) if response is None else response

    else:

        def middleware(request):
            response = refusal(request)
            return get_response(request) if response is None else response

    return middleware
