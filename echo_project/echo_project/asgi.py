"""ASGI entry point: HTTP to Django's views, WebSockets to the echo chamber's consumers.

Run it with `python manage.py runserver` (daphne) or
`uvicorn echo_project.asgi:application` (from the echo_project folder).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")
# Set Django up before importing anything that touches models (the auth middleware).
django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

import echo.routing  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The page's script and style are served by Django itself, under any server, so the
        # workshop needs no web server in front. In production, serve static/ with a proxy.
        "http": ASGIStaticFilesHandler(django_http),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(echo.routing.websocket_urlpatterns))),
    }
)
