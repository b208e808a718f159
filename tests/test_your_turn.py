"""A "Your turn" answer that states an output is checked by running the change it describes (issue 20).

Each test makes the learner's edit (a cell's new source, as the answer describes it), runs the
lesson from the top down to that cell in a fresh kernel with cell ids, as JupyterLab does
(tools/lab_kernel.py), and asserts what the answer says the learner sees.
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


def test_lesson_09_message_size_and_proxy_header_answers():
    """09: any `ws_max_size` closes with 1009; `X-Forwarded-For` alone changes the client, not the scheme."""
    lesson = NOTEBOOKS / "09-security-and-production.ipynb"
    size_cell, proxy_cell = "08-security-and-prod-15", "08-security-and-prod-c5"
    bigger = source_of(lesson, size_cell).replace("ws_max_size=1024", "ws_max_size=4096")
    bigger = bigger.replace('"x" * 2048', '"x" * 8192')
    forwarded_for_only = source_of(lesson, proxy_cell).replace('"X-Forwarded-Proto": "https", ', "")
    notebook = run_notebook(lesson, replace={size_cell: bigger, proxy_cell: forwarded_for_only}, upto=proxy_cell)
    assert printed_by(notebook, size_cell).endswith("closed with code 1009\n")
    first_line = printed_by(notebook, proxy_cell).splitlines()[0]
    assert first_line.split(":", 1)[1].strip() == "scheme http, client 203.0.113.7"
