"""WebSocket routes: `echo/` goes to the echo chamber, as in the talk; `chamber/<room>/` to a room.

``settings.ECHO_CONSUMERS`` picks the consumers: "stock" (echo/consumers.py) or "tuned" (echo/tuned.py).
"""

from django.conf import settings
from django.urls import re_path

from . import consumers

if settings.ECHO_CONSUMERS == "tuned":
    from .tuned import TunedChamberConsumer as ChamberConsumer
    from .tuned import TunedEchoChamberConsumer as EchoChamberConsumer
else:
    from .consumers import ChamberConsumer, EchoChamberConsumer

websocket_urlpatterns = [
    re_path(r"^echo/$", EchoChamberConsumer.as_asgi()),
    # A room reads its channel layer all along: if Redis goes away, its members are closed with 1011 and a reason.
    re_path(r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$", consumers.CloseWhenItFails(ChamberConsumer.as_asgi())),
    # Anything else is refused during the handshake (HTTP 403), not with a server error.
    re_path(r"", consumers.UnknownPathConsumer.as_asgi()),
]
