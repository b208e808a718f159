"""The classroom's latency: from a check's return in an attendee's process to its row on the projector.

    .venv/bin/python -m benchmarks.classroom_latency [ROUNDS]

Serves the classroom as ``make classroom`` does (echo_project under uvicorn, DEBUG off, tests/classroom_attendee.py's
``serve_classroom``) on 127.0.0.1, starts 30 simulated attendees, each in its own process, and listens on the
projector's WebSocket as the page does. Each round, all 30 run lesson 01's real greeting check at the same moment
(right and wrong answers alternate): the worst case of an evening, when the instructor says "now run the check".
Then one more round with the 30 one after another, each when the previous one's check has returned: the path
itself, without the queue.
A sample is the time from the moment the check returned in the attendee's process (printed by it) to the moment
the attendee's row with that run arrived at the projector. Both clocks are this machine's ``time.time()``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time

from tests.classroom_attendee import Attendee, serve_classroom
from workshop import connect_ws

ATTENDEES = 30


def listen(url: str, arrivals: dict, ready: threading.Event, stop: threading.Event) -> None:
    async def run():
        async with connect_ws(url) as projector:
            await projector.recv()  # the grid
            ready.set()
            while not stop.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(projector.recv(), 0.5))
                except asyncio.TimeoutError:
                    continue
                row = message.get("row")
                greeting = row and row["results"].get("greeting_app")
                if greeting:
                    arrivals.setdefault((row["name"], greeting["runs"]), time.time())

    asyncio.run(run())


def finished(attendee: Attendee) -> float:
    """When the check it was running returned, by its own clock (its ``DONE`` line)."""
    attendee.until("DONE")
    return float(attendee.last_marker.split()[1])


def main(rounds: int = 10) -> None:
    with tempfile.TemporaryDirectory() as folder, serve_classroom(folder) as classroom:
        arrivals: dict = {}
        ready, stop = threading.Event(), threading.Event()
        listener = threading.Thread(
            target=listen, args=(classroom.ws_url("classroom/projector/"), arrivals, ready, stop)
        )
        listener.start()
        ready.wait(10)
        attendees = [Attendee(classroom.url, f"Attendee {n:02d}") for n in range(1, ATTENDEES + 1)]
        samples, one_by_one = [], []
        try:
            for round_ in range(1, rounds + 2):
                at_once = round_ <= rounds
                returned = {}
                for index, attendee in enumerate(attendees):
                    attendee.start("greet-right" if (index + round_) % 2 else "greet-wrong")
                    if not at_once:
                        returned[attendee.name] = finished(attendee)
                for attendee in attendees if at_once else ():
                    returned[attendee.name] = finished(attendee)
                deadline = time.time() + 10
                while sum((name, round_) in arrivals for name in returned) < ATTENDEES and time.time() < deadline:
                    time.sleep(0.01)
                found = [arrivals[(name, round_)] - at for name, at in returned.items() if (name, round_) in arrivals]
                (samples if at_once else one_by_one).extend(found)
        finally:
            stop.set()
            listener.join()
            for attendee in attendees:
                attendee.close()
    print(f"{ATTENDEES} attendees, {rounds} rounds of {ATTENDEES} checks at once: {summary(samples, rounds)}")
    print(f"{ATTENDEES} attendees, one round of {ATTENDEES} checks one after another: {summary(one_by_one, 1)}")


def summary(samples: list[float], rounds: int) -> str:
    samples = sorted(samples)
    lost = rounds * ATTENDEES - len(samples)
    return (
        f"{len(samples)} samples, {lost} lost; check -> projector: median {statistics.median(samples) * 1000:.0f} ms, "
        f"p95 {samples[int(len(samples) * 0.95) - 1] * 1000:.0f} ms, max {samples[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
