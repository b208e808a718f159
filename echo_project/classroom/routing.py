"""The classroom's WebSocket routes; echo_project/asgi.py puts them before the echo chamber's."""

from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    re_path(r"^classroom/attendee/$", consumers.AttendeeConsumer.as_asgi()),
    re_path(r"^classroom/projector/$", consumers.ProjectorConsumer.as_asgi()),
]
