"""The echo chamber's page (the talk's example view)."""

from django.shortcuts import render


def home(request):
    return render(request, "echo/index.html")
