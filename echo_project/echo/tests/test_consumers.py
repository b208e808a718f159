"""The echo chamber's consumer, through the project's whole ASGI stack, without a server."""

import json

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import override_settings

from echo_project.asgi import application

SAME_ORIGIN = [(b"origin", b"http://127.0.0.1")]


async def connected(path="/echo/", headers=SAME_ORIGIN):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    accepted, _ = await communicator.connect()
    assert accepted
    return communicator


@pytest.mark.parametrize("value", [{"ch": "x"}, {"ch": "é"}, [1, "two", None], "text", 12345678901234567890, {}])
async def test_echoes_any_json_value(value):
    communicator = await connected()
    await communicator.send_to(text_data=json.dumps(value))
    assert json.loads(await communicator.receive_from()) == value
    await communicator.disconnect()


async def test_invalid_json_gets_an_error_and_the_connection_stays_open():
    communicator = await connected()
    await communicator.send_to(text_data="{not json")
    reply = json.loads(await communicator.receive_from())
    assert reply["error"].startswith("invalid JSON")
    await communicator.send_json_to({"ch": "a"})
    assert await communicator.receive_json_from() == {"ch": "a"}
    await communicator.disconnect()


async def test_a_binary_frame_gets_an_error_and_the_connection_stays_open():
    communicator = await connected()
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert "binary frames are not supported" in (await communicator.receive_json_from())["error"]
    await communicator.send_json_to({"ch": "b"})
    assert await communicator.receive_json_from() == {"ch": "b"}
    await communicator.disconnect()


@override_settings(ECHO_MAX_MESSAGE_BYTES=100)
async def test_a_frame_over_the_limit_closes_with_1009():
    communicator = await connected()
    await communicator.send_json_to({"ch": "x" * 50})
    assert await communicator.receive_json_from() == {"ch": "x" * 50}
    await communicator.send_json_to({"ch": "x" * 200})
    closing = await communicator.receive_output()
    assert (closing["type"], closing["code"]) == ("websocket.close", 1009)


async def test_the_default_limit_is_64_kib():
    communicator = await connected()
    await communicator.send_to(text_data=json.dumps("x" * (64 * 1024 - 2)))  # exactly 64 KiB with quotes
    assert len(await communicator.receive_from()) == 64 * 1024
    await communicator.send_to(text_data=json.dumps("x" * (64 * 1024)))
    assert (await communicator.receive_output())["code"] == 1009


@pytest.mark.parametrize("headers", [[(b"origin", b"http://evil.example")], []], ids=["foreign", "none"])
async def test_an_origin_not_in_allowed_hosts_is_rejected(headers):
    communicator = WebsocketCommunicator(application, "/echo/", headers=headers)
    accepted, _ = await communicator.connect()
    assert not accepted


async def test_an_unknown_path_is_rejected_without_a_server_error():
    communicator = WebsocketCommunicator(application, "/nowhere/", headers=SAME_ORIGIN)
    accepted, _ = await communicator.connect()
    assert not accepted


async def test_the_page_is_served_without_external_assets():
    page = HttpCommunicator(application, "GET", "/", headers=[(b"host", b"127.0.0.1")])
    response = await page.get_response()
    assert response["status"] == 200
    body = response["body"].decode()
    assert "The echo chamber" in body and 'src="static/echo/echo.js"' in body
    assert "http://" not in body and "https://" not in body, "no external asset: it must work offline"
    # The script itself is fetched from real servers in the workshop's tests/echo_project/test_serving.py
    # (HttpCommunicator cannot read a streamed file response).
