"""WebSocket routes: `echo/` goes to the echo chamber, as in the talk; `chamber/<room>/` to a room.

``websocket_urlpatterns`` routes to the stock consumers (echo/consumers.py); ``routes()`` builds the same
routes for another pair, which is how echo_project/asgi.py serves the tuned ones (echo/tuned.py).
"""

from django.urls import re_path

from . import consumers


def routes(echo_consumer, chamber_consumer):
    return [
        re_path(r"^echo/$", echo_consumer.as_asgi()),
        # A room reads its channel layer all along: if Redis goes away, its members are closed with 1011 and a reason.
        re_path(r"^chamber/(?P<room>[A-Za-z0-9_-]{1,50})/$", consumers.CloseWhenItFails(chamber_consumer.as_asgi())),
        # Anything else is refused during the handshake (HTTP 403), not with a server error.
        re_path(r"", consumers.UnknownPathConsumer.as_asgi()),
    ]


websocket_urlpatterns = routes(consumers.EchoChamberConsumer, consumers.ChamberConsumer)
