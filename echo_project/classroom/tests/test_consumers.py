"""The classroom's consumers and views, in process (Channels' WebsocketCommunicator, Django's test client).

Through the project's own ASGI application (echo_project/asgi.py), so the routes, the origin check and the
middleware are the ones served. Each test starts from an empty evening in the test database.
"""

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings

from classroom import consumers, evening
from classroom.exercises import EXERCISE_IDS
from classroom.models import Result
from echo.consumers import TokenBucket
from echo_project.asgi import application

# Reports are stored, and the projector's grid read, from other threads than the test's: pytest-django's test
# database, emptied after each test.
pytestmark = pytest.mark.django_db(transaction=True)

CODE, TOKEN = "k3y", "instructor-token"
SAME_ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


@pytest.fixture(autouse=True)
async def evening_of_its_own():
    with override_settings(CLASSROOM_CODE=CODE, CLASSROOM_TOKEN=TOKEN):
        await database_sync_to_async(evening.reset)()
        yield
        await get_channel_layer().flush()
    consumers.PRESENT.clear()


class StoppedClock:
    now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def stopped_clock(monkeypatch):
    monkeypatch.setattr(TokenBucket, "clock", StoppedClock())


def key_of(name: str) -> str:
    """The key a laptop drew for ``name`` (workshop/classroom.py draws a random one)."""
    return ("key-of-" + "".join(f"{ord(c):x}" for c in str(name))).ljust(24, "0")[:64]


def from_address(host: str):
    """echo_project's application, for connections from ``host`` (a communicator's scope has no address)."""

    async def app(scope, receive, send):
        return await application(dict(scope, client=(host, 50000)), receive, send)

    return app


async def attendee(name="Ada", code=CODE, headers=SAME_ORIGIN, key=None, app=application):
    """A joined attendee's communicator, or the close frame that refused it."""
    communicator = WebsocketCommunicator(app, "/classroom/attendee/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"join": code, "name": name, "key": key or key_of(name)})
    answer = await communicator.receive_output(timeout=2)
    if answer["type"] == "websocket.close":
        return answer
    assert json.loads(answer["text"])["joined"] == name
    return communicator


async def projector():
    communicator = WebsocketCommunicator(application, "/classroom/projector/", headers=SAME_ORIGIN)
    assert (await communicator.connect())[0]
    return communicator, (await communicator.receive_json_from())["grid"]


async def next_row(watcher):
    return (await watcher.receive_json_from(timeout=2))["row"]


async def test_a_report_reaches_the_projector_as_the_attendees_row():
    watcher, grid = await projector()
    assert grid["rows"] == [] and [e["id"] for e in grid["exercises"]][:2] == ["greeting_app", "request_counter"]
    ada = await attendee()
    assert (await next_row(watcher)) == {"name": "Ada", "present": True, "results": {}}
    await ada.send_json_to({"exercise": "tally", "outcome": "hint", "category": "raised KeyError"})
    tally = (await next_row(watcher))["results"]["tally"]
    assert (tally["outcome"], tally["category"], tally["runs"]) == ("hint", "raised KeyError", 1)
    first_failure = tally["failing_since"]
    await ada.send_json_to({"exercise": "tally", "outcome": "hint", "category": "wrong behaviour"})
    assert (await next_row(watcher))["results"]["tally"]["failing_since"] == first_failure  # still failing since
    await ada.send_json_to({"exercise": "tally", "outcome": "passed"})
    tally = (await next_row(watcher))["results"]["tally"]
    assert (tally["outcome"], tally["failing_since"], tally["runs"]) == ("passed", None, 3)
    await ada.disconnect()
    assert (await next_row(watcher))["present"] is False
    # a projector opened later gets the whole grid
    late, grid = await projector()
    assert grid["rows"][0]["results"]["tally"]["outcome"] == "passed"
    await watcher.disconnect()
    await late.disconnect()


@pytest.mark.parametrize("code", ["", "K3Y", "k3y ", None, ["k3y"]])
async def test_a_wrong_join_code_is_refused_with_4003(code):
    refused = await attendee(code=code)
    assert (refused["code"], refused["reason"]) == (4003, "wrong join code")
    assert await database_sync_to_async(lambda: evening.grid(set())["rows"])() == []


async def test_without_a_join_code_set_every_join_is_refused():
    with override_settings(CLASSROOM_CODE=""):
        assert (await attendee(code=""))["code"] == 4003


async def test_a_page_of_another_origin_may_not_connect():
    communicator = WebsocketCommunicator(
        application, "/classroom/attendee/", headers=[(b"origin", b"http://evil.example"), (b"host", b"127.0.0.1")]
    )
    assert (await communicator.connect())[0] is False


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * 31, "x" * 60_000, "<b>Ada</b>", "Ada\nBob", "_Ada", 42, None, "Ada\u202e"]
)
async def test_names_are_bounded_and_plain(name):
    refused = await attendee(name=name)
    assert refused["code"] == consumers.BAD_REQUEST
    assert "letters, digits" in refused["reason"]


@pytest.mark.parametrize("name", ["Ada", "Ada Lovelace", "Zoë", "李雷", "O'Neil", "ada-42", "x" * 30])
async def test_names_people_have_are_accepted(name):
    ada = await attendee(name=name)
    await ada.disconnect()


async def test_a_name_is_its_first_keys_all_evening_and_that_laptops_notebooks_share_it():
    watcher, _ = await projector()
    ada = await attendee()
    assert (await next_row(watcher))["present"] is True
    second_notebook = await attendee()  # the same laptop's key: another notebook, the same attendee
    assert (await next_row(watcher))["present"] is True
    squatter = await attendee(key="somebody-else-entirely")
    assert (squatter["code"], squatter["reason"]) == (
        consumers.NAME_TAKEN,
        "that name is someone else's this evening: choose another",
    )
    await ada.disconnect()
    assert await watcher.receive_nothing(timeout=0.3), "still present: its other notebook is connected"
    await second_notebook.disconnect()
    assert (await next_row(watcher))["present"] is False
    assert (await attendee(key="somebody-else-entirely"))["code"] == consumers.NAME_TAKEN, "gone, still hers"
    again = await attendee()  # the same laptop, reconnecting
    await again.disconnect()
    await watcher.disconnect()


@pytest.mark.parametrize("key", ["short", "x" * 65, "with spaces in it!", 12345678901234567, None])
async def test_a_key_that_no_laptop_draws_is_refused(key):
    communicator = WebsocketCommunicator(application, "/classroom/attendee/", headers=SAME_ORIGIN)
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"join": CODE, "name": "Ada", "key": key})
    assert (await communicator.receive_output(timeout=2))["code"] == consumers.BAD_REQUEST


async def test_one_address_seats_a_few_names_so_a_client_with_the_code_cannot_fill_the_room():
    seats = settings.CLASSROOM_SEATS_PER_ADDRESS
    mallory = from_address("192.0.2.66")
    seated = [await attendee(f"fake {n}", app=mallory) for n in range(seats)]
    refused = await attendee("fake more", app=mallory)
    assert (refused["code"], refused["reason"]) == (1013, "too many names from your address")
    ada = await attendee("Ada", app=from_address("192.0.2.7"))  # anyone else is seated as usual
    for member in (*seated, ada):
        await member.disconnect()


async def test_the_classroom_is_full_at_its_limit_and_seats_are_kept():
    with override_settings(CLASSROOM_MAX_ATTENDEES=2):
        ada, bob = await attendee("Ada"), await attendee("Bob")
        refused = await attendee("Cy")
        assert (refused["code"], refused["reason"]) == (1013, "the classroom is full")
        await bob.disconnect()
        assert (await attendee("Cy"))["code"] == 1013  # Bob's seat is his for the evening
        bob = await attendee("Bob")
        await ada.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize(
    "report",
    [
        {"exercise": "rm -rf", "outcome": "passed"},
        {"exercise": "check_tally", "outcome": "passed"},
        {"exercise": "tally", "outcome": "solved"},
        {"exercise": "tally", "outcome": "hint"},
        {"exercise": "tally", "outcome": "hint", "category": "<script>alert(1)</script>"},
        {"exercise": "tally", "outcome": "hint", "category": "raised " + "K" * 100},
        {"exercise": "tally", "outcome": "passed", "category": "raised KeyError"},
        {"exercise": "tally", "outcome": "passed", "code": "def tally(): ..."},
        {"exercise": ["tally"], "outcome": "passed"},
        ["tally", "passed"],
    ],
)
async def test_a_forged_report_is_answered_to_its_sender_alone_and_kept_nowhere(report):
    watcher, _ = await projector()
    ada, bob = await attendee("Ada"), await attendee("Bob")
    await next_row(watcher), await next_row(watcher)
    await ada.send_json_to(report)
    assert "error" in await ada.receive_json_from()
    assert await bob.receive_nothing() and await watcher.receive_nothing()
    assert await database_sync_to_async(Result.objects.count)() == 0
    for who in (ada, bob, watcher):
        await who.disconnect()


async def test_a_flooding_attendee_is_closed_and_hurts_nobody_else(stopped_clock):
    watcher, _ = await projector()
    flood, bob = await attendee("Flood"), await attendee("Bob")
    await next_row(watcher), await next_row(watcher)
    burst = settings.CLASSROOM_RATE_BURST
    for _ in range(3 * burst):
        await flood.send_json_to({"exercise": "tally", "outcome": "passed"})
    outputs = []
    while (output := await flood.receive_output(timeout=2))["type"] != "websocket.close":
        outputs.append(json.loads(output["text"]))
    assert output["code"] == 1008 and "too many messages" in output["reason"]
    assert sum("error" in each for each in outputs) == burst - 1  # answered, then closed once it owed a burst
    handled = burst - 1  # the join took a token of the burst too
    rows = [await next_row(watcher) for _ in range(handled)]  # what the burst allowed, shown
    assert rows[-1]["results"]["tally"]["runs"] == handled
    assert await watcher.receive_nothing()  # and nothing more: what it sent while refused was not read
    await flood.disconnect()
    assert (await next_row(watcher)) == {**rows[-1], "present": False}  # then it was gone
    await bob.send_json_to({"exercise": "tally", "outcome": "hint", "category": "not written"})
    assert (await next_row(watcher))["results"]["tally"]["category"] == "not written"
    assert await bob.receive_nothing()  # nothing of the flood reached Bob
    await bob.disconnect()
    await watcher.disconnect()


async def test_a_connection_that_never_joins_is_closed(monkeypatch):
    monkeypatch.setattr(consumers, "JOIN_TIMEOUT", 0.1)
    communicator = WebsocketCommunicator(application, "/classroom/attendee/", headers=SAME_ORIGIN)
    assert (await communicator.connect())[0]
    closed = await communicator.receive_output(timeout=2)
    assert (closed["type"], closed["code"]) == ("websocket.close", consumers.BAD_REQUEST)


def test_every_exercise_id_is_a_short_plain_name():
    assert all(len(exercise) <= 40 and exercise.replace("_", "").isalpha() for exercise in EXERCISE_IDS)


# --------------------------------------------------------------------------- the instructor's view


@pytest.fixture
def client():
    with override_settings(CLASSROOM_CODE=CODE, CLASSROOM_TOKEN=TOKEN, DEBUG=False):
        yield Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")


def instructor_post(client, token, action):
    page = client.get("/classroom/instructor/")
    csrf = page.cookies["csrftoken"].value
    return client.post("/classroom/instructor/", {"token": token, "action": action, "csrfmiddlewaretoken": csrf})


def seat_someone():
    evening.seat("Ada", key_of("Ada"), None)
    evening.record("Ada", key_of("Ada"), None, "tally", "hint", "raised KeyError", evening_time())
    evening.seat("=HYPERLINK(1)", key_of("=HYPERLINK(1)"), None)
    evening.record("=HYPERLINK(1)", key_of("=HYPERLINK(1)"), None, "tally", "passed", "", evening_time())


def evening_time():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.parametrize("token", ["", "wrong", TOKEN.upper()])
def test_a_wrong_instructor_token_is_refused_and_changes_nothing(client, token):
    seat_someone()
    for action in ("export", "reset"):
        refused = instructor_post(client, token, action)
        assert (
            refused.status_code == 403 and b"Wrong token" in refused.content and TOKEN.encode() not in refused.content
        )
    assert Result.objects.count() == 2


def test_without_a_token_set_the_instructor_view_refuses_everyone(client):
    with override_settings(CLASSROOM_TOKEN=""):
        assert instructor_post(client, "", "export").status_code == 403


def test_the_instructor_exports_the_grid_as_csv_with_formulas_kept_as_text(client):
    seat_someone()
    export = instructor_post(client, TOKEN, "export")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    lines = export.content.decode().splitlines()
    assert lines[0].startswith("attendee,lesson,exercise,outcome,category,runs")
    assert lines[1].startswith("'=HYPERLINK(1),03,tally,passed,,1,,")
    assert lines[2].startswith("Ada,03,tally,hint,raised KeyError,1,20")


def test_a_post_without_the_csrf_token_is_refused(client):
    refused = client.post("/classroom/instructor/", {"token": TOKEN, "action": "reset"})
    assert refused.status_code == 403


def test_the_instructor_resets_the_evening(client):
    seat_someone()
    reset = instructor_post(client, TOKEN, "reset")
    assert reset.status_code == 302
    assert Result.objects.count() == 0 and evening.grid(set())["rows"] == []
    assert (
        b"was reset"
        in client.get(
            reset["Location"] if reset["Location"].startswith("/") else "/classroom/instructor/?done=reset"
        ).content
    )


def test_the_projector_page_says_what_a_notebook_sends():
    page = Client(HTTP_HOST="127.0.0.1").get("/classroom/")
    assert page.status_code == 200
    assert b'{"exercise": "tally", "outcome": "hint", "category": "raised KeyError"}' in page.content
    assert b"Never your code" in page.content
    assert b'<a href="../?room=lobby">' in page.content  # the evening's room: the echo chamber's lobby
