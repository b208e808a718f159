"""What the in-memory channel layer's capacity costs when a member stops reading (settings.py's figure).

    .venv/bin/python benchmarks/layer_capacity_memory.py [CAPACITY]

Fills the channels of 10 members of one room to CAPACITY with room messages of the largest size a
room passes on (4 KiB of JSON, as decode_json gives them), and measures with tracemalloc what the
layer then holds per member. Channels copies each event's dict for each member; the text inside it
is shared. Then one channel full of presence events ("left"), the burst a room must hold.
"""

import asyncio
import json
import sys
import tracemalloc

from channels.layers import InMemoryChannelLayer

MEMBERS = 10


async def held_per_member(capacity: int, event: dict, members: int) -> float:
    layer = InMemoryChannelLayer(capacity=capacity)
    for _ in range(members):
        await layer.group_add("chamber.room", await layer.new_channel())
    tracemalloc.start()
    for _ in range(capacity + 10):  # the last 10 are dropped: the channels are full
        await layer.group_send("chamber.room", event)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size / members


async def main(capacity: int) -> None:
    message = json.loads(json.dumps({"ch": "x" * 4080}))  # about 4 KiB: ECHO_MAX_ROOM_MESSAGE_BYTES
    said = {"type": "chamber.message", "who": "guest-0123456789ab", "message": message}
    per_member = await held_per_member(capacity, said, MEMBERS)
    print(f"capacity {capacity}: {per_member / 2**20:.2f} MiB per member that stopped reading (4 KiB messages)")
    left = {"type": "chamber.presence", "who": "guest-0123456789ab", "event": "left"}
    print(f"capacity {capacity}: {await held_per_member(capacity, left, 1) / 2**10:.0f} KiB for a channel of 'left'")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
