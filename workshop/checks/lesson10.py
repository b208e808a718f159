"""Exercise 10, performance: an echo that looks the member's name up once per connection, not per message.

``check_database_free_echo(NamedEcho)``, the requirements:

- R1 each message comes back unchanged, with ``"from"``: the member's display name (``display_name``,
  given: the first name, or the username), for any member, a username nobody has included;
- R2 the messages make no thread hop of the consumer's own: the name is looked up once, when the member
  connects. Measured, not assumed: the check counts the jobs its event loop hands to threads
  (``run_in_executor``, which ``database_sync_to_async``, ``sync_to_async`` and ``asyncio.to_thread`` use)
  while 5 messages go through, and compares them with a stock echo's, which makes Channels' one
  clean-up per message (lesson 10's profile);
- R3 each connection has its own member: two members connected at once each get their own name;
- R4 a new connection sees the name as it is now in the database (nothing cached beyond a connection);
- R5 the consumer ends when its client leaves;
- R6 Channels is left as it is: the stock echo, measured in the same process, still makes its clean-up hop.

Probes collect these facts; a table of (condition, hint) rules names the first requirement broken; any
exception from the learner's code (in the consumer or in a task it started) becomes a hint naming their line.
"""

from __future__ import annotations

import asyncio
import json
import secrets

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


class _Hops:
    """Counts the jobs the running event loop hands to threads: each is a thread hop, there and back."""

    def __init__(self, loop):
        self.count = 0
        original = loop.run_in_executor

        def counting(executor, function, *args):
            self.count += 1
            return original(executor, function, *args)

        loop.run_in_executor = counting  # this loop only: it is the check's own, and ends with the check


async def _member(application, username, messages, hops: _Hops, between=None):
    """A member's conversation: (what each message got back, thread hops during the messages, ended)."""
    from channels.testing import WebsocketCommunicator

    member = WebsocketCommunicator(application, f"/echo/{username}/")
    await member.send_input({"type": "websocket.connect"})
    first = await next_event(member, 2 * SHORT)  # a right answer looks the name up before it accepts
    accepted = first not in (None, ENDED) and first["type"] == "websocket.accept"
    replies, before = [], hops.count
    if between is not None:  # (arrivals, the event set once every member is in): then they take turns
        arrivals, everyone_in = between
        arrivals.append(accepted)
        if len(arrivals) == 2:
            everyone_in.set()
        await asyncio.wait_for(everyone_in.wait(), 4 * SHORT)
    for message in messages if accepted else ():
        await member.send_json_to(message)
        output = await next_event(member)
        if output in (None, ENDED) or output["type"] != "websocket.send":
            replies.append(None if output in (None, ENDED) else output)
            break
        replies.append(json.loads(output["text"]) if output.get("text") else output.get("bytes"))
    during = hops.count - before
    end = await end_conversation(member, accepted)
    return {"accepted": accepted, "first": first, "replies": replies, "hops": during, **end}


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

    hops = _Hops(asyncio.get_running_loop())
    first_name = f"Grace {secrets.token_hex(2)}"
    await sync_to_async(_users)(first_name)
    application = URLRouter([re_path(ROUTE, consumer_class.as_asgi())])
    messages = [{"n": n, "text": secrets.token_hex(3)} for n in range(MESSAGES)]
    stock = await _member(URLRouter([re_path(ROUTE, StockEcho.as_asgi())]), "ada", messages, hops)
    ada = await _member(application, "ada", messages, hops)
    if not ada["accepted"] or ada["replies"] != _expected(messages, "Ada") or not ada["ended"]:  # known: say it now
        return {"stock": stock, "ada": ada, "messages": messages}
    stranger = f"nobody-{secrets.token_hex(2)}"
    unknown = await _member(application, stranger, messages[:1], hops)
    both = ([], asyncio.Event())  # two members at once: both connect, then they send in turns
    ada_too, grace = await asyncio.gather(
        _member(application, "ada", messages[:2], hops, between=both),
        _member(application, "grace", messages[:2], hops, between=both),
    )
    renamed = f"Grace {secrets.token_hex(2)}"
    await sync_to_async(_users)(renamed)
    grace_again = await _member(application, "grace", messages[:1], hops)
    return {
        "stock": stock,
        "ada": ada,
        "unknown": unknown,
        "stranger": stranger,
        "ada_too": ada_too,
        "grace": grace,
        "grace_name": first_name,
        "grace_again": grace_again,
        "renamed": renamed,
        "messages": messages,
    }


def _expected(messages, name):
    return [{**message, "from": name} for message in messages]


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
        _echo_broken,
        lambda f: (
            f"ada (first name 'Ada') sent {f['messages'][0]} and got {f['ada']['replies'][0]}, "
            f"expected {_expected(f['messages'], 'Ada')[0]}: send every field back, with 'from' set to "
            "what display_name(username) answers"
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
        lambda f: f["ada"]["hops"] > f["stock"]["hops"],
        lambda f: (
            f"for {MESSAGES} messages your consumer handed {f['ada']['hops']} jobs to threads, a stock echo "
            f"{f['stock']['hops']} (Channels' clean-up, one per message): each extra one is a thread there and "
            "back while the message waits. Look the name up once, in connect() (not when a message comes), keep "
            "it on self, and make no database or sync_to_async call in receive_json"
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
        lambda f: f["grace_again"]["replies"] != _expected(f["messages"][:1], f["renamed"]),
        lambda f: (
            f"grace changed her first name to {f['renamed']!r}, then connected again, and got "
            f"{f['grace_again']['replies']}: a name kept beyond its connection goes stale; look it up in "
            "connect(), once per connection"
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
        lambda f: not all(f[key]["ended"] for key in ("ada", "unknown", "ada_too", "grace", "grace_again")),
        "the consumer kept running after its client left: let websocket_disconnect end it (call super() "
        "if you override it), and do not start tasks that outlive the connection",
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
