"""The echo chamber's page (the talk's example view)."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt


def _page(request):
    return render(request, "echo/index.html")


_frameable_page = xframe_options_exempt(_page)


def home(request):
    """The page; in development, also inside a frame of the origins in ECHO_FRAME_ANCESTORS.

    Without them, XFrameOptionsMiddleware adds "X-Frame-Options: DENY" and no site may frame it.
    """
    if not settings.ECHO_FRAME_ANCESTORS:
        return _page(request)
    response = _frameable_page(request)
    response["Content-Security-Policy"] = "frame-ancestors " + " ".join(settings.ECHO_FRAME_ANCESTORS)
    return response
