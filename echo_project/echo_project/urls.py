"""HTTP routes: the echo chamber's page, and the classroom's (classroom/urls.py)."""

from django.urls import include, path

from echo import views as echo_views

urlpatterns = [
    path("", echo_views.home, name="home"),
    path("classroom/", include("classroom.urls")),
]
