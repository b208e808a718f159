"""The classroom's HTTP routes, included under classroom/ by echo_project/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.projector, name="classroom-projector"),
    path("instructor/", views.instructor, name="classroom-instructor"),
]
