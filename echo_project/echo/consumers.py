"""The echo chamber's consumers: stock Channels, safe to copy.

`EchoChamberConsumer` is the talk's consumer: every JSON value a client sends
comes straight back. `ChamberConsumer` is a room: every message goes to every
member. Both stand on `CarefulJsonWebsocketConsumer`, which makes sure nothing
a client sends can hurt the server or the other clients.

They subclass Channels' generic consumers and override only the documented hooks
(``connect``, ``receive``, ``receive_json``, ``disconnect``, the JSON
``decode_json``/``encode_json`` class methods, and handlers of group events).
Faster variants that reach into Channels' internals are opt-in: see ``echo/tuned.py``.
"""

import asyncio
import contextlib
import functools
import ipaddress
import json
import logging
import re
import secrets
import time

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings

from . import history, presence

logger = logging.getLogger(__name__)
LEAVING: set = set()  # leave() tasks under way: asyncio keeps only weak references to tasks
# Who is in each room, in this process: {group: {channel name: member's name}}. A newcomer gets it on
# joining, so a "joined" whose "left" was dropped (a full channel) is corrected by the next join.
PRESENT: dict[str, dict[str, str]] = {}
# Who opened each room of PRESENT (its first member's client address), and the rooms each address opened.
OPENED_BY: dict[str, str] = {}
ROOMS_OPENED: dict[str, set[str]] = {}
# A member that leaves retries the layer calls that failed (Redis restarting), then gives up.
LEAVE_RETRY_DELAYS = (0.1, 0.2, 0.5, 1, 2, 2, 2, 2)  # seconds: about 10 s in all
# How long a newcomer waits for messages broadcast before it joined and not yet stored (in another
# process's queue), before it is told its history is incomplete.
HISTORY_GAP_WAIT = 1.0  # seconds
# How many messages a member may say before its history is sent; then it is not read until it is sent.
UNSAID_WHILE_JOINING = 20
# How long a member holds a message that arrived before one numbered below it, waiting for that one: with
# Redis, two senders (in one process or two) take their numbers, then send, and the sends may cross. The one
# awaited usually comes within milliseconds, but a busy process can take longer between numbering and sending
# (with 0.5 s, a newcomer on a 2-core machine running four test workers once found a message out of place); one
# that never comes (dropped by a full channel, or its sender gone between numbering and sending) is skipped
# after this long, which is all it costs.
REORDER_WAIT = 2  # seconds

# WebSocket close codes (RFC 6455, section 7.4.1, and IANA's registry for 1013)
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013

try:  # what a Redis channel layer raises when Redis is down or unreachable (redis-py wraps OSError in them)
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    LAYER_UNAVAILABLE: tuple = (RedisConnectionError, RedisTimeoutError)
except ImportError:  # no Redis installed: the in-memory layer never fails this way
    LAYER_UNAVAILABLE = ()


def refuse_constant(name):
    """``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259, section 6): Python's json accepts them."""
    raise ValueError(f"{name} is not a JSON number")


def finite_float(text):
    """Numbers that overflow a float (``1e400``) would come back as ``Infinity``, which is not JSON either."""
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return number


# The integers every layer and database can carry: msgpack (channels_redis's serializer) has none
# beyond 64 bits, and Redis closed the sender with 1011 for one (issue 22).
SMALLEST_INTEGER, LARGEST_INTEGER = -(2**63), 2**64 - 1


def integer_in_range(text):
    number = int(text)
    if not SMALLEST_INTEGER <= number <= LARGEST_INTEGER:
        raise ValueError(f"{text[:30]} is beyond 64 bits")
    return number


# What a string may not hold: NUL, which PostgreSQL's text and jsonb refuse, and lone surrogates
# (halves of a pair, \ud800-\udfff), which are not text: UTF-8 cannot encode them, so neither
# PostgreSQL nor msgpack can keep them. Both can only come from a \u escape: JSON forbids a raw NUL in a
# string, and a frame's text arrives as valid UTF-8.
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")

# Made once: json.loads and json.dumps with options build a new decoder or encoder on every call.
STRICT_DECODER = json.JSONDecoder(parse_constant=refuse_constant, parse_float=finite_float, parse_int=integer_in_range)
STRICT_ENCODER = json.JSONEncoder(allow_nan=False)


def nesting_depth_exceeds(content, limit: int) -> bool:
    """Whether lists and objects in ``content`` nest deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(content, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in value)
    return False


def strings_hold_what_is_not_text(content) -> str | None:
    """The first character in a string or key of ``content`` that is not text (see ``NOT_TEXT``), if any."""
    stack = [content]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if found := NOT_TEXT.search(value):
                return found.group()
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


class TokenBucket:
    """A rate limit: holds ``burst`` tokens, gains ``rate`` a second; ``take()`` spends one and says what is left.

    What is left may go below zero: a message refused for want of a token still spends one, so a
    client that keeps on sending while refused owes more and more (see ``CarefulJsonWebsocketConsumer``).
    """

    clock = staticmethod(time.monotonic)  # seconds; tests replace it to stop time

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = self.clock()

    def take(self) -> float:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate) - 1
        self.updated = now
        return self.tokens


def describe(error: BaseException) -> str:
    """An exception in one line, for a log: its type and message."""
    return f"{type(error).__name__}: {error}"


def careful(handler):
    """Decorates a handler of a ``CarefulJsonWebsocketConsumer``: see its ``handle``."""

    @functools.wraps(handler)
    async def careful_handler(self, *args, **kwargs):
        await self.handle(handler(self, *args, **kwargs))

    return careful_handler


class CarefulJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    """A JSON consumer that answers bad input instead of crashing on it.

    - a text frame that is not JSON gets ``{"error": ...}`` back; the connection stays open;
    - so do ``NaN``, ``Infinity``, numbers out of a float's range, and lists or objects nested
      deeper than ``settings.ECHO_MAX_JSON_DEPTH``: nothing that is not JSON is ever sent on;
    - so do what some database or layer cannot keep: ``"\\u0000"``, a lone surrogate such as
      ``"\\ud800"``, and integers beyond 64 bits (below -2**63 or above 2**64 - 1): every layer
      and database then keeps the same values;
    - a binary frame gets ``{"error": ...}`` back; the connection stays open;
    - a frame larger than ``settings.ECHO_MAX_MESSAGE_BYTES`` closes the connection with 1009;
    - a rate limit per connection (``rate_limit`` messages a second, bursts of ``rate_burst``; by
      default ``settings.ECHO_RATE_LIMIT`` and ``ECHO_RATE_BURST``, 0: none), a token bucket that
      every frame spends from, whatever it holds: a frame over the limit gets ``{"error": ...}``
      and is not handled; a client that keeps on sending until it owes a whole burst is closed
      with 1008 (policy violation), and nothing it sends after that is read;
    - an exception in a handler is logged and closes this connection only, with 1011, so
      ``disconnect`` runs as for any other close (a channel layer that is down, in one line of
      log and with a reason the client sees);
    - an exception that ends the consumer itself (its channel layer failed: Redis is down) would
      make the server drop the connection without a close frame (1006): ``CloseWhenItFails``, around
      the consumer in ``routing.py``, closes it with 1011 and a reason instead;
    - a client that has gone while a reply was on its way is not an error: the server
      has its ``websocket.disconnect`` on the way, which runs ``disconnect`` next.

    Subclasses implement ``receive_json`` as usual; it only ever sees valid JSON. Decorate
    handlers of group events with ``@careful`` to give them the same care as ``receive_json``.
    """

    rate_limit: float | None = None  # messages a second; None: settings.ECHO_RATE_LIMIT
    rate_burst: int | None = None  # None: settings.ECHO_RATE_BURST
    rate_bucket: TokenBucket | None = None  # made on the first message, when there is a limit
    refusing = False  # closed by this side for a policy: what the client sends next is not read

    @classmethod
    async def decode_json(cls, text_data):
        try:
            content = STRICT_DECODER.decode(text_data)
        except RecursionError:  # deeper than the C parser's stack allows: the same answer as below
            raise ValueError(f"nested deeper than {settings.ECHO_MAX_JSON_DEPTH} levels") from None
        limit = settings.ECHO_MAX_JSON_DEPTH
        # Counting brackets is fast; walking the value is needed only when there are enough of them.
        if text_data.count("[") + text_data.count("{") > limit and nesting_depth_exceeds(content, limit):
            raise ValueError(f"nested deeper than {limit} levels")
        # Only a \u escape can put NUL or a lone surrogate in a string: no escape, nothing to look for.
        if "\\u" in text_data and (character := strings_hold_what_is_not_text(content)) is not None:
            name = "\\u0000 (NUL)" if character == "\x00" else f"a lone surrogate (\\u{ord(character):04x})"
            raise ValueError(f"{name} is not text that every database and layer can keep")
        return content

    @classmethod
    async def encode_json(cls, content):
        return STRICT_ENCODER.encode(content)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.refusing:
            return
        if not await self.within_rate_limit():
            return
        size = len(bytes_data) if bytes_data is not None else len(text_data.encode("utf-8"))
        if size > settings.ECHO_MAX_MESSAGE_BYTES:
            await self.handle(self.close(code=MESSAGE_TOO_BIG))
            return
        if bytes_data is not None:
            await self.deliver({"error": "binary frames are not supported: send JSON as text"})
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError as error:
            await self.deliver({"error": f"invalid JSON: {error}"})
            return
        await self.handle(self.receive_json(content, **kwargs))

    async def within_rate_limit(self) -> bool:
        """Spend a token for this frame; if there was none, answer ``{"error"}`` or close with 1008."""
        if self.rate_bucket is None:
            rate = settings.ECHO_RATE_LIMIT if self.rate_limit is None else self.rate_limit
            if not rate:
                return True
            burst = settings.ECHO_RATE_BURST if self.rate_burst is None else self.rate_burst
            self.rate_bucket = TokenBucket(rate, burst)
        left = self.rate_bucket.take()
        if left >= 0:
            return True
        limit = f"at most {self.rate_bucket.rate:g} a second, {self.rate_bucket.burst} at once"
        if left > -self.rate_bucket.burst:
            await self.deliver({"error": f"too many messages ({limit}): this one was not handled"})
        else:  # a whole burst more while refused: it keeps on
            self.refusing = True
            await self.handle(self.close(code=POLICY_VIOLATION, reason=f"too many messages ({limit})"))
        return False

    async def send_error(self, message: str):
        await self.deliver({"error": message})

    async def deliver(self, content):
        """Send ``content`` to this client, with the care of ``handle``: if the client has gone, do nothing."""
        await self.handle(self.send_json(content))

    async def handle(self, work):
        """Await ``work`` (a handler's coroutine); if it raises, close this connection with 1011.

        A send to a connection that is already closed raises too: an ``OSError`` subclass, as
        the ASGI spec asks (uvicorn's ``ClientDisconnected``), or, once uvicorn's ``--ws
        websockets`` has handed over the disconnect, a ``RuntimeError``, and then the close
        fails as well. Either way the client has gone: nothing to log or close, and the
        server's ``websocket.disconnect``, already on its way, runs ``disconnect``.
        Raised out of a handler instead, the error would end the consumer without ``disconnect``.
        """
        try:
            await work
        except OSError:
            return  # the client has gone (ASGI's sign)
        except LAYER_UNAVAILABLE as error:  # Redis is down: no traceback, a reason for the client
            try:
                await self.close(code=INTERNAL_ERROR, reason="the server lost its channel layer: reconnect")
            except Exception:
                return  # the connection was closed already
            logger.warning("%s: the channel layer failed (%s): closed with 1011", type(self).__name__, describe(error))
        except Exception as error:
            try:
                await self.close(code=INTERNAL_ERROR)
            except Exception:
                return  # the connection was closed already
            logger.error("%s failed; its connection is closed with 1011", type(self).__name__, exc_info=error)


def client_address(scope) -> str | None:
    """Who a connection comes from, for the bound on the rooms one client opens: its IPv4 address, or its IPv6
    address's /64 network (one subscriber usually holds a whole /64, so counting single IPv6 addresses would
    give it countless bounds). None for a connection with no address."""
    host = (scope.get("client") or [None])[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (a name a proxy passed on): as it is
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1, an IPv4 client of a dual-stack socket
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def close_room(group: str):
    """The room's last member in this process has gone: it no longer counts among the open rooms, nor its opener's."""
    PRESENT.pop(group, None)
    address = OPENED_BY.pop(group, None)
    if (opened := ROOMS_OPENED.get(address)) is not None:
        opened.discard(group)
        if not opened:
            del ROOMS_OPENED[address]


class CloseWhenItFails:
    """ASGI middleware around a consumer's application: if the consumer fails, its connection is closed.

    An exception that escapes a consumer (not one of its handlers: ``CarefulJsonWebsocketConsumer.handle``
    takes care of those) ends its ASGI application, and the server then drops the connection without a
    close frame: the client sees 1006, and the server logs a traceback. That is what a channel layer's
    failure does: a consumer reads its channel from the layer all along (Channels'
    ``AsyncConsumer.__call__``), so when Redis goes down, every consumer's read raises. Here the
    connection is closed with 1011 and a reason instead, and the failure is logged in one line (with a
    traceback only for what is not a layer failure). The consumer's own clean-up is its business
    (``ChamberConsumer`` leaves when its task ends). A connection the consumer had closed already is
    left as it is. A layer that fails before the consumer accepted (a join while Redis is down: Redis's
    pub/sub layer subscribes a new consumer's channel before ``connect``) gets ``ChamberConsumer``'s
    refusal: accepted, then closed with 1013 and a reason (a refused handshake would show a page only 1006).
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        accepted = closed = False

        async def send_noting_the_close(message):
            nonlocal accepted, closed
            accepted = accepted or message["type"] == "websocket.accept"
            closed = closed or message["type"] == "websocket.close"
            await send(message)

        name = getattr(self.app, "__name__", type(self.app).__name__)
        try:
            return await self.app(scope, receive, send_noting_the_close)
        except LAYER_UNAVAILABLE as error:
            if closed:  # on purpose: the layer's failure came after (its read was under way)
                return
            refusing = not accepted  # a join: accepted first, so that the close says why
            if refusing:
                logger.warning("%s: refused a join, the channel layer failed (%s)", name, describe(error))
                code, reason = TRY_AGAIN_LATER, "the server lost its channel layer: try later"
            else:
                logger.warning("%s: the channel layer failed (%s): closed with 1011", name, describe(error))
                code, reason = INTERNAL_ERROR, "the server lost its channel layer: reconnect"
        except Exception:
            logger.exception("%s failed; its connection is closed with 1011", name)
            if closed:
                return
            refusing, code, reason = False, INTERNAL_ERROR, "internal error"  # before the handshake: HTTP 403
        try:
            if refusing:
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception:
            pass  # the client has gone already


class EchoChamberConsumer(CarefulJsonWebsocketConsumer):
    """The talk's echo chamber: sends every JSON value back, exactly.

    It needs no channel layer, so it asks for none (an alias no layer is configured under: Channels'
    consumer then reads from its client only), and keeps working while Redis is down. It has no rate
    limit: what a client sends comes back to that client only, as fast as it reads (flow control).
    """

    channel_layer_alias = None  # no layer: get_channel_layer(None) is None
    rate_limit = 0

    async def connect(self):
        await self.accept()

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class ChamberConsumer(CarefulJsonWebsocketConsumer):
    """A broadcast chamber: members of a room see every message, and who sent it.

    Each connection gets an anonymous name and joins the room's group on connect;
    what a member sends goes to the group as ``{"who": name, "message": content}``;
    members are told when someone joins or leaves. On joining, a member receives
    ``{"you": ..., "room": ..., "members": [...]}``: the names of everyone in the room (itself
    included), in every server process that serves it (``echo/presence.py``), so a "joined" or
    "left" that the channel layer dropped (a channel over its capacity) is corrected by the next
    snapshot. A message larger than
    ``settings.ECHO_MAX_ROOM_MESSAGE_BYTES`` is neither passed on nor kept: its sender gets
    ``{"error": ...}``.

    The room remembers (``echo/history.py``). After the welcome, a member receives its history,
    the room's last ``settings.ECHO_HISTORY_LENGTH`` (20) messages in the order the room heard them,
    then everything said since, each message exactly once:

    - ``{"history": [{"who": ..., "message": ...}, ...]}``: complete;
    - ``{"history": [...], "incomplete": true}``: some of the last messages are missing from it
      (the queue of messages to store was full, or the database failed, or has not stored them
      yet after ``HISTORY_GAP_WAIT``); what it holds is still in order;
    - ``{"history": null, "error": ...}``: the database failed, or took longer than
      ``settings.ECHO_HISTORY_READ_TIMEOUT``: never an empty list for a room that did talk.

    How history and live agree: every message gets the room's next sequence number when it is
    broadcast (the events carry it as "seq"; what members receive keeps its two keys), and every member
    receives messages in the order of their numbers, the order the history keeps: with Redis, two
    senders take their numbers and then send, and their sends may cross on the way, so a message that
    comes before one numbered below it is held until that one comes (``REORDER_WAIT``, 2 s, at most). A newcomer
    joins the group first, then reads the room's current number, before its welcome: what is said
    after the welcome is numbered above it and comes live. It holds the events that arrive
    (``backlog``, up to the layer's capacity: then it stops taking them, as a slow member does) while
    it reads the history up to that number: a message numbered up to it was broadcast before, so it
    is stored, or waiting in a writer's queue, or arriving among the held events. The ones missing
    from the history come from the held events, or this process's queue, or a re-reading of the
    database, for at most ``HISTORY_GAP_WAIT``; then the history is sent, and the held events
    follow, less those it already holds. What the newcomer itself says meanwhile is said after its
    history (up to ``UNSAID_WHILE_JOINING`` messages; then it is not read until then).

    Storing never holds anyone: a message goes to the room first, then into this process's bounded
    queue (``settings.ECHO_HISTORY_QUEUE``), which a writer thread stores in batches. When the
    queue is full or the database fails, the message is not stored, the log counts it, and
    newcomers are told the history is incomplete.

    A member leaves the group, and the room is told, however its connection ends:
    ``disconnect`` runs on a close or a drop (also after a crash in a handler, which
    closes the connection: see ``handle``); and because Channels calls ``disconnect``
    only for a ``websocket.disconnect`` event, ``connect`` also asks asyncio to call
    ``leave`` when the consumer's task ends, for a consumer cancelled or crashed in
    between. ``leave`` runs once, in a task of its own that a cancellation cannot stop halfway;
    it retries the layer calls that fail (Redis restarting) and always tells the room: it never
    waits for the database.

    Three joins are refused, by accepting the connection and closing it at once with 1013 (Try Again
    Later) and a reason, which a page sees (a refused handshake would show it only 1006, and
    a server error 500 with a traceback): one that would open a room beyond
    ``settings.ECHO_MAX_ROOMS`` in this process (rooms already open take anyone: the bound is on
    how many rooms are open at once, not on who joins them); one that would open a room beyond
    ``settings.ECHO_MAX_ROOMS_PER_CLIENT`` opened by the same client address, so that one client
    cannot take every room; and one whose ``group_add`` fails because the channel layer is down.
    """

    async def connect(self):
        self.room = self.scope["url_route"]["kwargs"]["room"]
        self.group = f"chamber.{self.room}"
        if self.group not in PRESENT and (refusal := self.open_the_room()):
            await self.refuse(refusal)
            return
        # 48 random bits: in a room of 1,000, two share a name with odds of about 2 in a billion.
        self.name = f"guest-{secrets.token_hex(6)}"
        self.left = False
        self.announced = False  # whether the room was told this member joined: then it is told it left
        self.leaving: asyncio.Future | None = None
        # The room's events that arrive before the history is sent: held, then sent after it (None: sent).
        self.backlog: list | None = [] if settings.ECHO_HISTORY_LENGTH else None
        self.in_history: set[int] = set()  # the sequence numbers of the messages the history held
        self.history_floor: int | None = None  # a full history's oldest number: older ones come too late
        self.reading: asyncio.Future | None = None
        self.unsaid: list = []  # what this member says before its history is sent: said after it
        # Messages are passed on in the order of their numbers (see ``pass_on``): the next number due, the
        # messages that came before it, and the wait for it.
        self.next_due: int | None = None
        self.early: dict[int, dict] = {}
        self.waiting_for_due: asyncio.TimerHandle | None = None
        self.passing_on = asyncio.Lock()
        # In the room before joining the group: whoever joins after this member lists it.
        PRESENT.setdefault(self.group, {})[self.channel_name] = self.name
        asyncio.current_task().add_done_callback(self.leave_when_task_ends)
        try:
            await self.channel_layer.group_add(self.group, self.channel_name)
        except LAYER_UNAVAILABLE as error:  # Redis is down: a refusal that says so, not a server error
            logger.warning("chamber: refused a join to %r, the channel layer failed (%s)", self.room, describe(error))
            await self.refuse("the server lost its channel layer: try later")
            return
        try:  # after group_add: a newcomer that lists nobody who joins meanwhile gets their "joined"
            await presence.enter(self.room, self.channel_name, self.name)
        except LAYER_UNAVAILABLE as error:
            logger.warning("chamber: refused a join to %r, Redis failed (%s)", self.room, describe(error))
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.refuse("the server lost its channel layer: try later")
            return
        if self.backlog is not None:
            await self.take_the_rooms_number()
        await self.accept()
        # Taken once in the group: a member who leaves from now on is either missing here or sends
        # its "left" to this member; one who joins is either listed here or sends its "joined".
        try:
            members = await presence.members(self.room, PRESENT.get(self.group, {}))
        except LAYER_UNAVAILABLE as error:  # this process's members, at least
            logger.warning("chamber: the members of %r in other processes are unknown (%s)", self.room, describe(error))
            members = sorted(PRESENT.get(self.group, {}).values())
        await self.send_json({"you": self.name, "room": self.room, "members": members})
        self.announced = True  # even if the group_send below fails: a "left" costs nothing
        await self.channel_layer.group_send(
            self.group, {"type": "chamber.presence", "who": self.name, "event": "joined"}
        )
        if self.backlog is None:
            await self.send_json({"history": []})
            return
        # After "joined": a member whose connection drops while the history is read still gets its "left".
        # In a task: the events that arrive meanwhile are dispatched, to the backlog.
        self.reading = asyncio.ensure_future(self.handle(self.send_history()))

    def open_the_room(self) -> str | None:
        """Count this new room among the open ones, and its opener's; or say why it cannot open."""
        if len(PRESENT) >= settings.ECHO_MAX_ROOMS:
            return f"this server has {len(PRESENT)} rooms open, its most: try later"
        address = client_address(self.scope)
        if address is None:  # no address (a Unix socket without proxy headers): no bound per client
            return None
        opened = ROOMS_OPENED.setdefault(address, set())
        if 0 < settings.ECHO_MAX_ROOMS_PER_CLIENT <= len(opened):
            return f"you opened {len(opened)} rooms that are still open, your most: join one of them"
        OPENED_BY[self.group] = address
        opened.add(self.group)
        return None

    async def take_the_rooms_number(self):
        """The room's current number, once in the group and before the welcome: the history holds what is numbered
        up to it, and whatever is said after the welcome comes live (see the class's docstring)."""
        try:
            self.numbers = await history.current_seq(self.room)
        except Exception as error:  # no numbers: the history is sent as read, with nothing to check it against
            logger.warning("history: the numbers of %r could not be read: %r", self.room, error)
            self.numbers = None
        # Numbers that could not be read: those to come are above now (an epoch starts at the time in microseconds).
        self.joined_at = self.numbers[1] if self.numbers is not None else history.epoch_start()
        if self.numbers is not None:
            self.next_due = self.numbers[1] + 1  # the first message said after the welcome

    async def send_history(self):
        await self.send_json(await self.history())
        # Then what arrived meanwhile, and what this member said meanwhile; whatever arrives while these are
        # sent joins the end of their lists.
        while self.backlog or self.unsaid:
            if self.backlog:
                event = self.backlog.pop(0)
                if event["type"] == "chamber.message":
                    await self.pass_on(event)
                else:
                    await self.send_json({"who": event["who"], "event": event["event"]})
            else:
                await self.say(*self.unsaid.pop(0))
        self.backlog = None

    async def refuse(self, reason: str):
        """Accept, then close at once with 1013 and ``reason``, and stop: this member never joined, so it has
        nothing to leave, and its consumer reads nothing more (neither its client nor its channel)."""
        present = PRESENT.get(self.group, {})
        if present.pop(getattr(self, "channel_name", None), None) is not None and not present:
            close_room(self.group)  # it was the room's only member
        self.left = True  # leave() has nothing to do
        self.refusing = True
        await self.accept()
        await self.close(code=TRY_AGAIN_LATER, reason=reason)
        raise StopConsumer

    async def history(self) -> dict:
        """The history to send (see the class's docstring): complete, ``"incomplete": true``, or ``null`` and why."""
        numbers = self.numbers
        try:
            said = await asyncio.wait_for(
                history.recent(self.room, settings.ECHO_HISTORY_LENGTH, self.joined_at),
                settings.ECHO_HISTORY_READ_TIMEOUT,
            )
        except asyncio.TimeoutError:
            logger.warning(
                "history: reading the history of %r took longer than %s s",
                self.room,
                settings.ECHO_HISTORY_READ_TIMEOUT,
            )
            said = None
        if said is None:
            return {"history": None, "error": "the room's history is unavailable: the database did not answer"}
        known = {row.pop("seq"): row for row in said}
        missing = await self.fill_the_gap(known, numbers)
        window = sorted(known)[-settings.ECHO_HISTORY_LENGTH :]
        self.in_history = set(window)
        if len(window) == settings.ECHO_HISTORY_LENGTH:
            self.history_floor = window[0]
        told = {"history": [known[seq] for seq in window]}
        if missing:
            logger.warning("history: %d of the last messages of %r are not in its history", len(missing), self.room)
            told["incomplete"] = True
        return told

    def missing(self, known: dict, numbers: tuple[int, int] | None, lost: set[int]) -> set[int]:
        """The numbers the history should hold and ``known`` does not: the room's last ones up to its current
        number (``numbers``: this epoch's start and current number; the numbers in between are consecutive),
        and those this process could not store (``lost``), unless older than a full history's oldest."""
        length = settings.ECHO_HISTORY_LENGTH
        newest = sorted(known)[-length:]
        floor = newest[0] if len(newest) == length else None  # older than a full history's oldest: not shown
        expected = {seq for seq in lost if floor is None or seq > floor}
        if numbers is not None:
            start, current = numbers
            lowest = max(start, current - length, floor if floor is not None else start)
            expected.update(range(lowest + 1, current + 1))
        return expected - set(known)

    async def fill_the_gap(self, known: dict, numbers) -> set[int]:
        """Add to ``known`` the missing messages that arrived live, wait in this process's queue, or get stored
        within ``HISTORY_GAP_WAIT``; return the numbers still missing."""
        deadline = asyncio.get_running_loop().time() + HISTORY_GAP_WAIT
        known.update(history.writer.queued(self.room, self.joined_at))  # whatever the epoch: not stored yet
        while True:
            lost = history.writer.lost(self.room)  # never to be stored
            if not (missing := self.missing(known, numbers, lost)):
                return set()
            for event in self.backlog:
                if event.get("seq") in missing:
                    known[event["seq"]] = {"who": event["who"], "message": event["message"]}
            known.update(history.writer.queued(self.room, self.joined_at))
            missing = self.missing(known, numbers, lost)
            awaited = sorted(missing - lost)
            remaining = deadline - asyncio.get_running_loop().time()
            if not awaited or remaining <= 0:
                return missing
            await asyncio.sleep(min(0.05, remaining))  # a writer (of this process or another) stores them
            try:
                stored = await asyncio.wait_for(history.stored(self.room, awaited), max(remaining, 0.05))
            except asyncio.TimeoutError:
                return missing
            known.update(stored or {})

    async def receive_json(self, content, **kwargs):
        text = await self.encode_json(content)
        size = len(text.encode("utf-8"))
        if size > settings.ECHO_MAX_ROOM_MESSAGE_BYTES:  # what the room passes on and keeps stays small
            await self.send_error(f"too large for a room: {size} bytes, at most {settings.ECHO_MAX_ROOM_MESSAGE_BYTES}")
            return
        if self.backlog is not None:  # its history is on its way: what it says comes after it
            if len(self.unsaid) >= UNSAID_WHILE_JOINING:  # then this member is not read until the history is sent
                await asyncio.wait({self.reading})
            if self.backlog is not None:
                self.unsaid.append((content, text))
                return
        await self.say(content, text)

    async def say(self, content, text: str):
        if not settings.ECHO_HISTORY_LENGTH:  # a room that keeps nothing needs no numbers
            await self.channel_layer.group_send(
                self.group, {"type": "chamber.message", "who": self.name, "message": content}
            )
            return
        seq = await history.next_seq(self.room)
        await self.channel_layer.group_send(
            self.group, {"type": "chamber.message", "who": self.name, "message": content, "seq": seq}
        )
        # Then queued to be stored, never awaited: a slow or hung database costs history, not the conversation.
        history.keep(self.room, seq, self.name, text)

    async def disconnect(self, close_code):
        await self.leave()

    async def leave(self):
        """Leave the room's group and tell the others; once, whichever way the connection ended."""
        if not hasattr(self, "group"):
            return
        if self.leaving is None:
            self.left = True
            present = PRESENT.get(self.group, {})
            present.pop(self.channel_name, None)
            if not present:  # the last one out: forget the room
                close_room(self.group)
                history.forget_room(self.room)
            if self.reading is not None:
                self.reading.cancel()  # nobody to send the history to
            if self.waiting_for_due is not None:
                self.waiting_for_due.cancel()  # nor what it holds
            # A task of its own: it finishes even if this consumer's task is cancelled meanwhile.
            self.leaving = asyncio.ensure_future(self.tell_the_room_and_leave())
            LEAVING.add(self.leaving)
            self.leaving.add_done_callback(LEAVING.discard)
        await asyncio.shield(self.leaving)

    async def tell_the_room_and_leave(self):
        await self.with_retries(presence.leave, self.room, self.channel_name)  # before "left": see connect
        await self.with_retries(self.channel_layer.group_discard, self.group, self.channel_name)
        if self.announced:
            left = {"type": "chamber.presence", "who": self.name, "event": "left"}
            await self.with_retries(self.channel_layer.group_send, self.group, left)

    async def with_retries(self, layer_call, *args) -> bool:
        """Await ``layer_call(*args)``; if it raises, try again after each of ``LEAVE_RETRY_DELAYS``."""
        for delay in (*LEAVE_RETRY_DELAYS, None):
            try:
                await layer_call(*args)
                return True
            except Exception as error:
                if delay is None:
                    logger.warning(
                        "%s failed for %s in %s, and gave up: %r", layer_call.__name__, self.name, self.room, error
                    )
                    return False
                await asyncio.sleep(delay)

    def leave_when_task_ends(self, task):
        if not self.left:
            # A task of its own: the consumer's task is over, and its loop may be closing.
            leaving = asyncio.ensure_future(self.leave())
            LEAVING.add(leaving)
            leaving.add_done_callback(LEAVING.discard)

    # Handlers of group events: the event's "type", dots as underscores.
    async def held(self, event) -> bool:
        """Whether ``event`` is held for after the history, which is on its way (then it is in the backlog)."""
        if self.backlog is not None and len(self.backlog) >= settings.ECHO_LAYER_CAPACITY:
            await asyncio.wait({self.reading})  # the layer's capacity applies meanwhile, as to a slow member
        if self.backlog is None:
            return False
        self.backlog.append(event)
        return True

    @careful
    async def chamber_message(self, event):
        if not await self.held(event):
            await self.pass_on(event)

    async def pass_on(self, event):
        """Send a message to this member, in the order of the room's numbers: the order the history keeps.

        A message numbered above the next one due is held (``early``) until that one comes, or for
        ``REORDER_WAIT`` at most (``skip_to_the_early``), or until the layer's capacity of them is held.
        One numbered below (it came after its wait was over) is sent as it comes: late, never lost.
        """
        seq = event.get("seq")  # none from code that does not number (a worker's summary)
        if seq is None:
            await self.send_json({"who": event["who"], "message": event["message"]})
            return
        floor = self.history_floor
        if seq in self.in_history or (floor is not None and seq < floor):
            return  # the history held it, or it is older than all the history held
        if seq == self.next_due and not self.early and not self.passing_on.locked():  # in order: the usual case
            self.next_due = seq + 1
            await self.send_json({"who": event["who"], "message": event["message"]})
            return
        async with self.passing_on:
            if self.next_due is not None and seq > self.next_due:
                self.early[seq] = event
                if len(self.early) >= settings.ECHO_LAYER_CAPACITY:  # hold no more than a channel does
                    await self.send_the_early(skip=True)
                elif self.waiting_for_due is None:
                    self.waiting_for_due = asyncio.get_running_loop().call_later(REORDER_WAIT, self.stop_waiting)
                return
            if self.next_due is None or seq == self.next_due:
                self.next_due = seq + 1
            await self.send_json({"who": event["who"], "message": event["message"]})
            await self.send_the_early()

    async def send_the_early(self, skip: bool = False):
        """Send the held messages that are now due, in order (all of them, after a gap, with ``skip``)."""
        if skip and self.early:
            self.next_due = min(self.early)
        while (event := self.early.pop(self.next_due, None)) is not None:
            self.next_due += 1
            await self.send_json({"who": event["who"], "message": event["message"]})
        if self.waiting_for_due is not None:
            self.waiting_for_due.cancel()
            self.waiting_for_due = None
        if self.early:  # another gap: wait for it afresh
            self.waiting_for_due = asyncio.get_running_loop().call_later(REORDER_WAIT, self.stop_waiting)

    def stop_waiting(self):
        """The message due did not come in time: send those held after it."""
        self.waiting_for_due = None
        if self.left:
            return
        self.skipping = asyncio.ensure_future(self.handle(self.skip_to_the_early()))  # kept: asyncio keeps weak ones

    async def skip_to_the_early(self):
        async with self.passing_on:
            if self.waiting_for_due is None:  # not already rescheduled by a send meanwhile
                await self.send_the_early(skip=True)

    @careful
    async def chamber_presence(self, event):
        if not await self.held(event):
            await self.send_json({"who": event["who"], "event": event["event"]})


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Refuses WebSocket connections to paths nothing is routed to (HTTP 403)."""

    async def connect(self):
        await self.close()
