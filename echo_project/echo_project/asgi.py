"""ASGI entry point: HTTP to Django's views, WebSockets to the echo chamber's and the classroom's consumers.

Run it with `python manage.py runserver` (daphne), or under uvicorn with the command in the
README, which is `workshop.project.echo_project_command()` (transport limits included).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")
# Set Django up before importing anything that touches models (the auth middleware).
django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.exceptions import SuspiciousOperation  # noqa: E402
from django.http import Http404, HttpResponseNotAllowed  # noqa: E402

import classroom.routing  # noqa: E402
import echo.routing  # noqa: E402
import echo.workers  # noqa: E402

# The one place that picks the consumers (settings.ECHO_CONSUMERS): the stock ones, or the tuned ones
# with an auth stack that makes fewer copies of the scope (echo/tuned.py).
if settings.ECHO_CONSUMERS == "tuned":
    from echo.tuned import AuthMiddlewareStack, TunedChamberConsumer, TunedEchoChamberConsumer  # noqa: E402, F811

    websocket_urlpatterns = echo.routing.routes(TunedEchoChamberConsumer, TunedChamberConsumer)
else:
    websocket_urlpatterns = echo.routing.websocket_urlpatterns


class StaticFilesHandler(ASGIStaticFilesHandler):
    """Django's static files handler, with a path that leaves static/ (``/static/../x``) a 404, not a 500,
    ``TRACE`` a 405, and ``X-Content-Type-Options: nosniff`` on every file.

    Django's handler turns only ``Http404`` into a response; the ``SuspiciousFileOperation``
    its path check raises would otherwise escape as a server error with a logged traceback.
    It serves files outside the middleware, so neither SecurityMiddleware's nosniff (which
    stops a browser from running a file as another type than the one it is served as) nor
    echo/middleware.py's refusals reach them: they are here.
    """

    def serve(self, request):
        if request.method == "TRACE":
            return HttpResponseNotAllowed(["GET", "HEAD"])
        try:
            response = super().serve(request)
        except SuspiciousOperation as error:
            raise Http404("no such file") from error
        response["X-Content-Type-Options"] = "nosniff"
        return response


application = ProtocolTypeRouter(
    {
        # The page's script and style are served by Django itself, under any server, so the
        # workshop needs no web server in front. In production, serve static/ with a proxy.
        "http": StaticFilesHandler(django_http),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(classroom.routing.websocket_urlpatterns + websocket_urlpatterns))
        ),
        # Jobs sent to named channels, for `manage.py runworker room-summary` (echo/workers.py).
        "channel": ChannelNameRouter(
            {echo.workers.SUMMARY: echo.workers.skipping_failed_jobs(echo.workers.RoomSummaryConsumer.as_asgi())}
        ),
    }
)
