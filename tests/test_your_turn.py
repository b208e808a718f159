"""Each "Your turn" answer that states an output is checked by running the change it describes.

A lesson's "Your turn" asks the learner to change a cell and predict; its answer says what happens.
Here each change is made (``run_notebook(path, replace={cell_id: new_source}, upto=cell_id)``,
as JupyterLab runs the notebook) and the answer's output is asserted. Changes to different cells
that do not affect each other share one run, to keep the suite short.
"""

import nbformat

from tests.lab_kernel import run_notebook
from workshop import REPO

LESSONS = REPO / "notebooks"


def printed(notebook: nbformat.NotebookNode, cell_id: str) -> str:
    """What a cell printed or showed as text."""
    cell = next(cell for cell in notebook.cells if cell.get("id") == cell_id)
    text = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            text.append(output["text"])
        elif "data" in output:
            text.append(output["data"].get("text/plain", ""))
    return "".join(text)


def source(path, cell_id: str) -> str:
    return next(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.get("id") == cell_id)


# Lessons 06 to 10


def test_lesson_06_your_turn_answers():
    path = LESSONS / "06-scaling-with-redis.ipynb"
    room_talk = source(path, "06-scaling-with-redi-07")
    flow = source(path, "06-scaling-with-redi-10b")
    layers = source(path, "06-scaling-with-redi-14")
    tiny = source(path, "06-scaling-with-redi-16")
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
        upto="06-scaling-with-redi-16",
    )
    assert printed(ran, "06-scaling-with-redi-07") == "Bob saw: ['h', 'i']\n", "one worker: Bob still sees both keys"
    assert printed(ran, "06-scaling-with-redi-09") == "same worker: ['h', 'i']\n", "one process: in-memory works"
    diagram = printed(ran, "06-scaling-with-redi-10b")
    assert "(worker" not in diagram and "consumer 3 -> server" in diagram, "one server column, three consumers"
    assert printed(ran, "06-scaling-with-redi-12") == "TimeoutError\n", "a group nobody joined: nothing, no error"
    assert printed(ran, "06-scaling-with-redi-b6") == "returned: None\n", "group_send to nobody returns quietly"
    assert printed(ran, "06-scaling-with-redi-14") == "Bob saw: ['(nothing within 1 s)', '(nothing within 1 s)']\n"
    assert printed(ran, "06-scaling-with-redi-16") == "", "capacity 5: no send raises"


def test_lesson_07_your_turn_answers_on_threads():
    path = LESSONS / "07-database.ipynb"
    shorter = run_notebook(
        path,
        replace={"07-database-04": source(path, "07-database-04").replace("QUERY_SECONDS = 0.5", "QUERY_SECONDS = 1")},
        upto="07-database-06",
    )
    assert printed(shorter, "07-database-06") == (
        "sync/   5 clients on 1 thread(s): the last answer after about 5 queries' time; the echo waited\n"
    )
    ran = run_notebook(
        path,
        replace={
            "07-database-10": source(path, "07-database-10").replace(
                "@database_sync_to_async\n",
                "@lambda function: database_sync_to_async(function, thread_sensitive=False)\n",
            ),
            "07-database-14": source(path, "07-database-14").replace("max_workers=5", "max_workers=2"),
        },
        upto="07-database-14",
    )
    threads = int(printed(ran, "07-database-10").split("5 clients on ")[1].split(" ")[0])
    assert threads > 1, "thread_sensitive=False without an executor: the loop's default pool, several threads"
    assert printed(ran, "07-database-14").startswith(
        "pool/   5 clients on 2 thread(s): the last answer after about 3 queries' time; the echo did not wait\n"
    )


def test_lesson_07_your_turn_answers_on_sending():
    path = LESSONS / "07-database.ipynb"
    ran = run_notebook(
        path,
        replace={
            # post_save without `created`, the same message saved twice
            "07-database-22": source(path, "07-database-22").replace(
                'if created and instance.who == "a view":', 'if instance.who == "a view":'
            ),
            "07-database-25": source(path, "07-database-25").split("ada = await join")[0]
            + """ada = await join(site, "garden07")
twice = Message(room="garden07", who="a view", message="saved twice")
await asyncio.to_thread(twice.save)
await asyncio.to_thread(twice.save)
for _ in range(2):
    print("ada sees:", await asyncio.wait_for(ada.recv(), 3))
await asyncio.to_thread(twice.delete)""",
            # group_send directly, not on commit
            "07-database-31": source(path, "07-database-31")
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
    seen = printed(ran, "07-database-25")
    assert seen.count('ada sees: {"who": "a view", "message": "saved twice"}') == 2, "post_save fires on every save"
    assert printed(ran, "07-database-31").splitlines()[2:] == [
        'ada sees: {"who": "a view", "message": "free cake for everyone"}',
        'ada sees: {"who": "a view", "message": "cake at four"}',
    ], "without on_commit the rolled-back message is sent too"
    assert "CommandError: 'no room!' is not a room name" in printed(ran, "07-database-36")
    assert printed(ran, "07-database-41") == "carol sees: summary\n", "the job waited in Redis for the worker"


def test_lesson_08_your_turn_answers():
    path = LESSONS / "08-testing.ipynb"
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
            "08-testing-15": source(path, "08-testing-15").replace(
                "\n\nrun_pytest()", '\n\nrun_pytest(ECHO_CONSUMER="echo.consumers.NoSuchConsumer")'
            ),
            # TidyingEcho strips strings only
            "08-testing-17": source(path, "08-testing-17").replace(
                "str(value).strip()", "value.strip() if isinstance(value, str) else value"
            ),
            # the live test connects to a path nobody serves
            "08-testing-21": source(path, "08-testing-21").replace('ws_url("echo/")', 'ws_url("nowhere/")'),
        },
        upto="08-testing-23",
    )
    assert printed(ran, "08-testing-03").splitlines()[1:3] == ["nothing else arrived: False", "echo: {'ch': 't'}"]
    assert printed(ran, "08-testing-15") == "1 error\n", "a collection error: no test runs"
    assert printed(ran, "08-testing-18").endswith("-- with TidyingEcho:\n3 passed\n"), "no test sends a space"
    assert printed(ran, "08-testing-22") == (
        "FAILED test_live.py::test_the_page_and_its_websocket_work_over_real_sockets\n1 failed, 3 passed\n"
    )


def test_lesson_08_your_turn_a_wrong_test():
    path = LESSONS / "08-testing.ipynb"
    ran = run_notebook(
        path,
        replace={
            "08-testing-11": source(path, "08-testing-11").replace(
                'receive_json_from() == {"ch": "é", "n": [1, 2.5, None]}', 'receive_json_from() == {"ch": "e"}'
            )
        },
        upto="08-testing-15",
    )
    assert printed(ran, "08-testing-15") == "FAILED test_echo.py::test_echoes_what_it_gets\n1 failed, 2 passed\n"


def test_lesson_10_your_turn_answers():
    path = LESSONS / "10-performance.ipynb"
    ran = run_notebook(
        path,
        replace={
            # wsgiref without a thread per request
            "10-performance-04": """try:
    fifty_at_once(serve_wsgi(slow_wsgi).url)
except Exception as error:
    print(f"{type(error).__name__}: {error}")
stop_all()""",
            "10-performance-09": source(path, "10-performance-09").replace("range(5)", "range(1)"),
            "10-performance-10": "",
            "10-performance-12": "",
            # profile echo_project's consumer
            "10-performance-14": source(path, "10-performance-14").replace(
                "await exchange(StockEcho)", "await exchange(EchoChamberConsumer)"
            ),
        },
        upto="10-performance-15",
    )
    assert printed(ran, "10-performance-04") == "TimeoutError: timed out\n", "one at a time: fetch gives up at 10 s"
    submits = int(printed(ran, "10-performance-15").split("submit: called ")[1].split(" ")[0])
    assert 200 <= submits <= 205, "about one clean-up per event, as StockEcho"
