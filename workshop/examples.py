"""Small ready-made apps for the welcome notebook, the preflight, and lesson 10 (and `make bench`)."""


async def hello_and_echo(scope, receive, send):
    """An ASGI app: HTTP gets a greeting, a WebSocket gets its text messages back."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"Hello from ASGI!\n"})
    elif scope["type"] == "websocket":
        while True:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif message["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": message.get("text")})
            elif message["type"] == "websocket.disconnect":
                return


async def asgi_echo(scope, receive, send):
    """The smallest ASGI WebSocket echo: what Channels adds its features on top of."""
    if scope["type"] != "websocket":
        return
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")})
        else:
            return
