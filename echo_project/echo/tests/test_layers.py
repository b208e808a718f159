"""The tuned in-memory layer, with a throttled sweep, still delivers, and still expires."""

import channels.layers

from echo import tuned
from echo.tuned import InMemoryChannelLayer


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def fake_clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(channels.layers.time, "time", clock)
    monkeypatch.setattr(tuned.time, "monotonic", clock)
    return clock


async def test_group_messages_reach_every_member():
    layer = InMemoryChannelLayer()
    members = [await layer.new_channel() for _ in range(3)]
    for member in members:
        await layer.group_add("room", member)
    await layer.group_send("room", {"type": "note", "n": 1})
    assert [await layer.receive(member) for member in members] == [{"type": "note", "n": 1}] * 3


async def test_expired_messages_are_still_dropped_at_the_next_sweep(monkeypatch):
    clock = fake_clock(monkeypatch)
    layer = InMemoryChannelLayer(expiry=10, sweep_interval=1)
    slow, busy = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", slow)
    await layer.send(slow, {"type": "old"})
    await layer.send(busy, {"type": "first"})
    await layer.receive(busy)  # sweeps now, at t=1000: nothing has expired
    clock.now += 11  # "old" has expired
    await layer.send(busy, {"type": "second"})
    await layer.receive(busy)  # more than sweep_interval later: sweeps again
    assert slow not in layer.channels, "the expired message was dropped"
    assert slow not in layer.groups.get("room", {}), "and its channel left the group, as in Channels"


async def test_no_sweep_within_the_interval(monkeypatch):
    clock = fake_clock(monkeypatch)
    layer = InMemoryChannelLayer(expiry=10, sweep_interval=1)
    slow, busy = await layer.new_channel(), await layer.new_channel()
    await layer.send(busy, {"type": "first"})
    await layer.receive(busy)  # sweeps at t=1000
    await layer.send(slow, {"type": "old"})
    clock.now += 0.5  # within the interval, and the message has not expired anyway
    await layer.send(busy, {"type": "second"})
    await layer.receive(busy)
    assert slow in layer.channels


async def test_a_full_channel_still_raises_and_group_send_still_skips_it():
    import pytest
    from channels.exceptions import ChannelFull

    layer = InMemoryChannelLayer(capacity=1)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "one"})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "two"})
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "dropped"})  # no error, as in Channels
    assert await layer.receive(channel) == {"type": "one"}
