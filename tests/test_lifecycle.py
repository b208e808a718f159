"""Servers never outlive their notebook: however the kernel (or a script) ends, its servers end too.

Real kernels (jupyter_client), a real redis-server, real signals. Each test checks,
within 5 s of the end, that nothing the kernel started still runs or listens.
"""

import os
import queue
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from jupyter_client import KernelManager

from tests.helpers import linux_only, live_group_members, port_is_free
from workshop.redis_server import find_redis_server

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GONE_WITHIN = 5.0  # seconds, as the issue asks
IDLE_AFTER_REPLY = 5.0  # seconds nbclient-style waits for the idle status once the reply came

START_TWO_SERVERS = textwrap.dedent(
    """
    import os, sys
    from workshop import serve_process, serve_redis
    web = serve_process([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{port}"])
    redis = serve_redis()
    print(os.getpid(), web.pid, web.port, redis.pid, redis.port, flush=True)
    """
)

needs_redis = pytest.mark.skipif(find_redis_server() is None, reason="needs redis-server")
pytestmark = [linux_only, needs_redis]


def run_cell(client, code: str, cell_id: str | None = None, timeout: float = 60) -> str:
    """Execute code as a front end does (JupyterLab sends the cell's id); return what it printed.

    Done when the kernel said idle, or (as nbclient does) a few seconds after its execute_reply
    when the idle status never comes: ipykernel 7 now and then loses one under load.
    """
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    message = client.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else {})
    client.shell_channel.send(message)
    msg_id = message["header"]["msg_id"]
    out, deadline, replied = [], time.monotonic() + timeout, None
    while True:
        if replied is None and client.shell_channel.msg_ready():
            reply = client.get_shell_msg(timeout=1)
            if reply["parent_header"].get("msg_id") == msg_id:
                replied = time.monotonic()
                deadline = min(deadline, replied + IDLE_AFTER_REPLY)
        try:
            reply = client.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            if time.monotonic() < deadline:
                continue
            if replied is not None:
                return "".join(out)  # the reply came, the idle status did not
            raise AssertionError(f"no execute_reply in {timeout:g} s: the kernel hung; it printed {out!r}") from None
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        kind, body = reply["msg_type"], reply["content"]
        if kind == "stream":
            out.append(body["text"])
        elif kind == "error":
            raise AssertionError("\n".join(body["traceback"]))
        elif kind == "status" and body["execution_state"] == "idle":
            return "".join(out)


@pytest.fixture
def kernel():
    manager = KernelManager(kernel_name="python3")
    manager.shutdown_wait_time = 1.0  # what a kernel that does not answer gets before it is killed
    manager.start_kernel(cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield manager, client
    client.stop_channels()
    if manager.has_kernel:
        manager.shutdown_kernel(now=True)


def started_servers(client) -> tuple[int, list[tuple[int, int]]]:
    kernel_pid, *numbers = map(int, run_cell(client, START_TWO_SERVERS).split())
    servers = [(numbers[0], numbers[1]), (numbers[2], numbers[3])]  # (pid, port) of each
    for pid, port in servers:
        assert live_group_members(pid) and not port_is_free(port)
    return kernel_pid, servers


def assert_all_gone(servers):
    """Within GONE_WITHIN seconds no process of the servers' groups runs, and no port answers."""
    deadline = time.monotonic() + GONE_WITHIN
    while True:
        left = [(pid, port) for pid, port in servers if live_group_members(pid) or not port_is_free(port)]
        if not left:
            return
        assert time.monotonic() < deadline, f"still running or listening after {GONE_WITHIN} s: {left}"
        time.sleep(0.05)


def test_a_killed_kernel_leaves_no_server(kernel):
    manager, client = kernel
    kernel_pid, servers = started_servers(client)
    os.kill(kernel_pid, signal.SIGKILL)  # an out-of-memory kill, a crash
    assert_all_gone(servers)


def test_shutdown_now_leaves_no_server(kernel):
    manager, client = kernel
    _, servers = started_servers(client)
    manager.shutdown_kernel(now=True)
    assert_all_gone(servers)


def test_restart_now_leaves_no_server(kernel):
    manager, client = kernel
    _, servers = started_servers(client)
    manager.restart_kernel(now=True)
    assert_all_gone(servers)


def test_a_kernel_stuck_in_c_code_then_restarted_leaves_no_server(kernel):
    """Interrupt cannot stop sum(range(10**13)); the restart ends up killing the kernel."""
    manager, client = kernel
    _, servers = started_servers(client)
    # sum() holds the GIL, so the kernel's IOPub thread cannot send a word once it runs:
    # say "stuck" first, and give that thread a moment (sleep releases the GIL).
    client.execute("import time; print('stuck', flush=True); time.sleep(0.3); sum(range(10**13))")
    while True:
        message = client.get_iopub_msg(timeout=30)
        if message["msg_type"] == "stream" and "stuck" in message["content"]["text"]:
            break
    time.sleep(0.5)  # now in sum()
    manager.interrupt_kernel()
    manager.restart_kernel(now=False)  # asks, waits shutdown_wait_time, then kills
    assert_all_gone(servers)


def test_an_edited_cell_replaces_the_server_it_started(kernel):
    manager, client = kernel
    start = "web = serve_process([sys.executable, '-m', 'http.server', '--bind', '127.0.0.1', '{port}'])"
    show = "\nprint(web.pid, len(running_servers()))"
    run_cell(client, "import sys\nfrom workshop import running_servers, serve_process")
    first_pid, count = map(int, run_cell(client, start + show, cell_id="cell-1").split())
    assert count == 1
    edited = run_cell(client, "# an edit\n" + start + "  # serves this folder" + show, cell_id="cell-1")
    said, numbers = edited.splitlines()[0], edited.splitlines()[-1]
    second_pid, count = map(int, numbers.split())
    assert count == 1 and live_group_members(first_pid) == [] and live_group_members(second_pid)
    assert said.startswith("(this cell changed: stopped the server it started before")
    rerun = run_cell(client, "# an edit\n" + start + "  # serves this folder" + show, cell_id="cell-1")
    assert len(rerun.splitlines()) == 1, "a plain re-run replaces silently (Run All twice keeps its outputs)"
    other = run_cell(client, start + show, cell_id="cell-2")  # another cell's server is another server
    assert other.split()[1] == "2"


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP])
def test_a_script_killed_or_hung_up_leaves_no_server(signum):
    script = START_TWO_SERVERS + "import threading\nthreading.Event().wait()\n"
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        _, *numbers = map(int, process.stdout.readline().split())
        servers = [(numbers[0], numbers[1]), (numbers[2], numbers[3])]
        process.send_signal(signum)
        assert process.wait(GONE_WITHIN) == -signum  # SIGHUP: servers stopped, then died as asked
        assert_all_gone(servers)
    finally:
        process.kill()
        process.wait()


def test_a_server_that_ignores_sigterm_is_killed_after_the_grace():
    stubborn = (
        "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "sys.argv[1:] = ['--bind', '127.0.0.1', sys.argv[1]]; import runpy; "
        "runpy.run_module('http.server', run_name='__main__')"
    )
    script = textwrap.dedent(
        f"""
        import sys, threading
        from workshop import serve_process
        web = serve_process([sys.executable, "-c", {stubborn!r}, "{{port}}"])
        print(web.pid, web.port, flush=True)
        threading.Event().wait()
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        pid, port = map(int, process.stdout.readline().split())
        process.kill()
        process.wait()
        assert_all_gone([(pid, port)])
    finally:
        process.kill()
        process.wait()


@linux_only
def test_a_server_that_dies_by_itself_leaves_no_watchdog_behind():
    """Its watchdog notices the server is gone and ends too, instead of waiting for the kit's process."""
    from workshop import serve_process

    server = serve_process([sys.executable, "-m", "http.server", "--bind", "{host}", "{port}"], name="short-lived")
    try:
        assert len(live_group_members(server.pid)) == 2  # the server and its watchdog
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(5)
        deadline = time.monotonic() + 3
        while live_group_members(server.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live_group_members(server.pid) == []
    finally:
        server.stop()


def processes_whose_command_line_has(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.parametrize("awaits", [False, True], ids=["plain cell", "cell that awaits"])
def test_interrupting_a_cell_while_its_server_starts_stops_that_start(kernel, awaits):
    """The kernel's interrupt in the middle of a start ends the start, not the cell's next await.

    In a cell that awaits anything, ipykernel answers SIGINT by cancelling the cell's task, which
    used to take effect only once the server was up, as a CancelledError traceback. Now the start
    itself is interrupted, says so in one line, and leaves nothing running.
    """
    manager, client = kernel
    marker = f"slow-to-start-{os.getpid()}-{int(awaits)}"
    slow = f"import time; time.sleep(30)  # {marker}"  # never ready within the test
    code = (
        ("import asyncio\nawait asyncio.sleep(0)\n" if awaits else "")
        + "import sys\nfrom workshop import asgi_echo, serve_asgi, serve_process\n"
        + "first = serve_asgi(asgi_echo, name='first')\nprint('starting', flush=True)\n"
        + f"web = serve_process([sys.executable, '-c', {slow!r}], name='slow', port=1, ready_timeout=60)\n"
    )
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
    message = client.session.msg("execute_request", content, metadata={"cellId": f"cell-{int(awaits)}"})
    client.shell_channel.send(message)  # as JupyterLab sends it: the cell's id says which servers are its own
    msg_id = message["header"]["msg_id"]
    errors = []
    while True:
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind, body = message["msg_type"], message["content"]
        if kind == "stream" and "starting" in body["text"]:
            while not processes_whose_command_line_has(marker):  # the child is spawned: the start waits
                time.sleep(0.05)
            manager.interrupt_kernel()
        elif kind == "error":
            errors.append((body["ename"], body["traceback"]))
        elif kind == "status" and body["execution_state"] == "idle":
            break
    assert [name for name, _ in errors] == ["StartInterrupted"], errors
    traceback = errors[0][1]
    assert traceback == [
        "KeyboardInterrupt: stopped starting 'slow': it is not running; still running from this cell: 'first'"
    ]  # one line, which says what runs and what does not
    assert run_cell(client, "from workshop import running_servers\nprint([s.name for s in running_servers()])") == (
        "['first']\n"
    )
    deadline = time.monotonic() + GONE_WITHIN
    while processes_whose_command_line_has(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_whose_command_line_has(marker) == []
