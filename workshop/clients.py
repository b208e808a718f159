"""Talk to the servers from a cell: one HTTP helper, one WebSocket helper.

Both go straight to the address given, never through a proxy from the
environment (a corporate HTTP_PROXY would otherwise swallow 127.0.0.1).
"""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["Response", "connect_ws", "fetch", "origin_of"]

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclasses.dataclass
class Response:
    """What came back: status, headers (lower-case names) and the body."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def __str__(self):
        return f"{self.status} {self.reason}\n{self.text}"


def fetch(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict | None = None, timeout: float = 10
) -> Response:
    """A plain, blocking HTTP request. Error statuses (404, 500) are returned, not raised."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Response(response.status, response.reason, _lower(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.reason, _lower(error.headers), error.read())


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def origin_of(url: str) -> str:
    """The Origin a page served from the same host would send: ws://h:p/x -> http://h:p."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


_SAME_HOST = object()


def connect_ws(url: str, *, origin: str | None = _SAME_HOST, **options):
    """Open a WebSocket: ``async with connect_ws(server.ws_url("echo/")) as ws:``.

    Sends the Origin a browser on the same host would send, because Channels'
    ``AllowedHostsOriginValidator`` turns away clients without one; pass
    ``origin="http://evil.example"`` to play a foreign page, ``origin=None`` for none.
    Other keyword arguments go to ``websockets.asyncio.client.connect``.
    """
    from websockets.asyncio.client import connect

    if origin is _SAME_HOST:
        origin = origin_of(url)
    options = {"open_timeout": 10, "close_timeout": 2, "proxy": None, **options}
    return connect(url, origin=origin, **options)
