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


class SettingsAlreadyInForce(RuntimeError):
    """A re-run asked for other settings than the ones Django was set up with in this kernel."""


# What the first call asked for; later calls must ask for the same (only the URLs may change).
_requested: dict | None = None


def configure_django(settings_module: str | None = None, *, urlpatterns: list | None = None, **settings_overrides):
    """Configure Django for a notebook and set it up; on a re-run, change only the URLs.

    Django's settings are made once per process (``settings.configure()`` or
    ``DJANGO_SETTINGS_MODULE``, then ``django.setup()``), so a cell that does it
    directly fails, or is silently ignored, on "Run All" twice. With no
    ``settings_module``, DEFAULTS (overridden by keyword arguments) are used and
    a temporary SQLite file is the database; with one, e.g. ``"echo_project.settings"``,
    that module is. ``urlpatterns`` become the ROOT_URLCONF, no urls.py module needed.

    Asking again for the same settings is a no-op; asking for different ones raises
    SettingsAlreadyInForce, which says to restart the kernel.
    """
    global _requested
    import django
    from django.conf import settings
    from django.urls import clear_url_caches

    if settings_module and settings_overrides:
        raise TypeError("give a settings module or settings to override, not both: a module says it all")
    request = {"settings_module": settings_module, **settings_overrides}
    logs.install()  # before Django's logging handlers take hold of sys.stderr
    if not settings.configured:
        if settings_module:
            os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
        else:
            database = {"ENGINE": "django.db.backends.sqlite3", "NAME": _temporary_database()}
            settings.configure(**{**DEFAULTS, "DATABASES": {"default": database}, **settings_overrides})
        django.setup()
        _requested = request
    elif request != (_requested or {"settings_module": os.environ.get("DJANGO_SETTINGS_MODULE")}):
        raise SettingsAlreadyInForce(_mismatch(request, _requested))
    if urlpatterns is not None:
        urlconf = types.ModuleType("notebook_urls")  # what a urls.py would be, made in memory
        urlconf.urlpatterns = urlpatterns
        settings.ROOT_URLCONF = urlconf
        clear_url_caches()
    return settings


def _mismatch(request: dict, in_force: dict | None) -> str:
    def describe(asked: dict) -> str:
        module = asked.get("settings_module")
        overrides = {key: value for key, value in asked.items() if key != "settings_module"}
        if module:
            return f"the settings module {module!r}"
        return "the kit's defaults" + (f" with {sorted(overrides)} overridden" if overrides else "")

    if in_force is None:
        module = os.environ.get("DJANGO_SETTINGS_MODULE")
        now = f"the settings module {module!r}" if module else "settings configured outside configure_django"
    else:
        now = describe(in_force)
    return (
        f"Django is already set up in this kernel with {now}; this call asks for {describe(request)}. "
        "Django reads its settings once per process: restart the kernel (Kernel > Restart Kernel) "
        "and run the notebook from the top to use the new ones."
    )
