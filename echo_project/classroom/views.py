"""The classroom's pages: the projector's grid (anyone in the room may look), and the instructor's view.

The instructor's view asks for the token printed at start, in a form posted with Django's CSRF protection:
never in a URL, where logs and browser histories would keep it.
"""

import secrets

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import evening
from .consumers import PROJECTORS


def projector(request):
    return render(request, "classroom/projector.html")


def _is_instructor(request) -> bool:
    token, expected = request.POST.get("token", ""), settings.CLASSROOM_TOKEN
    return bool(expected) and secrets.compare_digest(token.encode(), expected.encode())


@require_http_methods(["GET", "POST"])
def instructor(request):
    if request.method == "GET":
        return render(request, "classroom/instructor.html", {"done": request.GET.get("done") == "reset"})
    if not _is_instructor(request):
        return render(request, "classroom/instructor.html", {"refused": True}, status=403)
    if request.POST.get("action") == "reset":
        evening.reset()
        async_to_sync(get_channel_layer().group_send)(PROJECTORS, {"type": "classroom.reset"})
        return redirect("./?done=reset")  # relative: also behind a path prefix
    response = HttpResponse(evening.as_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="classroom.csv"'
    return response
