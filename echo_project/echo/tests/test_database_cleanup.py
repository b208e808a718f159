"""Skipping the per-message connection clean-up is for database-free consumers only."""

import pytest
from channels.testing import WebsocketCommunicator

import channels.consumer
from echo.consumers import CarefulJsonWebsocketConsumer, ChamberConsumer, DatabaseFreeMixin, EchoChamberConsumer


class ConsumerThatQueries(CarefulJsonWebsocketConsumer):
    """Stands for any consumer that uses the ORM in its handlers."""

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


@pytest.fixture
def cleanups(monkeypatch):
    calls = []

    async def counting_cleanup():
        calls.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counting_cleanup)
    return calls


async def exchange(consumer_class, messages=3):
    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/echo/")
    await communicator.connect()
    for n in range(messages):
        await communicator.send_json_to({"n": n})
        assert await communicator.receive_json_from() == {"n": n}
    await communicator.disconnect()


async def test_a_consumer_that_uses_the_database_still_cleans_up_before_every_message(cleanups):
    await exchange(ConsumerThatQueries)
    assert len(cleanups) == 1 + 3 + 1  # before websocket.connect, each websocket.receive, websocket.disconnect


async def test_the_echo_skips_the_per_message_clean_up(cleanups):
    await exchange(EchoChamberConsumer)
    assert cleanups == []


def test_only_database_free_consumers_use_the_mixin():
    assert issubclass(EchoChamberConsumer, DatabaseFreeMixin) and issubclass(ChamberConsumer, DatabaseFreeMixin)
    assert not issubclass(CarefulJsonWebsocketConsumer, DatabaseFreeMixin)


async def test_an_unknown_event_type_still_raises():
    consumer = EchoChamberConsumer()
    with pytest.raises(ValueError, match="No handler for message type chamber.nothing"):
        await consumer.dispatch({"type": "chamber.nothing"})
