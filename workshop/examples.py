"""Small ready-made apps for the welcome notebook and the preflight."""


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
