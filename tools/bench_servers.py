"""The baselines `make bench` compares the echo chamber against, each run in a process of its own.

python -m tools.bench_servers tcp PORT          # a TCP echo: the floor
python -m tools.bench_servers websockets PORT   # a raw `websockets` echo server
python -m tools.bench_servers broadcast PORT    # what one client sends, `websockets.broadcast` to all
uvicorn workshop.examples:asgi_echo             # a raw ASGI echo, no framework (lesson 10 serves it too)
"""

from __future__ import annotations

import asyncio
import sys


async def _tcp_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def serve_tcp(port: int) -> None:
    server = await asyncio.start_server(_tcp_echo, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def serve_websockets(port: int) -> None:
    from websockets.asyncio.server import serve

    async def echo(connection):
        async for message in connection:
            await connection.send(message)

    async with serve(echo, "127.0.0.1", port, compression=None, max_size=2**20) as server:
        await server.serve_forever()


async def serve_broadcast(port: int) -> None:
    from websockets import broadcast
    from websockets.asyncio.server import serve

    everyone = set()

    async def relay(connection):
        everyone.add(connection)
        try:
            async for message in connection:
                broadcast(everyone, message)
        finally:
            everyone.discard(connection)

    async with serve(relay, "127.0.0.1", port, compression=None, max_size=2**20) as server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    kind, port = argv[0], int(argv[1])
    serve = {"tcp": serve_tcp, "websockets": serve_websockets, "broadcast": serve_broadcast}[kind]
    try:
        import uvloop

        uvloop.run(serve(port))
    except ImportError:
        asyncio.run(serve(port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
