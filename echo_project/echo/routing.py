"""WebSocket routes: `echo/` goes to the echo chamber, as in the talk; `chamber/<room>/` to a room."""

from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    re_path(r"^echo/$", consumers.EchoChamberConsumer.as_asgi()),
    re_path(r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$", consumers.ChamberConsumer.as_asgi()),
    # Anything else is refused during the handshake (HTTP 403), not with a server error.
    re_path(r"", consumers.UnknownPathConsumer.as_asgi()),
]
