"""The in-memory channel layer, with its expiry sweep run once a second instead of on every receive.

Channels' ``InMemoryChannelLayer`` sweeps every channel and every group for expired
messages each time any consumer receives. In a room of N members, one group message
means N receives, each sweeping N channels: the fan-out grows with N², and the sweep
was the largest single cost of a 100-member fan-out (benchmarks/RESULTS.md). Sweeping
at most once per ``sweep_interval`` keeps the same rules; an expired message may just
linger up to that long before it is dropped.
"""

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    sweep_interval = 1.0  # seconds

    def __init__(self, *args, sweep_interval: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if sweep_interval is not None:
            self.sweep_interval = sweep_interval
        self._last_sweep = float("-inf")

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._last_sweep >= self.sweep_interval:
            self._last_sweep = now
            super()._clean_expired()
