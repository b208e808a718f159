"""Exercise 05, groups: a lobby that announces arrivals and broadcasts what members say."""

from __future__ import annotations

import json

from ._common import (
    Client,
    ExerciseHint,
    changed_outside,
    diagnose,
    hint_for,
    learner_code,
    leave_under_uvicorn,
    missing_await_hint,
    passed,
    run,
    state_outside,
    stop_clients,
    unawaited_coroutines,
)

# What Bob sends: the text, plus fields a hostile client adds to pass for someone else or to smuggle data.
_BOBS_MESSAGE = {"text": "hi", "who": "mallory", "type": "lobby.joined", "colour": "red"}

# The probe, step by step: (what happens, who does it, what it is, {member: what that member must hear}).
_STEPS = [
    ("Ada arrived", "ada", "/lobby/?name=ada", {"ada": {"joined": "ada"}}),
    ("Bob arrived", "bob", "/lobby/?name=bob", {"ada": {"joined": "bob"}, "bob": {"joined": "bob"}}),
    ("Bob said 'hi'", "bob", _BOBS_MESSAGE, {m: {"who": "bob", "text": "hi"} for m in ("bob", "ada")}),
    (
        "Ada said 'hello bob'",
        "ada",
        {"text": "hello bob"},
        {m: {"who": "ada", "text": "hello bob"} for m in ("ada", "bob")},
    ),
    (
        "Renée arrived (/lobby/?name=ren%C3%A9e)",
        "renee",
        "/lobby/?name=ren%C3%A9e",
        {m: {"joined": "renée"} for m in ("renee", "ada", "bob")},
    ),
    (
        "Ada Lovelace arrived (/lobby/?name=ada+lovelace&lang=en)",  # a + is a space; more than one parameter
        "lovelace",
        "/lobby/?name=ada+lovelace&lang=en",
        {m: {"joined": "ada lovelace"} for m in ("lovelace", "ada", "bob", "renee")},
    ),
    (
        "someone arrived without a name (/lobby/)",
        "guest",
        "/lobby/",
        {m: {"joined": "guest"} for m in ("guest", "ada", "bob", "renee", "lovelace")},
    ),
]


def _heard_right(got, expected) -> bool:
    return got == expected


async def _lobby_probe(consumer_class) -> dict:
    """Play ``_STEPS`` with a fresh in-memory layer; stop at the first thing a member did not hear right."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    await layer.flush()  # start from an empty layer, in this loop
    events, group_send = [], layer.group_send

    async def recording_group_send(group, message):
        events.append((group, dict(message)))
        await group_send(group, message)

    layer.group_send = recording_group_send
    application = consumer_class.as_asgi()
    members: dict[str, Client] = {}
    facts = {"events": events, "failed": None, "opened": True, "members": members}
    try:
        for what, who, action, hears in _STEPS:
            if isinstance(action, str):  # an arrival
                members[who] = Client(application, action)
                facts["opened"] = await members[who].open()
                if not facts["opened"]:
                    facts["failed"] = (what, who, "accepted", None)
                    return facts
            else:
                await members[who].communicator.send_input({"type": "websocket.receive", "text": json.dumps(action)})
            for member, expected in hears.items():
                got = await members[member].hear()
                if not _heard_right(got, expected):
                    facts["failed"] = (what, member, expected, got)
                    return facts
        for member in members.values():
            await member.leave()
    finally:
        await stop_clients(list(members.values()))
        facts["left_behind"] = len(getattr(layer, "groups", {}).get("lobby", {}))
        del layer.group_send
        await layer.flush()
    return facts


def _said(facts) -> list:
    return [
        event for _, event in facts["events"] if "hi" in json.dumps(event) and "joined" not in event.get("type", "")
    ]


def _failed(step_prefix, member=None, got=lambda g: True):
    """A condition on the first failed step: its name starts with ``step_prefix``, for ``member``, and ``got`` holds."""

    def condition(facts):
        failed = facts["failed"]
        return (
            failed is not None
            and failed[0].startswith(step_prefix)
            and (member is None or failed[1] == member)
            and got(failed[3])
        )

    return condition


def _heard(facts) -> str:
    what, member, expected, got = facts["failed"]
    return f"{what}, and {member.capitalize()} heard {got}, expected {expected}"


def _joined(got) -> str:
    return str(got.get("joined", "")) if isinstance(got, dict) else ""


_RULES = [
    (
        lambda f: f["opened"] is False,
        "the connection was refused: accept it in connect() (await self.accept())",
    ),
    (lambda f: f["opened"] is None, "the handshake got no answer: connect() must call await self.accept()"),
    (
        _failed("", got=lambda g: _joined(g).startswith(("name=", "b'"))),
        lambda f: (
            f"{_heard(f)}: the query string is the bytes b'name=ada'; parse it, "
            "parse_qs(self.scope['query_string'].decode())['name'][0]"
        ),
    ),
    (
        _failed("Ada arrived", got=lambda g: _joined(g) in ("guest", "anonymous", "None")),
        lambda f: (
            f"{_heard(f)}: the name was not found in the query string. It is bytes (b'name=ada'): decode it "
            "before parsing, parse_qs(self.scope['query_string'].decode())"
        ),
    ),
    (
        _failed("Ada arrived"),
        lambda f: (
            f"{_heard(f)}: in connect(), group_add the channel and accept *before* group_send-ing the "
            "arrival (and read the name from the query string)"
        ),
    ),
    (
        _failed("Bob arrived", "ada", got=lambda g: g is None),
        lambda f: (
            f"{_heard(f)}: Ada is not in the group. In connect(), group_add this channel to 'lobby', then "
            "group_send the arrival to the group"
        ),
    ),
    (
        _failed("Bob arrived"),
        lambda f: (
            f"{_heard(f)}: every member hears every arrival, its own too: group_add and accept before "
            "group_send, and read each member's own name from its query string"
        ),
    ),
    (
        lambda f: any("colour" in event for event in _said(f)),
        lambda f: (
            f"Bob's message went into the group event {_said(f)[0]}: copy only the fields you expect, "
            "{'type': 'lobby.say', 'who': self.who, 'text': content['text']}, so a client cannot add or overwrite "
            "fields"
        ),
    ),
    (
        lambda f: (
            any(event.get("who") == "mallory" for event in _said(f))
            or _failed("Bob said", got=lambda g: isinstance(g, dict) and g.get("who") == "mallory")(f)
        ),
        "Bob sent 'who': 'mallory' and the lobby believed him: take the name from the connection (self.who), "
        "never from the client's message",
    ),
    (
        _failed("Bob said", "ada", got=lambda g: g is None),
        lambda f: (
            f"{_heard(f)}: only the sender got it? Send to the group with "
            "self.channel_layer.group_send('lobby', ...), not with send_json"
        ),
    ),
    (
        _failed("Ada said", got=lambda g: g == {"who": "bob", "text": "hi"}),
        lambda f: (
            f"{_heard(f)}: a member heard Bob's 'hi' twice. The sender is in the group too, so "
            "group_send alone reaches everyone: do not also send_json to the sender"
        ),
    ),
    (
        _failed("Ada said", got=lambda g: isinstance(g, dict) and g.get("who") == "bob"),
        lambda f: (
            f"{_heard(f)}: the name of the last member to arrive is used for everyone, so it is shared. "
            "Keep it on self (self.who = ... in connect()), not on the class or in a global"
        ),
    ),
    (
        _failed("Renée", got=lambda g: "%" in _joined(g)),
        lambda f: (
            f"{_heard(f)}: names come percent-encoded, as browsers send them; parse_qs decodes them, "
            "splitting by hand does not: parse_qs(self.scope['query_string'].decode())"
        ),
    ),
    (
        _failed("Ada Lovelace", got=lambda g: "+" in _joined(g) or "%20" in _joined(g)),
        lambda f: (
            f"{_heard(f)}: in a query string a + is a space (an HTML form sends ada+lovelace); parse_qs decodes "
            "it, unquote does not: parse_qs(self.scope['query_string'].decode())"
        ),
    ),
    (
        _failed("Ada Lovelace", got=lambda g: "&" in _joined(g) or "lang" in _joined(g)),
        lambda f: (
            f"{_heard(f)}: a query string may hold more parameters than name (&lang=en): parse it, "
            "parse_qs(self.scope['query_string'].decode()).get('name', ['guest'])[0], do not split it by hand"
        ),
    ),
    (
        _failed("someone arrived without a name", got=lambda g: isinstance(g, dict) and "joined" in g),
        lambda f: (
            f"{_heard(f)}: a member who gives no name joins as exactly 'guest', as the exercise says: "
            "parse_qs(...).get('name', ['guest'])[0]"
        ),
    ),
    (
        lambda f: f["failed"] is not None,
        lambda f: (
            f"{_heard(f)}: what a member sends reaches every member as {{'who': name, 'text': text}}, and "
            "every arrival as {'joined': name}"
        ),
    ),
    (
        lambda f: f["changed"],
        lambda f: (
            f"the lobby kept state outside its connections ({', '.join(f['changed'])}), so a second run "
            "starts from the first: keep each member's name on self"
        ),
    ),
    (
        lambda f: not all(member.ended for member in f["members"].values()),
        "after the clients left, the consumer kept running: if you override websocket_disconnect, call "
        "super().websocket_disconnect(message), which ends the consumer; or override disconnect(self, close_code) "
        "instead",
    ),
    (
        lambda f: any(member.closes_after_leaving for member in f["members"].values()),
        lambda f: (
            "after its client left, the consumer sent "
            f"{next(m.closes_after_leaving for m in f['members'].values() if m.closes_after_leaving)[0]}: the "
            "connection is already closed, so send nothing (no self.close()) in disconnect(); under uvicorn that "
            "send raises RuntimeError"
        ),
    ),
    (
        lambda f: f["left_behind"],
        lambda f: (
            f"after everyone left, the group 'lobby' still held {f['left_behind']} channel(s): group_discard "
            "in disconnect(), or messages pile up for nobody"
        ),
    ),
]


def _no_handler(error) -> str:
    kind = str(error).rsplit(" ", 1)[-1]
    return (
        f"a group event of type {kind!r} needs a method named {kind.replace('.', '_')}(self, event) on the "
        "consumer: the type, dots replaced by underscores"
    )


_ERRORS = [
    (lambda e: isinstance(e, ValueError) and "No handler for message type" in str(e), _no_handler),
    (
        lambda e: isinstance(e, RuntimeError) and "AsyncToSync" in str(e),
        "async_to_sync is for sync code; in an async consumer await the layer's methods directly: "
        "await self.channel_layer.group_send(...)",
    ),
    (
        lambda e: isinstance(e, TypeError) and "byte indices" in str(e),
        "scope['query_string'] is bytes (b'name=ada'), not a dict: parse it, "
        "parse_qs(self.scope['query_string'].decode())",
    ),
    (
        lambda e: isinstance(e, KeyError) and e.args == ("name",),
        "the name was not found: decode the query string before parsing it (parse_qs of bytes has bytes keys), "
        "and let a member without a name in too: parse_qs(...).get('name', ['guest'])[0]",
    ),
    (
        lambda e: isinstance(e, (IndexError, KeyError)),
        "a member without a name (/lobby/) must still get in, as 'guest': "
        "parse_qs(self.scope['query_string'].decode()).get('name', ['guest'])[0]",
    ),
]


def check_lobby_consumer(consumer_class) -> None:
    """Exercise 05: a lobby that announces arrivals and broadcasts what members say.

    R1 each member's name comes from its query string (?name=ada), decoded (?name=ren%C3%A9e is renée,
    ?name=ada+lovelace&lang=en is "ada lovelace": a + is a space, and other parameters may come too); a
    member without one gets in as exactly 'guest'; R2 every member, the newcomer too, hears {"joined":
    name} for each arrival; R3 what a member sends reaches every member as exactly {"who": name, "text":
    text}: the name from the connection, nothing else from the client's message; R4 each member keeps
    its own name (Ada speaks after Bob arrived), nothing on the class, in a global or in a default
    argument; R5 when members leave, their consumers end, send nothing more, and the group is empty;
    also under the README's uvicorn transport.
    """
    who = getattr(consumer_class, "__name__", "LobbyConsumer")
    if not hasattr(consumer_class, "as_asgi"):
        raise ExerciseHint("pass the consumer class itself, e.g. check_lobby_consumer(LobbyConsumer)")
    with learner_code(who, _ERRORS), unawaited_coroutines() as unawaited:
        before = state_outside(consumer_class)
        facts = run(_lobby_probe(consumer_class))
        facts["changed"] = changed_outside(before, state_outside(consumer_class))
    if unawaited:
        raise missing_await_hint(unawaited, who)
    diagnose(facts, _RULES)
    with learner_code(who, _ERRORS):
        served = leave_under_uvicorn(
            consumer_class.as_asgi(), "/lobby/?name=ada", [{"text": "bye"}], name="check_lobby_consumer", expect=1
        )
    if served["raised"]:
        raise ExerciseHint("served by uvicorn (the README's transport): " + str(hint_for(served["raised"][0], who)))
    passed(
        "LobbyConsumer works: arrivals announced, 'hi' from Bob and Ada's answer reached everyone, the group emptied"
    )
