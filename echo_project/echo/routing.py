"""WebSocket routes, as in the talk: `echo/` goes to the echo chamber."""

from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    re_path(r"^echo/$", consumers.EchoChamberConsumer.as_asgi()),
    # Anything else is refused during the handshake (HTTP 403), not with a server error.
    re_path(r"", consumers.UnknownPathConsumer.as_asgi()),
]
