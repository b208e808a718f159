"""Django inside a notebook: configured once, however often the cell runs."""

from __future__ import annotations

import atexit
import os
import tempfile
import types

from . import logs
from .paths import state_dir

DEFAULTS = {
    "DEBUG": True,
    "SECRET_KEY": "workshop-only-never-use-in-production",
    "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
    "INSTALLED_APPS": [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "channels",
    ],
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    "CHANNEL_LAYERS": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    "USE_TZ": True,
    "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
}


def _temporary_database() -> str:
    """A SQLite file for this kernel only, removed at exit.

    A file, not ":memory:": Channels runs ORM calls in worker threads, and each
    thread would get an empty in-memory database of its own.
    """
    handle, path = tempfile.mkstemp(prefix="django-", suffix=".sqlite3", dir=state_dir("db"))
    os.close(handle)
    atexit.register(lambda: os.path.exists(path) and os.remove(path))
    return path


def configure_django(*, urlpatterns: list | None = None, **settings_overrides):
    """Configure Django for a notebook and set it up; on a re-run, change only the URLs.

    ``settings.configure()`` may be called once per process, so a cell that calls
    it directly fails on "Run All" twice. Keyword arguments override DEFAULTS.
    ``urlpatterns`` become the ROOT_URLCONF, no urls.py module needed.
    """
    import django
    from django.conf import settings
    from django.urls import clear_url_caches

    logs.install()  # before Django's logging handlers take hold of sys.stderr
    if not settings.configured:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": _temporary_database()}
        settings.configure(**{**DEFAULTS, "DATABASES": {"default": database}, **settings_overrides})
        django.setup()
    if urlpatterns is not None:
        urlconf = types.ModuleType("notebook_urls")  # what a urls.py would be, made in memory
        urlconf.urlpatterns = urlpatterns
        settings.ROOT_URLCONF = urlconf
        clear_url_caches()
    return settings
