"""Skipping the per-message connection clean-up is opt-in (echo/tuned.py), for database-free consumers only."""

import channels.consumer
import channels.generic.websocket
import pytest
from channels.testing import WebsocketCommunicator

from echo.consumers import CarefulJsonWebsocketConsumer, ChamberConsumer, EchoChamberConsumer
from echo.tuned import DatabaseFreeMixin, TunedChamberConsumer, TunedEchoChamberConsumer


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
    monkeypatch.setattr(channels.generic.websocket, "aclose_old_connections", counting_cleanup)
    return calls


async def exchange(consumer_class, messages=3):
    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/echo/")
    await communicator.connect()
    for n in range(messages):
        await communicator.send_json_to({"n": n})
        assert await communicator.receive_json_from() == {"n": n}
    await communicator.disconnect()


@pytest.mark.parametrize("consumer_class", [ConsumerThatQueries, EchoChamberConsumer])
async def test_stock_consumers_clean_up_before_every_message(cleanups, consumer_class):
    await exchange(consumer_class)
    # before websocket.connect and each websocket.receive (dispatch); then on websocket.disconnect, twice
    # (dispatch, and websocket_disconnect after disconnect())
    assert len(cleanups) == 1 + 3 + 2


async def test_the_tuned_echo_skips_the_per_message_clean_up_but_not_the_one_on_disconnect(cleanups):
    await exchange(TunedEchoChamberConsumer)
    assert len(cleanups) == 1  # websocket_disconnect's


def test_the_default_consumers_are_stock_and_only_the_tuned_ones_use_the_mixin():
    for stock in (EchoChamberConsumer, ChamberConsumer, CarefulJsonWebsocketConsumer):
        assert not issubclass(stock, DatabaseFreeMixin)
    assert issubclass(TunedEchoChamberConsumer, DatabaseFreeMixin) and issubclass(
        TunedChamberConsumer, DatabaseFreeMixin
    )


def test_the_stock_consumers_override_only_documented_hooks():
    documented = {"connect", "receive", "receive_json", "disconnect", "decode_json", "encode_json"}
    # and an attribute: "Consumers will use the channel layer default unless the channel_layer_alias attribute
    # is set" (https://channels.readthedocs.io/en/latest/topics/consumers.html#channel-layers)
    documented.add("channel_layer_alias")
    for consumer in (CarefulJsonWebsocketConsumer, EchoChamberConsumer, ChamberConsumer):
        channels_methods = {
            name for klass in consumer.__mro__ if klass.__module__.startswith("channels") for name in vars(klass)
        }
        overridden = {
            name
            for klass in consumer.__mro__
            if klass.__module__ == "echo.consumers"
            for name in vars(klass)
            if name in channels_methods and not name.startswith("__")
        }
        assert overridden <= documented, consumer
        own = {name for klass in consumer.__mro__ if klass.__module__ == "echo.consumers" for name in vars(klass)}
        assert not {"__call__", "dispatch"} & own and not any(
            name.startswith("_") and not name.startswith("__") for name in own
        ), consumer


async def test_an_unknown_event_type_still_raises():
    consumer = TunedEchoChamberConsumer()
    with pytest.raises(ValueError, match="No handler for message type chamber.nothing"):
        await consumer.dispatch({"type": "chamber.nothing"})
