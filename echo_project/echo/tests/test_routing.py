"""asgi.py, the entry point, is the one place that picks the consumers: ECHO_CONSUMERS=stock or tuned.

Each flavour imports the project afresh, in a process of its own: settings are read once per process.
"""

import os
import pathlib
import subprocess
import sys

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[2]  # the folder of manage.py
PROBE = """
from echo_project.asgi import websocket_urlpatterns as routes
echo, chamber, anything = (route.callback for route in routes)
print(echo.consumer_class.__name__, chamber.app.consumer_class.__name__, anything.consumer_class.__name__)
"""


@pytest.mark.parametrize(
    "flavour, consumers",
    [
        ("stock", "EchoChamberConsumer ChamberConsumer UnknownPathConsumer"),
        ("tuned", "TunedEchoChamberConsumer TunedChamberConsumer UnknownPathConsumer"),
    ],
)
def test_asgi_routes_the_consumers_the_setting_names(flavour, consumers):
    env = {**os.environ, "ECHO_CONSUMERS": flavour, "PYTHONPATH": str(PROJECT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # asgi.py names the settings, as under a server
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.split() == consumers.split()
