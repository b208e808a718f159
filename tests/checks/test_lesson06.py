"""Exercise 06's check: announce(rooms, text) from sync code, right and wrong.

The rooms and the text are ones the exercise never shows; the check measures the event loops one call
runs (one per async_to_sync call from sync code, each with its own Redis connection).
"""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tests.checks import table_tests


def event(text, kind="chamber.message"):
    return {"type": kind, "who": "announcer", "message": {"text": text}}


def announce(rooms, text):
    channel_layer = get_channel_layer()

    async def to_every_room():
        for room in rooms:
            await channel_layer.group_send(f"chamber.{room}", event(text))

    async_to_sync(to_every_room)()


# --------------------------------------------------------------------------- wrong answers


def announce_room_by_room(rooms, text):  # right for one room; a thread, a loop and a connection per room
    for room in rooms:
        async_to_sync(get_channel_layer().group_send)(f"chamber.{room}", event(text))


def announce_without_async_to_sync(rooms, text):
    for room in rooms:
        get_channel_layer().group_send(f"chamber.{room}", event(text))


async def announce_as_an_async_def(rooms, text):
    for room in rooms:
        await get_channel_layer().group_send(f"chamber.{room}", event(text))


def _once(rooms, send):
    async def to_every_room():
        for room in rooms:
            await send(room)

    async_to_sync(to_every_room)()


def announce_to_the_wrong_group(rooms, text):
    _once(rooms, lambda room: get_channel_layer().group_send(room, event(text)))


def announce_with_an_unknown_type(rooms, text):
    _once(rooms, lambda room: get_channel_layer().group_send(f"chamber.{room}", event(text, "chat.message")))


def announce_with_the_text_at_the_top(rooms, text):
    _once(
        rooms,
        lambda room: get_channel_layer().group_send(
            f"chamber.{room}", {"type": "chamber.message", "who": "announcer", "text": text}
        ),
    )


def announce_to_a_channel(rooms, text):
    _once(rooms, lambda room: get_channel_layer().send(f"chamber.{room}", event(text)))


def announce_to_an_invalid_group_name(rooms, text):
    _once(rooms, lambda room: get_channel_layer().group_send(f"chamber {room}", event(text)))


def announce_through_the_function_itself(rooms, text):  # get_channel_layer.group_send: the function, not its layer
    _once(rooms, lambda room: get_channel_layer.group_send(f"chamber.{room}", event(text)))


def announce_to_the_first_room_only(rooms, text):
    if rooms:
        async_to_sync(get_channel_layer().group_send)(f"chamber.{rooms[0]}", event(text))


def announce_to_lower_cased_rooms(rooms, text):  # a room 'Lobby' is the group chamber.Lobby, not chamber.lobby
    _once(rooms, lambda room: get_channel_layer().group_send(f"chamber.{room.lower()}", event(text)))


def announce_to_the_list_as_one_room(rooms, text):
    async_to_sync(get_channel_layer().group_send)(f"chamber.{'-'.join(rooms)}", event(text))


def announce_with_gather_of_a_generator(rooms, text):
    layer = get_channel_layer()

    async def to_every_room():
        await asyncio.gather(layer.group_send(f"chamber.{room}", event(text)) for room in rooms)

    async_to_sync(to_every_room)()


def announce_even_to_no_room(rooms, text):  # a default room for an empty list
    announce(rooms or ["lobby"], text)


# --------------------------------------------------------------------------- right answers people write


def announce_with_gather(rooms, text):
    layer = get_channel_layer()

    async def to_every_room():
        await asyncio.gather(*(layer.group_send(f"chamber.{room}", event(text)) for room in rooms))

    async_to_sync(to_every_room)()


async def _send_all(layer, rooms, text):
    for room in rooms:
        await layer.group_send(
            "chamber." + room, {"type": "chamber_message", "who": "announcer", "message": {"text": text}}
        )


def announce_with_underscores_in_the_type(rooms, text):  # Channels routes chamber_message to the same handler
    async_to_sync(_send_all)(get_channel_layer(), rooms, text)


_LAYER_GOT_AT_IMPORT = get_channel_layer()  # as a management command module may do


def announce_with_a_layer_got_at_import(rooms, text):
    async def to_every_room():
        for room in rooms:
            await _LAYER_GOT_AT_IMPORT.group_send(f"chamber.{room}", event(text))

    async_to_sync(to_every_room)()


CHECKS = {
    "check_announce": (
        announce,
        "one event loop for 3 rooms",
        [
            (announce_room_by_room, "announce ran 3 event loops for 3 rooms"),
            (announce_without_async_to_sync, "async_to_sync(channel_layer.group_send)(group, event)"),
            (announce_as_an_async_def, "announce is an async def"),
            (announce_to_the_wrong_group, "'chamber.' + room"),
            (announce_with_an_unknown_type, "it must be 'chamber.message'"),  # the "type" routes the event
            (announce_with_the_text_at_the_top, "'message': event['message']"),
            (announce_to_a_channel, "a room is a group, so use group_send"),
            (announce_to_an_invalid_group_name, "Group names may hold only"),  # django/channels#626, #1845
            (announce_through_the_function_itself, "get_channel_layer is a function: call it"),
            (announce_to_the_first_room_only, "send once to 'chamber.' + room for every room in rooms"),
            (announce_to_the_list_as_one_room, "send once to 'chamber.' + room for every room in rooms"),
            (announce_with_gather_of_a_generator, "announce raised RuntimeError: Task got bad yield"),
            (announce_even_to_no_room, "with no rooms, send nothing"),
            (announce_to_lower_cased_rooms, "a group name is case-sensitive"),
        ],
    ),
}
OTHER_RIGHT_ANSWERS = [
    ("check_announce", announce_with_gather),
    ("check_announce", announce_with_underscores_in_the_type),
    ("check_announce", announce_with_a_layer_got_at_import),
    ("check_announce", announce_with_a_layer_got_at_import),  # again: the check leaves the layer in place
]
RAISING = [
    ("check_announce", announce_through_the_function_itself, "AttributeError", "get_channel_layer.group_send("),
    ("check_announce", announce_to_an_invalid_group_name, "TypeError", "await send(room)"),
    ("check_announce", announce_with_gather_of_a_generator, "RuntimeError", "asyncio.gather("),
]


(
    test_the_check_passes_the_solution,
    test_the_check_passes_the_variants_learners_write,
    test_the_check_names_each_mistake,
    test_an_answer_that_raises_gets_a_hint_naming_its_line,
    test_the_check_has_its_wrong_answers_and_correct_variants,
) = table_tests(CHECKS, OTHER_RIGHT_ANSWERS, RAISING)
