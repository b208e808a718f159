"""Fixtures that echo_project's tests here share."""

import pytest

from tests.helpers import require_redis_server
from workshop.redis_server import serve_redis


@pytest.fixture(params=["memory", "redis"])
def layer_env(request):
    """The environment for a server on each channel layer: in memory, or a Redis of the test's own."""
    if request.param == "memory":
        yield {"REDIS_URL": ""}
        return
    require_redis_server()
    with serve_redis(name=f"{request.module.__name__.rsplit('.', 1)[-1]}: redis") as redis:
        yield {"REDIS_URL": redis.redis_url}
