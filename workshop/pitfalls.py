"""What people try first, kept here so a lesson can show why it fails.

Never use this to serve for real: ``workshop.serving`` is the way that works.
"""

from __future__ import annotations

import asyncio
import contextvars

import uvicorn

from . import logs
from .serving import LOOPBACK, ReadyServer, bind_loopback


class ServerOnTheKernelLoop:
    """uvicorn as a task on the loop that is running right now: the kernel's."""

    def __init__(self, app):
        self._buffer = logs.LogBuffer()
        self._socket = bind_loopback(LOOPBACK, 0)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}/"
        config = uvicorn.Config(app, log_config=None, log_level="info", lifespan="off")
        self._ready = asyncio.Event()
        self._server = ReadyServer(config, self._ready)
        self._task: asyncio.Task | None = None

    async def start(self) -> ServerOnTheKernelLoop:
        logs.install()
        context = contextvars.copy_context()
        context.run(logs.bind, self._buffer)  # its output goes to its log, as with the kit
        self._task = context.run(asyncio.ensure_future, self._server.serve(sockets=[self._socket]))
        # It can only start while this cell awaits: the loop is the kernel's.
        ready = asyncio.ensure_future(self._ready.wait())
        await asyncio.wait([self._task, ready], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if not self._server.started:
            await self._task  # raises what made the start fail
        return self

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task
        self._socket.close()


async def serve_on_the_kernel_loop(app) -> ServerOnTheKernelLoop:
    """Start uvicorn on the running event loop, the way that deadlocks a blocking call."""
    return await ServerOnTheKernelLoop(app).start()
