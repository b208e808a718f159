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


async def play(layer) -> list:
    """One script of sends, group sends (a full member among them) and receives; what each step gave."""
    from channels.exceptions import ChannelFull

    seen = []
    members = [f"specific.inmemory!{name}" for name in ("aaaa", "bbbb", "cccc")]
    for member in members:
        await layer.group_add("room", member)
    await layer.send(members[1], {"type": "fills", "n": 0})  # capacity 2: one more fits
    await layer.group_send("room", {"type": "note", "n": 1, "list": [1, {"deep": None}]})
    await layer.group_send("room", {"type": "note", "n": 2})  # members[1] is full: skipped
    try:
        await layer.send(members[1], {"type": "over"})
    except ChannelFull:
        seen.append("full")
    for member in members:
        while member in layer.channels:
            seen.append((member, await layer.receive(member)))
    seen.append(sorted(layer.groups["room"]))
    return seen


async def test_the_tuned_layer_gives_what_channels_layer_gives():
    stock, tuned_layer = channels.layers.InMemoryChannelLayer(capacity=2), InMemoryChannelLayer(capacity=2)
    assert await play(tuned_layer) == await play(stock)


async def test_each_member_gets_a_copy_of_its_own():
    layer = InMemoryChannelLayer()
    members = [await layer.new_channel() for _ in range(2)]
    for member in members:
        await layer.group_add("room", member)
    message = {"type": "note", "said": {"ch": ["x"]}}
    await layer.group_send("room", message)
    first, second = [await layer.receive(member) for member in members]
    first["said"]["ch"].append("changed")
    assert second == message == {"type": "note", "said": {"ch": ["x"]}}
