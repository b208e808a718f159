"""Exercise 08's check: the tests learners write, right and wrong, and the hints the wrong ones get.

A learner's test is run against more broken consumers than the three the exercise names, nearly-right
ones included, so a test that only checks that the text changed, or its first letter, is caught.
"""

from tests.checks import table_tests


async def good_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abc"})
    assert await communicator.receive_json_from() == {"reversed": "cba"}
    await communicator.disconnect()


async def weak_test_checking_only_that_a_reply_arrives(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    await communicator.connect()
    await communicator.send_json_to({"text": "abc"})
    assert await communicator.receive_from()


async def palindrome_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abba"})
    assert await communicator.receive_json_from() == {"reversed": "abba"}
    await communicator.disconnect()


async def unawaited_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = communicator.connect()
    assert connected


async def class_instead_of_asgi_app_test(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class, "/reverse/")
    connected, _ = await communicator.connect()
    assert connected


async def wrong_test_expecting_something_else(consumer_class):
    await good_test(consumer_class)
    raise AssertionError("expected something else")


def sync_test(consumer_class):
    pass


async def learners_test_checking_only_that_the_text_changed(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abc"})
    assert (await communicator.receive_json_from())["reversed"] != "abc"
    await communicator.disconnect()


async def learners_test_checking_only_the_first_letter(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abc"})
    assert (await communicator.receive_json_from())["reversed"].startswith("c")
    await communicator.disconnect()


async def learners_test_checking_the_value_only(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abc"})
    assert "cba" in (await communicator.receive_json_from()).values()
    await communicator.disconnect()


async def learners_test_checking_the_length(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abcdef"})
    reply = await communicator.receive_json_from()
    assert len(reply["reversed"]) == 6 and reply["reversed"] != "abcdef"


async def learners_test_with_a_typo(consumer_class):  # raises on the right consumer: the hint names the line
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "abc"})
    assert (await communicator.receive_json_from())["reverse"] == "cba"


async def learners_test_reading_text_and_parsing_it(consumer_class):
    import json

    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected, "refused"
    await communicator.send_to(text_data=json.dumps({"text": "stressed"}))
    assert json.loads(await communicator.receive_from()) == {"reversed": "desserts"}
    await communicator.disconnect()


async def learners_test_several_texts(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    for text, expected in [("abc", "cba"), ("hello world", "dlrow olleh")]:
        await communicator.send_json_to({"text": text})
        response = await communicator.receive_json_from(timeout=2)
        assert response == {"reversed": expected}, response
    await communicator.disconnect()


async def learners_test_the_solution_s_way(consumer_class):
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected, "the connection was refused"
    await communicator.send_json_to({"text": "channels"})
    assert await communicator.receive_json_from() == {"reversed": "slennahc"}
    await communicator.disconnect()


async def learners_test_with_two_letters(consumer_class):  # "ab" rotated is "ba": its reverse
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"text": "ab"})
    assert await communicator.receive_json_from() == {"reversed": "ba"}
    await communicator.disconnect()


async def learners_test_catching_its_own_assertion(consumer_class):  # prints the failure, and passes
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    try:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"text": "abc"})
        assert await communicator.receive_json_from() == {"reversed": "cba"}
    except AssertionError as error:
        print("test failed:", error)
    finally:
        await communicator.disconnect()


async def learners_test_with_async_to_sync(consumer_class):  # a sync habit inside an async def
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    communicator = WebsocketCommunicator(consumer_class.as_asgi(), "/reverse/")
    connected, _ = async_to_sync(communicator.connect)()
    assert connected


CHECKS = {
    "check_test_catches_bugs": (
        good_test,
        "catches all",
        [
            (
                weak_test_checking_only_that_a_reply_arrives,
                "your test passed a consumer that echoes the text unchanged",
            ),
            (palindrome_test, "reads differently backwards"),
            (unawaited_test, "await each of them"),
            (class_instead_of_asgi_app_test, "consumer_class.as_asgi(), not the class"),
            (wrong_test_expecting_something_else, "your test failed the correct ReverseConsumer"),
            (sync_test, "must be an async def"),
            (learners_test_checking_only_that_the_text_changed, "changes the text without reversing it"),
            (learners_test_checking_only_the_first_letter, "gets only the first letter right"),
            (learners_test_checking_the_value_only, "the right text under another key"),
            (learners_test_checking_the_length, "changes the text without reversing it"),
            (learners_test_with_a_typo, "your test failed the correct ReverseConsumer (KeyError: 'reverse'"),
            (learners_test_with_two_letters, "for the text 'ab' that consumer's reply is the right one too"),
            (learners_test_catching_its_own_assertion, "and caught it itself"),
            (learners_test_with_async_to_sync, "async_to_sync is for sync code"),
        ],
    ),
}
OTHER_RIGHT_ANSWERS = [
    ("check_test_catches_bugs", learners_test_reading_text_and_parsing_it),
    ("check_test_catches_bugs", learners_test_several_texts),
    ("check_test_catches_bugs", learners_test_the_solution_s_way),
]
RAISING = [
    ("check_test_catches_bugs", learners_test_with_a_typo, "KeyError", '["reverse"] == "cba"'),
    ("check_test_catches_bugs", class_instead_of_asgi_app_test, "TypeError", "await communicator.connect()"),
]


(
    test_the_check_passes_the_solution,
    test_the_check_passes_the_variants_learners_write,
    test_the_check_names_each_mistake,
    test_an_answer_that_raises_gets_a_hint_naming_its_line,
    test_the_check_has_its_wrong_answers_and_correct_variants,
) = table_tests(CHECKS, OTHER_RIGHT_ANSWERS, RAISING, raised="{exception}")
