"""configure_django: once per kernel, re-runnable, and loud when a re-run asks for other settings.

Each case runs in a fresh interpreter: Django's settings are per process, and this
one's are echo_project's (pytest-django, pytest.ini).
"""

import os
import subprocess
import sys
import textwrap

import pytest

from workshop import REPO


def run(code: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_running_the_same_cell_twice_is_fine_and_only_the_urls_change():
    result = run("""
        from django.urls import path, resolve
        from workshop import configure_django
        settings = configure_django(DEBUG=False)
        configure_django(DEBUG=False, urlpatterns=[path("a/", lambda request: None, name="a")])
        configure_django(DEBUG=False, urlpatterns=[path("b/", lambda request: None, name="b")])
        print(settings.DEBUG, resolve("/b/").url_name)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "b"]


@pytest.mark.parametrize(
    "first, second, in_force, asked",
    [
        ("", "DEBUG=False", "the kit's defaults", "['DEBUG'] overridden"),
        ("DEBUG=False", "", "['DEBUG'] overridden", "the kit's defaults"),
        ("", "'echo_project.settings'", "the kit's defaults", "'echo_project.settings'"),
        ("'echo_project.settings'", "", "'echo_project.settings'", "the kit's defaults"),
    ],
)
def test_a_rerun_asking_for_other_settings_says_to_restart_the_kernel(first, second, in_force, asked):
    result = run(f"""
        from workshop import configure_django
        configure_django({first})
        configure_django({second})
    """)
    assert result.returncode == 1
    assert "SettingsAlreadyInForce" in result.stderr and "restart the kernel" in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert in_force in message.split("; this call asks for")[0] and asked in message.split("; this call asks for")[1]


def test_settings_made_elsewhere_are_not_silently_replaced():
    result = run("""
        import os, django
        os.environ["DJANGO_SETTINGS_MODULE"] = "echo_project.settings"
        django.setup()
        from workshop import configure_django
        configure_django("echo_project.settings")  # the same: fine
        configure_django()
    """)
    assert result.returncode == 1 and "'echo_project.settings'" in result.stderr.splitlines()[-1]


def test_a_settings_module_sets_django_up_from_it():
    result = run("""
        from workshop import configure_django
        settings = configure_django("echo_project.settings")
        from django.apps import apps
        print(settings.ROOT_URLCONF, apps.is_installed("echo"))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["echo_project.urls", "True"]
