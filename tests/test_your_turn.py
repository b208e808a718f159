"""A "Your turn" answer that states an output is checked by running the change it describes (issue 20).

Each test makes the learner's edit (a cell's new source, as the answer describes it), runs the
lesson from the top down to that cell in a fresh kernel with cell ids, as JupyterLab does
(tools/lab_kernel.py), and asserts what the answer says the learner sees. Changes to different
cells that do not affect each other share one run, to keep the suite short.
"""

import nbformat

from tools.lab_kernel import run_notebook
from workshop import REPO

NOTEBOOKS = REPO / "notebooks"


def source_of(path, cell_id: str) -> str:
    """A cell's stored source: the learner edits it, or adds a line after it."""
    return next(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.get("id") == cell_id)


def printed_by(notebook, cell_id: str) -> str:
    """What a cell showed: its streams, values and error names, as one text."""
    cell = next(cell for cell in notebook.cells if cell.get("id") == cell_id)
    text = []
    for output in cell.outputs:
        if output.output_type == "stream":
            text.append(output.text)
        elif output.output_type == "error":
            text.append(f"{output.ename}: {output.evalue}\n")
        elif "data" in output:
            text.append(output.data.get("text/plain", "") + "\n")
    return "".join(text)


def try_it(lesson: str, cell_id: str, new_source: str, **more_edits: str) -> str:
    """Run `lesson` down to `cell_id` with that cell (and any others) changed; return what it printed."""
    path = NOTEBOOKS / lesson
    notebook = run_notebook(path, replace={cell_id: new_source, **more_edits}, upto=cell_id)
    return printed_by(notebook, cell_id)


# Lessons 01 to 05 and 09


def test_lesson_00_every_path_gets_the_same_greeting():
    """00, 'fetch another path': `200 Hello from ASGI!`, whatever the path."""
    cell = "00-welcome-10"
    extra = '\nresponse = fetch(server.url + "anything/at/all")\nprint("another path:", response.status, response.text)'
    printed = try_it("00-welcome.ipynb", cell, source_of(NOTEBOOKS / "00-welcome.ipynb", cell) + extra)
    assert "another path: 200 Hello from ASGI!\n" in printed


def test_lesson_01_shouting_twice_prints_the_same_line():
    """01, `shouting(shouting(hello_world))`: `yes HELLO, WORLD!` again."""
    cell = "01-wsgi-09"
    original = source_of(NOTEBOOKS / "01-wsgi.ipynb", cell)
    twice = original.replace("serve_wsgi(shouting(hello_world))", "serve_wsgi(shouting(shouting(hello_world)))")
    assert twice != original
    assert try_it("01-wsgi.ipynb", cell, twice).startswith("yes HELLO, WORLD!\n")


def test_lesson_02_a_response_started_and_never_finished():
    """02, the body's `send` deleted: one message by hand; served, a 200 and headers, then the close.

    The answer once said the client gets "no response at all"; it gets the status line and the
    headers (uvicorn writes them on `http.response.start`), and `fetch` raises IncompleteRead.
    """
    lesson = NOTEBOOKS / "02-asgi.ipynb"
    application = source_of(lesson, "02-asgi-02")
    body = '    await send({\n        "type": "http.response.body",\n        "body": b"Hello, world!",\n    })\n'
    assert body in application + "\n"
    without_body = (application + "\n").replace(body, "")
    served = """
import socket

from workshop import fetch, serve_asgi

server = serve_asgi(application)
with socket.create_connection(("127.0.0.1", server.port)) as raw:
    raw.sendall(b"GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
    received = b""
    while chunk := raw.recv(4096):
        received += chunk
print("raw:", received.split(b"\\r\\n")[0].decode(), "| ends after the headers:", received.endswith(b"\\r\\n\\r\\n"))
try:
    fetch(server.url)
except Exception as error:
    print("fetch raised", type(error).__name__)
print("logged:", any("ASGI callable returned without completing response." in line for line in server.logs))
server.stop()
"""
    cell = "02-asgi-04"
    printed = try_it("02-asgi.ipynb", cell, source_of(lesson, cell) + "\n" + served, **{"02-asgi-02": without_body})
    by_hand, *served_lines = printed.splitlines()
    assert by_hand.startswith("{'type': 'http.response.start', 'status': 200")
    assert served_lines == [
        "raw: HTTP/1.1 200 OK | ends after the headers: True",
        "fetch raised IncompleteRead",
        "logged: True",
    ]


def test_lesson_03_configure_django_with_other_settings_raises():
    """03, `configure_django(DEBUG=False)` after the first call: SettingsAlreadyInForce; DEBUG stays on."""
    cell = "03-channels-02"
    learner = """
try:
    configure_django(DEBUG=False)
except Exception as error:
    print("raised", type(error).__name__, "| says restart:", "restart the kernel" in str(error))
print("DEBUG:", settings.DEBUG)
"""
    printed = try_it("03-channels.ipynb", cell, source_of(NOTEBOOKS / "03-channels.ipynb", cell) + "\n" + learner)
    assert printed.splitlines()[-2:] == ["raised SettingsAlreadyInForce | says restart: True", "DEBUG: True"]


def test_lesson_03_a_json_consumer_decodes_and_drops_plain_text():
    """03, a `ShoutJson` routed at json/: JSON in, JSON out; plain text raises in it and drops the connection."""
    cell = "03-channels-14"
    learner = """
from channels.generic.websocket import JsonWebsocketConsumer


class ShoutJson(JsonWebsocketConsumer):
    def receive_json(self, content):
        self.send_json({"shouted": content["text"].upper()})


server = serve_asgi(URLRouter([re_path(r"^json/$", ShoutJson.as_asgi())]))
async with connect_ws(server.ws_url("json/")) as websocket:
    await websocket.send(json.dumps({"text": "hello"}))
    print(await websocket.recv())
try:
    async with connect_ws(server.ws_url("json/")) as websocket:
        await websocket.send("hello")
        print(await websocket.recv())
except Exception as error:
    print(type(error).__name__, "| logged:", [type(e).__name__ for e in server.exceptions])
"""
    printed = try_it("03-channels.ipynb", cell, source_of(NOTEBOOKS / "03-channels.ipynb", cell) + "\n" + learner)
    assert printed.splitlines()[-2:] == ['{"shouted": "HELLO"}', "ConnectionClosedError | logged: ['JSONDecodeError']"]


def test_lesson_05_a_channel_is_first_in_first_out():
    """05, two messages then one receive: `first`."""
    learner = """mailbox = await layer.new_channel()
await layer.send(mailbox, {"type": "greeting", "text": "first"})
await layer.send(mailbox, {"type": "greeting", "text": "second"})
print(await layer.receive(mailbox))
await layer.flush()"""
    assert try_it("05-groups.ipynb", "05-groups-03", learner) == "{'type': 'greeting', 'text': 'first'}\n"


def test_lesson_05_a_member_added_twice_gets_one_copy():
    """05, `group_add("lobby", ada)` twice: one copy."""
    learner = """ada, bob = await layer.new_channel(), await layer.new_channel()
for member in (ada, ada, bob):
    await layer.group_add("lobby", member)

await layer.group_send("lobby", {"type": "announcement", "text": "the room is open"})
print("ada got:", await layer.receive(ada))
try:
    await asyncio.wait_for(layer.receive(ada), 0.5)
    print("a second copy")
except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
    print("no second copy")
await layer.flush()"""
    printed = try_it("05-groups.ipynb", "05-groups-05", "import asyncio\n" + learner)
    assert printed.splitlines()[-1] == "no second copy"
    assert printed.count("ada got:") == 1


def test_lesson_05_lifespan_auto_starts_and_logs_one_line():
    """05 (Going further), `--lifespan auto`: no error, a running server, uvicorn's one INFO line."""
    cell = "05-groups-a5"
    original = source_of(NOTEBOOKS / "05-groups.ipynb", cell)
    auto = original.replace('"--lifespan", "on"', '"--lifespan", "auto"')
    assert auto != original
    shown = """
from workshop import running_servers

started = [server for server in running_servers() if server.name == "echo_project, lifespan on"]
print([line for line in started[0].logs if "lifespan" in line])"""
    # The answer's cell prints nothing (serve_process returned); the line added after it shows the log.
    assert try_it("05-groups.ipynb", cell, auto + shown) == (
        "[\"INFO:     ASGI 'lifespan' protocol appears unsupported.\"]\n"
    )


def test_lesson_09_message_size_and_proxy_header_answers():
    """09: any `ws_max_size` closes with 1009; an allowed host nobody asks for gets 400 from both hosts;
    `X-Forwarded-For` alone changes the client, not the scheme."""
    lesson = NOTEBOOKS / "09-security-and-production.ipynb"
    size_cell, hosts_cell, proxy_cell = "08-security-and-prod-15", "08-security-and-prod-20", "08-security-and-prod-c5"
    bigger = source_of(lesson, size_cell).replace("ws_max_size=1024", "ws_max_size=4096")
    bigger = bigger.replace('"x" * 2048', '"x" * 8192')
    other_host = source_of(lesson, hosts_cell).replace('"ALLOWED_HOSTS": "127.0.0.1"', '"ALLOWED_HOSTS": "example.com"')
    forwarded_for_only = source_of(lesson, proxy_cell).replace('"X-Forwarded-Proto": "https", ', "")
    assert "example.com" in other_host
    notebook = run_notebook(
        lesson, replace={size_cell: bigger, hosts_cell: other_host, proxy_cell: forwarded_for_only}, upto=proxy_cell
    )
    assert printed_by(notebook, size_cell).endswith("closed with code 1009\n")
    assert printed_by(notebook, hosts_cell) == "Host 127.0.0.1: 400\nHost evil.example: 400\n"
    first_line = printed_by(notebook, proxy_cell).splitlines()[0]
    assert first_line.split(":", 1)[1].strip() == "scheme http, client 203.0.113.7"


# Lessons 06 to 10


def test_lesson_06_your_turn_answers():
    path = NOTEBOOKS / "06-scaling-with-redis.ipynb"
    room_talk = source_of(path, "06-scaling-with-redi-07")
    flow = source_of(path, "06-scaling-with-redi-10b")
    layers = source_of(path, "06-scaling-with-redi-14")
    tiny = source_of(path, "06-scaling-with-redi-16")
    ran = run_notebook(
        path,
        replace={
            # both clients on the same worker
            "06-scaling-with-redi-07": room_talk.replace(
                "await room_talk(worker1, worker2)", "await room_talk(worker1, worker1)"
            ),
            # one process without Redis
            "06-scaling-with-redi-09": """for worker in (worker1, worker2):
    worker.stop()
alone1, alone2 = start_workers({"REDIS_URL": ""})
print("same worker:", await room_talk(alone1, alone1))
for worker in (alone1, alone2):
    worker.stop()""",
            # all three members on worker A
            "06-scaling-with-redi-10b": flow.replace('(worker_b, "cy")', '(worker_a, "cy")'),
            # the group's name without its prefix
            "06-scaling-with-redi-12": """from channels_redis.core import RedisChannelLayer

worker1, worker2 = start_workers({"REDIS_URL": redis_server.redis_url})
notebook_layer = RedisChannelLayer(hosts=[redis_server.redis_url])

async with connect_ws(worker2.ws_url("chamber/lesson06/")) as bob:
    for _ in range(3):
        await bob.recv()
    await notebook_layer.group_send("lesson06", {"type": "chamber.message", "who": "the notebook", "message": {}})
    try:
        await asyncio.wait_for(bob.recv(), 1)
    except asyncio.TimeoutError:
        print("TimeoutError")""",
            # announce with nobody listening
            "06-scaling-with-redi-b6": 'print("returned:", await asyncio.to_thread(announce, "anyone?"))',
            # two workers on different layers
            "06-scaling-with-redi-14": layers.replace(
                'pubsub1, pubsub2 = start_workers({"REDIS_URL": redis_server.redis_url, "REDIS_LAYER": "pubsub"})',
                'pubsub1 = serve_echo_project({"REDIS_URL": redis_server.redis_url, "REDIS_LAYER": "pubsub"},'
                ' name="one")\n'
                'pubsub2 = serve_echo_project({"REDIS_URL": redis_server.redis_url}, name="two")',
            ),
            # a channel that holds five
            "06-scaling-with-redi-16": tiny.replace("capacity=3", "capacity=5"),
        },
        upto="06-scaling-with-redi-14",  # the last cell changed: two layers, in Going further
    )
    assert printed_by(ran, "06-scaling-with-redi-07") == "Bob saw: ['h', 'i']\n", "one worker: Bob still sees both keys"
    assert printed_by(ran, "06-scaling-with-redi-09") == "same worker: ['h', 'i']\n", "one process: in-memory works"
    diagram = printed_by(ran, "06-scaling-with-redi-10b")
    assert "(worker" not in diagram and "consumer 3 -> server" in diagram, "one server column, three consumers"
    assert printed_by(ran, "06-scaling-with-redi-12") == "TimeoutError\n", "a group nobody joined: nothing, no error"
    assert printed_by(ran, "06-scaling-with-redi-b6") == "returned: None\n", "group_send to nobody returns quietly"
    assert printed_by(ran, "06-scaling-with-redi-14") == "Bob saw: ['(nothing within 1 s)', '(nothing within 1 s)']\n"
    assert printed_by(ran, "06-scaling-with-redi-16") == "", "capacity 5: no send raises"


def test_lesson_07_your_turn_answers():
    path = NOTEBOOKS / "07-database.ipynb"
    # QUERY_SECONDS is read by every consumer after it: the longer query runs alone, to the first comparison.
    shorter = run_notebook(
        path,
        replace={
            "07-database-04": source_of(path, "07-database-04").replace("QUERY_SECONDS = 0.5", "QUERY_SECONDS = 1")
        },
        upto="07-database-06",
    )
    assert printed_by(shorter, "07-database-06") == (
        "sync/   5 clients on 1 thread(s): the last answer after about 5 queries' time; the echo waited\n"
    )
    # The threads' answers (store_slowly and the pool, used by their own routes only) and the sending
    # answers (the receivers, the views, the command and the worker, from 07-database-22 on) share one run.
    ran = run_notebook(
        path,
        replace={
            # thread_sensitive=False without an executor
            "07-database-10": source_of(path, "07-database-10").replace(
                "@database_sync_to_async\n",
                "@lambda function: database_sync_to_async(function, thread_sensitive=False)\n",
            ),
            # a pool of two threads
            "07-database-14": source_of(path, "07-database-14").replace("max_workers=5", "max_workers=2"),
            # post_save without `created`, the same message saved twice
            "07-database-22": source_of(path, "07-database-22").replace(
                'if created and instance.who == "a view":', 'if instance.who == "a view":'
            ),
            "07-database-25": source_of(path, "07-database-25").split("ada = await join")[0]
            + """ada = await join(site, "garden07")
twice = Message(room="garden07", who="a view", message="saved twice")
await asyncio.to_thread(twice.save)
await asyncio.to_thread(twice.save)
for _ in range(2):
    print("ada sees:", await asyncio.wait_for(ada.recv(), 3))
await asyncio.to_thread(twice.delete)""",
            # group_send directly, not on commit
            "07-database-31": source_of(path, "07-database-31")
            .replace(
                'transaction.on_commit(lambda: group_send(f"chamber.{instance.room}", event))',
                'group_send(f"chamber.{instance.room}", event)',
            )
            .replace(
                'print("ada sees:", await asyncio.wait_for(ada.recv(), 3))  # the rolled-back one never comes',
                'print("ada sees:", await asyncio.wait_for(ada.recv(), 3))\n'
                'print("ada sees:", await asyncio.wait_for(ada.recv(), 3))',
            ),
            # a room name that is not one
            "07-database-36": """refused = [sys.executable, "manage.py", "announce", "no room!", "x"]
done = await asyncio.to_thread(subprocess.run, refused, cwd=ECHO_PROJECT, env={**os.environ, **shared},
                               capture_output=True, text=True)
print(done.stderr.strip().splitlines()[-1])""",
            # the worker stopped while the job is sent, then started again
            "07-database-41": """carol = await join(chamber, "garden07")
jobs = RedisChannelLayer(hosts=[redis.redis_url])
worker.stop()
await jobs.send("room-summary", {"type": "room.summary", "room": "garden07"})
worker = serve_echo_worker("room-summary", env=shared, name="lesson 07: worker")
print("carol sees:", json.loads(await asyncio.wait_for(carol.recv(), 10))["who"])
await carol.close()""",
        },
        upto="07-database-43a",
    )
    threads = int(printed_by(ran, "07-database-10").split("5 clients on ")[1].split(" ")[0])
    assert threads > 1, "thread_sensitive=False without an executor: the loop's default pool, several threads"
    assert printed_by(ran, "07-database-14").startswith(
        "pool/   5 clients on 2 thread(s): the last answer after about 3 queries' time; the echo did not wait\n"
    )
    seen = printed_by(ran, "07-database-25")
    assert seen.count('ada sees: {"who": "a view", "message": "saved twice"}') == 2, "post_save fires on every save"
    assert printed_by(ran, "07-database-31").splitlines()[2:] == [
        'ada sees: {"who": "a view", "message": "free cake for everyone"}',
        'ada sees: {"who": "a view", "message": "cake at four"}',
    ], "without on_commit the rolled-back message is sent too"
    assert "CommandError: 'no room!' is not a room name" in printed_by(ran, "07-database-36")
    assert printed_by(ran, "07-database-41") == "carol sees: summary\n", "the job waited in Redis for the worker"


def test_lesson_08_your_turn_answers():
    path = NOTEBOOKS / "08-testing.ipynb"
    ran = run_notebook(
        path,
        replace={
            # receive_nothing() before the echo is read
            "08-testing-03": """communicator = WebsocketCommunicator(EchoChamberConsumer.as_asgi(), "/echo/")
connected, _ = await communicator.connect()
print("connected:", connected)
await communicator.send_json_to({"ch": "t"})
print("nothing else arrived:", await communicator.receive_nothing())
print("echo:", await communicator.receive_json_from())
await communicator.send_to(text_data="not json")
print("bad input:", await communicator.receive_json_from())
await communicator.disconnect()""",
            # a consumer that does not exist
            "08-testing-15": source_of(path, "08-testing-15").replace(
                "\n\nrun_pytest()", '\n\nrun_pytest(ECHO_CONSUMER="echo.consumers.NoSuchConsumer")'
            ),
            # TidyingEcho strips strings only
            "08-testing-17": source_of(path, "08-testing-17").replace(
                "str(value).strip()", "value.strip() if isinstance(value, str) else value"
            ),
            # the live test connects to a path nobody serves
            "08-testing-21": source_of(path, "08-testing-21").replace('ws_url("echo/")', 'ws_url("nowhere/")'),
        },
        upto="08-testing-23",
    )
    assert printed_by(ran, "08-testing-03").splitlines()[1:3] == ["nothing else arrived: False", "echo: {'ch': 't'}"]
    assert printed_by(ran, "08-testing-15") == "1 error\n", "a collection error: no test runs"
    assert printed_by(ran, "08-testing-18").endswith("-- with TidyingEcho:\n3 passed\n"), "no test sends a space"
    assert printed_by(ran, "08-testing-22") == (
        "FAILED test_live.py::test_the_page_and_its_websocket_work_over_real_sockets\n1 failed, 3 passed\n"
    )


def test_lesson_08_your_turn_a_wrong_test():
    path = NOTEBOOKS / "08-testing.ipynb"
    ran = run_notebook(
        path,
        replace={
            "08-testing-11": source_of(path, "08-testing-11").replace(
                'receive_json_from() == {"ch": "é", "n": [1, 2.5, None]}', 'receive_json_from() == {"ch": "e"}'
            )
        },
        upto="08-testing-15",
    )
    assert printed_by(ran, "08-testing-15") == "FAILED test_echo.py::test_echoes_what_it_gets\n1 failed, 2 passed\n"


def test_lesson_10_your_turn_answers():
    path = NOTEBOOKS / "10-performance.ipynb"
    ran = run_notebook(
        path,
        replace={
            # wsgiref without a thread per request
            "10-performance-04": """try:
    fifty_at_once(serve_wsgi(slow_wsgi).url)
except Exception as error:
    print(f"{type(error).__name__}: {error}")
stop_all()""",
            "10-performance-09": source_of(path, "10-performance-09").replace("range(5)", "range(1)"),
            "10-performance-10": "",
            "10-performance-12": "",
            # profile echo_project's consumer
            "10-performance-14": source_of(path, "10-performance-14").replace(
                "await exchange(StockEcho)", "await exchange(EchoChamberConsumer)"
            ),
        },
        upto="10-performance-15",
    )
    assert printed_by(ran, "10-performance-04") == "TimeoutError: timed out\n", "one at a time: fetch gives up at 10 s"
    submits = int(printed_by(ran, "10-performance-15").split("submit: called ")[1].split(" ")[0])
    assert 200 <= submits <= 205, "about one clean-up per event, as StockEcho"
