"""WSGI entry point: HTTP only. The echo chamber needs ASGI (asgi.py) for its WebSockets."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_project.settings")

application = get_wsgi_application()
