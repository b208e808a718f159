"""A room server in a child process that draws its part of a flow (lesson 06).

Several of these, sharing one Redis, show one ``group_send`` crossing processes.
Each writes its hops to a log file as they happen; the notebook merges the logs
with ``load_flows``. The room is lesson 05's ``RoomConsumer``: join on connect,
send each key to the group, pass each group event to the client.

    worker = serve_flow_worker(redis_server.redis_url, "worker A", log_path)

Run by uvicorn as ``workshop.flow_worker:application``, configured by the
environment: ``REDIS_URL``, ``WORKSHOP_FLOW_PROCESS`` (the process's name in the
diagram) and ``WORKSHOP_FLOW_LOG`` (the file to append hops to).
"""

from __future__ import annotations

import os
import sys

__all__ = ["serve_flow_worker"]


def serve_flow_worker(redis_url: str, process: str, log_path, *, name: str | None = None):
    """Start a flow-drawing room server in a child process; return once it answers."""
    from .serving import serve_process

    open(log_path, "w").close()  # a fresh log: the diagram starts with this server
    env = {"REDIS_URL": redis_url, "WORKSHOP_FLOW_PROCESS": process, "WORKSHOP_FLOW_LOG": str(log_path)}
    return serve_process(
        [sys.executable, "-m", "uvicorn", "workshop.flow_worker:application", "--host", "{host}", "--port", "{port}"],
        env=env,
        name=name or process,
    )


def _application():
    from .django_setup import configure_django
    from .tracing import record_flow, trace, trace_channel_layer

    configure_django(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                # no client-side read timeout: see echo_project/settings.py (redis-py 8)
                "CONFIG": {"hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": None}]},
            }
        }
    )
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    class RoomConsumer(AsyncJsonWebsocketConsumer):
        """Lesson 05's room, with the guest's name from the query string."""

        async def connect(self):
            self.who = self.scope["query_string"].decode().partition("name=")[2] or "guest"
            await self.channel_layer.group_add("room.lobby", self.channel_name)
            await self.accept()

        async def receive_json(self, content):
            await self.channel_layer.group_send(
                "room.lobby", {"type": "room.key", "who": self.who, "ch": content["ch"]}
            )

        async def room_key(self, event):
            await self.send_json({"who": event["who"], "ch": event["ch"]})

        async def disconnect(self, close_code):
            await self.channel_layer.group_discard("room.lobby", self.channel_name)

    trace_channel_layer(label="Redis")
    log = open(os.environ["WORKSHOP_FLOW_LOG"], "a", encoding="utf-8")
    # For the life of the process: the server records until it is stopped. Kept in a global,
    # or the context manager would be collected, and its exit would end the recording.
    global _recording
    _recording = record_flow(os.environ["WORKSHOP_FLOW_PROCESS"], log=log)
    _recording.__enter__()
    return trace(RoomConsumer.as_asgi(), label="consumer")


_recording = None


if "WORKSHOP_FLOW_LOG" in os.environ:  # imported by uvicorn in the child, not by the kit
    application = _application()
