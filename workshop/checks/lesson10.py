"""Exercise 10, performance: an echo that looks the member's name up once per connection, not per message.

``check_database_free_echo(NamedEcho)``, the requirements:

- R1 each message comes back unchanged, with ``"from"``: the member's display name (``display_name``,
  given: the first name, or the username), for any member, a username nobody has included; a ``"from"``
  the client sends is replaced (nobody speaks as someone else);
- R2 the messages make no database query and no thread hop of the consumer's own: the name is looked up
  once, when the member connects. Measured, not assumed: the check counts the queries Django runs (in any
  thread, on any connection) while 5 messages go through, must be 0; and the thread hops, both the jobs its
  event loop hands to threads (``run_in_executor``, which ``database_sync_to_async``, ``sync_to_async`` and
  ``asyncio.to_thread`` use) and the results threads hand back (``call_soon_threadsafe``, a pool of the
  learner's own included), compared with a stock echo's, which makes Channels' one clean-up per message
  (lesson 10's profile);
- R3 no query runs on the event loop's thread (it would block every connection), and
  ``DJANGO_ALLOW_ASYNC_UNSAFE`` is not left set (it turns Django's guard off for every consumer);
- R4 each connection has its own member: two members connected at once each get their own name; a member
  who renames herself and opens a second tab has the old name in the first tab and the new one in the second
  (nothing kept by username, on the class or in a global; nothing cached beyond a connection);
- R5 the consumer ends when its client leaves, and sends nothing after;
- R6 Channels is left as it is: the stock echo, measured in the same process, still makes its clean-up hop.

Probes collect these facts; a table of (condition, hint) rules names the first requirement broken; any
exception from the learner's code (in the consumer or in a task it started) becomes a hint naming their line.

Over 400 lines: one exercise's specification, each requirement with its probe and its hint rule, kept in one
file so it says everything the check asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import threading

from ._common import (
    ENDED,
    SHORT,
    ExerciseHint,
    diagnose,
    end_conversation,
    hint_for,
    learner_code,
    next_event,
    passed,
    run,
)

ROUTE = r"^echo/(?P<username>[\w.@+-]+)/$"
MESSAGES = 5
SPOOFED = 2  # the message that carries a "from" of its own


class _Watch:
    """What the check's event loop sees: thread hops, and database queries made in any thread.

    A hop is counted twice over: the jobs the loop hands to threads (``run_in_executor``, which
    ``database_sync_to_async``, ``sync_to_async`` and ``asyncio.to_thread`` use), and the results threads
    hand back to it (``call_soon_threadsafe``, which any executor's future awaited on the loop uses, one of
    the learner's own included). Queries are counted where Django runs them (every connection, every thread),
    with the thread each ran in, so a query on the loop's own thread shows.
    """

    def __init__(self, loop):
        self.jobs = self.returns = 0
        self.pending: set = set()  # the jobs handed to threads and not yet back
        self.queries: list[bool] = []  # one per query: whether it ran on the event loop's thread
        self.loop_thread = threading.get_ident()
        jobs, returns = loop.run_in_executor, loop.call_soon_threadsafe

        def counting_jobs(executor, function, *args):
            self.jobs += 1
            job = jobs(executor, function, *args)
            self.pending.add(job)
            job.add_done_callback(self.pending.discard)
            return job

        def counting_returns(callback, *args, **kwargs):
            self.returns += 1
            return returns(callback, *args, **kwargs)

        loop.run_in_executor = counting_jobs  # this loop only: it is the check's own, and ends with the check
        loop.call_soon_threadsafe = counting_returns

    async def settled(self):
        """Once the jobs handed to threads so far are back (a lookup started just after the accept)."""
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=2 * SHORT)
        await asyncio.sleep(0)  # the callbacks their results scheduled

    @property
    def hops(self):
        return max(self.jobs, self.returns)

    @contextlib.contextmanager
    def counting_queries(self):
        """Count every query Django runs in the block, in any thread (restored after)."""
        from django.db.backends.utils import CursorWrapper

        original = CursorWrapper._execute_with_wrappers
        watch = self

        def counting(cursor, sql, params, many, executor):
            watch.queries.append(threading.get_ident() == watch.loop_thread)
            return original(cursor, sql, params, many, executor)

        CursorWrapper._execute_with_wrappers = counting
        try:
            yield self
        finally:
            CursorWrapper._execute_with_wrappers = original


async def _nothing(index):
    pass


async def _member(application, username, messages, watch: _Watch, pause=_nothing):
    """A member's conversation: what each message got back; the hops and queries during the messages; ended.

    ``pause(index)`` is a probe's own sequencing (others connect, a name changes): awaited after the connect
    (0), before each further message (1, 2, ...), and at the end (None).
    """
    from channels.testing import WebsocketCommunicator

    member = WebsocketCommunicator(application, f"/echo/{username}/")
    await member.send_input({"type": "websocket.connect"})
    first = await next_event(member, 2 * SHORT)  # a right answer looks the name up before it accepts
    accepted = first not in (None, ENDED) and first["type"] == "websocket.accept"
    await pause(0)
    await watch.settled()  # a right answer may accept first, then look the name up: once, before any message
    replies, hops, queries = [], watch.hops, len(watch.queries)
    for index, message in enumerate(messages if accepted else ()):
        if index:
            await pause(index)
        await member.send_json_to(message)
        output = await next_event(member)
        if output in (None, ENDED) or output["type"] != "websocket.send":
            replies.append(None if output in (None, ENDED) else output)
            break
        replies.append(json.loads(output["text"]) if output.get("text") else output.get("bytes"))
    during = {"hops": watch.hops - hops, "queries": len(watch.queries) - queries}
    await pause(None)
    end = await end_conversation(member, accepted)
    return {"accepted": accepted, "first": first, "replies": replies, **during, **end}


def _users(grace_name):
    """Ada (a first name), grace (a first name new on every run), and a username nobody has."""
    from django.contrib.auth.models import User

    User.objects.update_or_create(username="ada", defaults={"first_name": "Ada"})
    User.objects.update_or_create(username="grace", defaults={"first_name": grace_name})


async def _probes(consumer_class):
    from asgiref.sync import sync_to_async
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.routing import URLRouter
    from django.urls import re_path

    class StockEcho(AsyncJsonWebsocketConsumer):  # lesson 10's: Channels' dispatch, clean-up included
        async def receive_json(self, content, **kwargs):
            await self.send_json(content)

    watch = _Watch(asyncio.get_running_loop())
    with watch.counting_queries():
        return await _conversations(consumer_class, StockEcho, watch, sync_to_async, URLRouter, re_path)


async def _conversations(consumer_class, StockEcho, watch, sync_to_async, URLRouter, re_path):  # noqa: N803
    first_name = f"Grace {secrets.token_hex(2)}"
    await sync_to_async(_users)(first_name)
    application = URLRouter([re_path(ROUTE, consumer_class.as_asgi())])
    messages = [{"n": n, "text": secrets.token_hex(3)} for n in range(MESSAGES)]
    messages[SPOOFED]["from"] = "mallory"  # a client's own "from": the member's name must win
    stock = await _member(URLRouter([re_path(ROUTE, StockEcho.as_asgi())]), "ada", messages, watch)
    ada = await _member(application, "ada", messages, watch)
    facts = {"stock": stock, "ada": ada, "messages": messages, "watch": watch}
    if not ada["accepted"] or ada["replies"] != _expected(messages, "Ada") or not ada["ended"]:  # known: say it now
        return facts
    stranger = f"nobody-{secrets.token_hex(2)}"
    unknown = await _member(application, stranger, messages[:1], watch)

    arrivals, everyone_in = [], asyncio.Event()  # two members at once: both connect, then they send in turns

    async def when_both_are_in(index):
        if index == 0:
            arrivals.append(index)
            if len(arrivals) == 2:
                everyone_in.set()
            await asyncio.wait_for(everyone_in.wait(), 4 * SHORT)

    ada_too, grace = await asyncio.gather(
        _member(application, "ada", messages[:2], watch, when_both_are_in),
        _member(application, "grace", messages[:2], watch, when_both_are_in),
    )
    # grace connects and talks; she renames herself while connected; she connects again (a second tab); both
    # talk. Each connection has the name it looked up when it connected: nothing shared, nothing cached.
    renamed = f"Grace {secrets.token_hex(2)}"
    first_in, second_in = asyncio.Event(), asyncio.Event()

    async def first_tab(index):
        if index != 0:  # her first message answered (her name looked up), or her conversation over
            first_in.set()
        if index == 1:
            await asyncio.wait_for(second_in.wait(), 4 * SHORT)

    async def second_tab(index):
        second_in.set()

    earlier = asyncio.create_task(_member(application, "grace", messages[:2], watch, first_tab))
    await asyncio.wait_for(first_in.wait(), 4 * SHORT)
    await sync_to_async(_users)(renamed)
    grace_later = await _member(application, "grace", messages[:1], watch, second_tab)
    grace_earlier = await earlier
    return {
        **facts,
        "unknown": unknown,
        "stranger": stranger,
        "ada_too": ada_too,
        "grace": grace,
        "grace_name": first_name,
        "grace_earlier": grace_earlier,
        "grace_later": grace_later,
        "renamed": renamed,
    }


def _expected(messages, name):
    return [{**message, "from": name} for message in messages]


def _first_wrong(f):
    """ada's first message that did not come back as expected: (sent, got, expected)."""
    expected = _expected(f["messages"], "Ada")
    replies = f["ada"]["replies"] + [None] * (MESSAGES - len(f["ada"]["replies"]))
    return next((m, r, e) for m, r, e in zip(f["messages"], replies, expected, strict=True) if r != e)


def _echo_broken(f):
    return f["ada"]["replies"] != _expected(f["messages"], "Ada")


_RULES = [
    (
        lambda f: f["stock"]["hops"] < MESSAGES,
        lambda f: (
            f"a stock echo made {f['stock']['hops']} thread hops for {MESSAGES} messages, not one each: "
            "Channels' clean-up no longer runs for any consumer in this kernel, because something replaced "
            "channels.consumer.aclose_old_connections (lesson 10 did it only to measure, and put it back). "
            "Leave Channels as it is (restart the kernel), and change only your consumer"
        ),
    ),
    (
        lambda f: f["ada"]["first"] is None,
        "the connection was never answered: look the name up, then await self.accept() in connect()",
    ),
    (
        lambda f: not f["ada"]["accepted"],
        lambda f: (
            f"the connection got {f['ada']['first']} instead of an accept: connect() ends with await self.accept()"
        ),
    ),
    (
        lambda f: f["ada"]["replies"][:1] == [None],
        "ada's first message got no reply: in receive_json, send the message back with the name, "
        "await self.send_json({**content, 'from': self.name})",
    ),
    (
        lambda f: _echo_broken(f) and f["ada"]["replies"][:1] == f["messages"][:1],
        "the message came back without 'from': add the member's name, {**content, 'from': self.name}",
    ),
    (
        lambda f: any(isinstance(r, dict) and r.get("from") == "mallory" for r in f["ada"]["replies"]),
        lambda f: (
            f"ada sent {f['messages'][SPOOFED]} and it came back with 'from': 'mallory': a client that sends "
            "its own 'from' can speak as anyone. Set 'from' after the content, {**content, 'from': self.name}, "
            "so the member's name always wins"
        ),
    ),
    (
        _echo_broken,
        lambda f: (
            "ada (first name 'Ada') sent {} and got {}, expected {}: send every field back, with 'from' set to "
            "what display_name(username) answers".format(*_first_wrong(f))
        ),
    ),
    (
        lambda f: any(f["watch"].queries),
        lambda f: (
            f"{sum(f['watch'].queries)} database queries ran on the event loop's own thread: while one waits "
            "for the database, every connection of the server waits"
            + (
                " (DJANGO_ALLOW_ASYNC_UNSAFE, set in this kernel, only silences Django's refusal: "
                "del os.environ['DJANGO_ALLOW_ASYNC_UNSAFE'])"
                if f["unsafe"]
                else ""
            )
            + ". Look the name up in connect(), await database_sync_to_async(display_name)(username)"
        ),
    ),
    (
        lambda f: f["stopped_in_a_task"],
        "the consumer kept running after its client left: Channels ends a consumer when a handler raises "
        "StopConsumer (websocket_disconnect does), and yours raised it in a task of its own "
        "(asyncio.create_task), where it ends nothing. Await the handlers where they are called; "
        "a consumer needs no task of its own per message",
    ),
    (
        lambda f: not f["ada"]["ended"],
        "the consumer kept running after its client left: let websocket_disconnect end it (call super() "
        "if you override it), and do not start tasks that outlive the connection",
    ),
    (
        lambda f: f["unknown"]["replies"] != _expected(f["messages"][:1], f["stranger"]),
        lambda f: (
            f"a member nobody has in the database, {f['stranger']!r}, got {f['unknown']['replies']}: "
            "display_name answers the username itself for them; take the username from "
            "self.scope['url_route']['kwargs']['username'], nothing hard-coded"
        ),
    ),
    (
        lambda f: f["ada"]["queries"] > 0,
        lambda f: (
            f"for {MESSAGES} messages your consumer made {f['ada']['queries']} database queries: each one is a "
            "wait for the database while the message waits. Look the name up once, in connect() (not when a "
            "message comes), keep it on self, and make no database call in receive_json"
        ),
    ),
    (
        lambda f: f["ada"]["hops"] > f["stock"]["hops"],
        lambda f: (
            f"for {MESSAGES} messages your consumer made {f['ada']['hops']} thread hops, a stock echo "
            f"{f['stock']['hops']} (Channels' clean-up, one per message): each extra one is a thread there and "
            "back while the message waits. Look the name up once, in connect() (not when a message comes), keep "
            "it on self, and make no database, sync_to_async or thread pool call in receive_json"
        ),
    ),
    (
        lambda f: (
            f["ada_too"]["replies"] != _expected(f["messages"][:2], "Ada")
            or f["grace"]["replies"] != _expected(f["messages"][:2], f["grace_name"])
        ),
        lambda f: (
            f"with ada and grace connected at the same time, ada got {f['ada_too']['replies'][:1]} and grace "
            f"{f['grace']['replies'][:1]}: keep the name on self (one consumer instance per connection), "
            "never on the class or in a global"
        ),
    ),
    (
        lambda f: f["grace_later"]["replies"] != _expected(f["messages"][:1], f["renamed"]),
        lambda f: (
            f"grace changed her first name to {f['renamed']!r}, then connected again, and got "
            f"{f['grace_later']['replies']}: a name kept beyond its connection goes stale; look it up in "
            "connect(), once per connection, and keep it on self"
        ),
    ),
    (
        lambda f: f["grace_earlier"]["replies"] != _expected(f["messages"][:2], f["grace_name"]),
        lambda f: (
            f"grace connected as {f['grace_name']!r}, renamed herself {f['renamed']!r} and connected again in a "
            f"second tab; her first tab then got {f['grace_earlier']['replies'][1:]}, expected "
            f"'from': {f['grace_name']!r}, the name it looked up when it connected: a name kept outside the "
            "consumer (a global, a dict by username, the class) is shared by every connection; keep it on self"
        ),
    ),
    (
        lambda f: f["ada"]["late"],
        lambda f: (
            f"after its client left, the consumer sent {f['ada']['late'][0]}: nothing can be sent on a "
            "connection that is gone (a close() in disconnect() is lesson 03's bug)"
        ),
    ),
    (
        lambda f: (
            not all(f[key]["ended"] for key in ("ada", "unknown", "ada_too", "grace", "grace_earlier", "grace_later"))
        ),
        "the consumer kept running after its client left: let websocket_disconnect end it (call super() "
        "if you override it), and do not start tasks that outlive the connection",
    ),
    (
        lambda f: f["unsafe"],
        "DJANGO_ALLOW_ASYNC_UNSAFE is set in this kernel: it turns off Django's guard against a query that "
        "blocks the event loop, for every consumer. Remove it, del os.environ['DJANGO_ALLOW_ASYNC_UNSAFE'], "
        "and query through database_sync_to_async",
    ),
]

_ADVICE = [
    (
        lambda e: isinstance(e, KeyError) and e.args and e.args[0] != "username",
        "This route names the member 'username' (echo/<username>/): self.scope['url_route']['kwargs']['username']",
    ),
    (
        lambda e: type(e).__name__ == "SynchronousOnlyOperation",
        "display_name queries the database, which Django refuses inside the event loop: "
        "await database_sync_to_async(display_name)(username)",
    ),
    (
        AttributeError,
        "Set what receive_json needs in connect(), on self, before accepting",
    ),
]


def check_database_free_echo(consumer_class) -> None:
    """Exercise 10: the name looked up once per connection; the messages make no thread hop of their own."""
    if not hasattr(consumer_class, "as_asgi"):
        raise ExerciseHint(
            f"pass the consumer class itself: check_database_free_echo(NamedEcho), not {consumer_class!r}"
        )
    from channels.exceptions import StopConsumer

    with learner_code("NamedEcho", _ADVICE, raise_background=False) as caught:
        facts = run(_probes(consumer_class))
    # StopConsumer is how Channels ends a consumer; raised in a task of its own, it ends nothing
    facts["unsafe"] = bool(os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"))
    facts["stopped_in_a_task"] = any(isinstance(error, StopConsumer) for error in caught.errors)
    others = [error for error in caught.errors if not isinstance(error, StopConsumer)]
    if others:
        raise hint_for(others[0], "NamedEcho", _ADVICE)
    diagnose(facts, _RULES)
    passed(
        f"NamedEcho works: each member's own name, looked up once per connection; {MESSAGES} messages made "
        f"{facts['ada']['hops']} thread hops, no more than a stock echo's clean-up ({facts['stock']['hops']}): "
        "none of yours"
    )
