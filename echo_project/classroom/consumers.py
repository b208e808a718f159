"""The classroom's two consumers: an attendee's notebook reporting its checks, and the projector watching.

- ``AttendeeConsumer`` (``classroom/attendee/``): the first message must be ``{"join": CODE, "name": NAME,
  "key": KEY}`` with the evening's join code and the key the attendee's laptop drew: a name belongs all evening
  to the key it first joined with (the laptop's other notebooks join with it too), and one address seats at
  most ``CLASSROOM_SEATS_PER_ADDRESS`` names (the instructor's own machine, any); then each message is one
  check's outcome, ``{"exercise": "tally", "outcome": "hint", "category": "raised KeyError"}`` or
  ``{"exercise": "tally", "outcome": "passed"}``, and nothing
  else: an unknown exercise, outcome, category or key is answered with ``{"error": ...}`` to that attendee
  alone, and kept nowhere. An attendee is in no group: nothing one attendee sends reaches another.
- ``ProjectorConsumer`` (``classroom/projector/``): the grid once on connecting, then each changed row, live.
  It sends nothing an attendee reads, and reads nothing from its page.

Both inherit the echo chamber's care (``echo.consumers.CarefulJsonWebsocketConsumer``): frames larger than
the limit closed with 1009, invalid JSON answered, a rate limit per connection (here the classroom's own,
``CLASSROOM_RATE_LIMIT``: a flood closes the flooder with 1008), a handler's exception closing only its
own connection.

Presence (who is connected now) lives in this process (``PRESENT``): it is about connections, which die
with the process. Outcomes live in the database (``evening.py``): they outlive a restart and are exported
after the event. One server process: ``make classroom`` runs one.
"""

import asyncio
import ipaddress
import re
import secrets
import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from echo.consumers import TRY_AGAIN_LATER, CarefulJsonWebsocketConsumer, client_address

from . import evening
from .exercises import EXERCISE_IDS

PROJECTORS = "classroom.projectors"  # the group every projector page is in; no attendee ever is
PRESENT: dict[str, set[str]] = {}  # attendee's name -> the channel names of its notebooks' connections, here

# Letters (any script), digits, spaces and - _ . ' : a name shows on a projector, never as markup.
NAME = re.compile(r"[^\W_][\w .'-]*", re.UNICODE)
# A hint's short category, as the kit's checks give it (workshop/checks/_common.py, hint_category).
CATEGORY = re.compile(r"not written|missing await|wrong behaviour|error|raised [A-Za-z_][A-Za-z0-9_]{0,30}")
# The key a laptop draws when its attendee first joins (workshop/classroom.py: secrets.token_urlsafe(24)).
KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
JOIN_TIMEOUT = 10  # seconds a connection may stay without joining
BAD_REQUEST, WRONG_CODE, NAME_TAKEN = 4000, 4003, 4009  # close codes of the refusals (4000-4999: the app's own)


class AttendeeConsumer(CarefulJsonWebsocketConsumer):
    name: str | None = None

    @property
    def rate_limit(self):
        return settings.CLASSROOM_RATE_LIMIT

    @property
    def rate_burst(self):
        return settings.CLASSROOM_RATE_BURST

    async def connect(self):
        await self.accept()
        # A connection that never joins is closed: it holds no seat, and no connection for long.
        self.unjoined = asyncio.get_running_loop().call_later(JOIN_TIMEOUT, self.close_unjoined)

    def close_unjoined(self):
        if self.name is None and not self.refusing:
            asyncio.ensure_future(self.refuse(BAD_REQUEST, f"join within {JOIN_TIMEOUT} s"))

    async def refuse(self, code: int, reason: str):
        self.refusing = True  # nothing it sends from now on is read
        await self.handle(self.close(code=code, reason=reason))

    async def receive_json(self, content, **kwargs):
        if self.name is None:
            await self.join(content)
        else:
            await self.report(content)

    async def join(self, content):
        if not isinstance(content, dict) or set(content) != {"join", "name", "key"}:
            return await self.refuse(BAD_REQUEST, 'send {"join": code, "name": your name, "key": your key} first')
        code, name, key = content["join"], content["name"], content["key"]
        expected = settings.CLASSROOM_CODE
        if not (expected and isinstance(code, str) and secrets.compare_digest(code.encode(), expected.encode())):
            return await self.refuse(WRONG_CODE, "wrong join code")
        name = name.strip() if isinstance(name, str) else ""
        if len(name) > settings.CLASSROOM_MAX_NAME or not NAME.fullmatch(name):
            limit = settings.CLASSROOM_MAX_NAME
            return await self.refuse(BAD_REQUEST, f"a name is 1 to {limit} letters, digits, spaces, - _ . or '")
        if not (isinstance(key, str) and KEY.fullmatch(key)):
            return await self.refuse(BAD_REQUEST, "a key is 16 to 64 letters, digits, - or _")
        address = client_address(self.scope)
        if address is not None and ipaddress.ip_address(address.split("/")[0]).is_loopback:
            address = None  # the instructor's own machine: no bound on its seats
        seated = await database_sync_to_async(evening.seat)(name, key, address)
        if seated == evening.TAKEN:
            return await self.refuse(NAME_TAKEN, "that name is someone else's this evening: choose another")
        if seated == evening.FULL:
            return await self.refuse(TRY_AGAIN_LATER, "the classroom is full")
        if seated == evening.TOO_MANY_HERE:
            return await self.refuse(TRY_AGAIN_LATER, "too many names from your address")
        self.name, self.key, self.address = name, key, address
        PRESENT.setdefault(name, set()).add(self.channel_name)  # the same name from each of its notebooks
        self.unjoined.cancel()
        await self.send_json({"joined": name, "exercises": sorted(EXERCISE_IDS)})
        await self.show_row()

    async def report(self, content):
        if not isinstance(content, dict) or not {"exercise", "outcome"} <= set(content) <= {
            "exercise",
            "outcome",
            "category",
        }:
            return await self.send_error('a report is {"exercise": ..., "outcome": ..., "category": ...}')
        exercise, outcome, category = content["exercise"], content["outcome"], content.get("category", "")
        if not isinstance(exercise, str) or exercise not in EXERCISE_IDS:
            return await self.send_error("no such exercise")
        valid = {"passed": category == "", "hint": isinstance(category, str) and CATEGORY.fullmatch(category)}
        if not valid.get(outcome if isinstance(outcome, str) else None):
            return await self.send_error('an outcome is "passed", or "hint" with a known category')
        record = database_sync_to_async(evening.record)
        row = await record(self.name, self.key, self.address, exercise, outcome, category, timezone.now())
        await self.show_row(row)

    async def show_row(self, row: dict | None = None):
        if row is None:
            row = await database_sync_to_async(evening.row)(self.name, self.name in PRESENT)
        await self.channel_layer.group_send(PROJECTORS, {"type": "classroom.row", "row": row})

    async def disconnect(self, close_code):
        unjoined = getattr(self, "unjoined", None)
        if unjoined is not None:
            unjoined.cancel()
        channels = PRESENT.get(self.name) if self.name is not None else None
        if channels is not None and self.channel_name in channels:
            channels.discard(self.channel_name)
            if not channels:  # its last notebook has gone
                del PRESENT[self.name]
                await self.show_row()


class ProjectorConsumer(CarefulJsonWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(PROJECTORS, self.channel_name)
        await self.accept()
        await self.send_grid()

    async def send_grid(self):
        grid = await database_sync_to_async(evening.grid)(set(PRESENT))
        await self.send_json({"grid": grid, "now": time.time()})

    async def receive_json(self, content, **kwargs):
        pass  # the page only listens

    async def classroom_row(self, event):
        await self.deliver({"row": event["row"], "now": time.time()})

    async def classroom_reset(self, event):
        await self.handle(self.send_grid())

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(PROJECTORS, self.channel_name)
