"""The kit's servers: they start ready, serve, keep their logs, and always stop."""

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from asgiref.sync import sync_to_async

from tests.helpers import linux_only, live_group_members, open_sockets, port_is_free
from workshop import ServerStartError, connect_ws, fetch, running_servers, serve_asgi, serve_process, serve_wsgi


async def echo_app(scope, receive, send):
    """HTTP: says hello. WebSocket: echoes text. Prints and logs as it goes."""
    if scope["type"] == "http":
        print("handling", scope["path"])
        logging.getLogger("echo_app").warning("a warning from the app")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"hello"})
    elif scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message["text"]})


def hello_wsgi(environ, start_response):
    print("wsgi handling", environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\n"]


async def ws_echo_once(url, text):
    async with connect_ws(url) as ws:
        await ws.send(text)
        return await ws.recv()


def test_asgi_server_serves_http_and_websocket():
    with serve_asgi(echo_app) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        assert fetch(server.url).text == "hello"
        assert asyncio.run(ws_echo_once(server.ws_url("/echo/"), "ping")) == "ping"


@linux_only
def test_stop_leaves_no_thread_socket_or_port():
    threads, sockets = threading.active_count(), open_sockets()
    server = serve_asgi(echo_app)
    fetch(server.url)
    assert threading.active_count() == threads + 1
    server.stop()
    assert threading.active_count() == threads
    assert open_sockets() == sockets
    assert port_is_free(server.port)
    assert not server.running and running_servers() == []
    server.stop()  # idempotent


def test_server_output_goes_to_its_logs_not_to_the_cell(capfd):
    with serve_asgi(echo_app) as server:
        fetch(server.url + "some/path")
    out, err = capfd.readouterr()
    assert "handling" not in out + err and "uvicorn" not in out + err
    assert "handling /some/path" in server.logs
    assert any("a warning from the app" in line for line in server.logs)
    assert any("GET /some/path" in line for line in server.logs)


def test_output_of_sync_code_run_for_the_server_is_captured_too(capfd):
    async def app_with_sync_view(scope, receive, send):
        if scope["type"] == "http":
            await sync_to_async(print)("from a worker thread")  # how Django runs sync views
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    with serve_asgi(app_with_sync_view) as server:
        assert fetch(server.url).status == 204
    assert "from a worker thread" not in "".join(capfd.readouterr())
    assert "from a worker thread" in server.logs


def test_the_learners_own_warnings_still_show():
    """In a fresh interpreter, as in a kernel: no logging handlers but the kit's."""
    script = textwrap.dedent(
        """
        import logging
        from workshop import fetch, serve_asgi
        from tests.test_serving import echo_app
        with serve_asgi(echo_app) as server:
            fetch(server.url)
            logging.getLogger("learner").warning("the learner's warning")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "the learner's warning\n" and result.stdout == ""


def test_same_name_replaces_the_running_server():
    first = serve_asgi(echo_app, name="echo")
    second = serve_asgi(echo_app, name="echo")
    assert not first.running and port_is_free(first.port)
    assert running_servers() == [second]
    second.stop()


def test_rerunning_the_same_line_replaces_the_server():
    servers = [serve_asgi(echo_app) for _ in range(2)]  # one line, run twice, like a re-run cell
    assert [s.running for s in servers] == [False, True]
    servers[1].stop()


def test_a_failing_startup_raises_a_readable_error_with_the_apps_exception():
    async def app_whose_database_is_down(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            raise ConnectionError("database is down")

    threads = threading.active_count()
    with pytest.raises(ServerStartError, match="ConnectionError: database is down") as caught:
        serve_asgi(app_whose_database_is_down, lifespan="auto")
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert "Application startup failed" in str(caught.value)
    assert threading.active_count() == threads and running_servers() == []


def test_an_app_that_never_answers_lifespan_startup_gets_a_hint():
    async def ignores_what_it_does_not_know(scope, receive, send):
        while (await receive())["type"] != "websocket.disconnect":
            pass

    with pytest.raises(ServerStartError, match="never answered 'lifespan.startup.complete'"):
        serve_asgi(ignores_what_it_does_not_know, lifespan="on", ready_timeout=1)
    with serve_asgi(ignores_what_it_does_not_know):  # lifespan is off by default
        pass


@pytest.mark.parametrize("lifespan", ["auto", "on"])
def test_lifespan_events_reach_an_app_that_asks_for_them(lifespan):
    events = []

    async def app(scope, receive, send):
        assert scope["type"] == "lifespan"
        while True:
            events.append((await receive())["type"])
            await send({"type": events[-1] + ".complete"})
            if events[-1] == "lifespan.shutdown":
                return

    serve_asgi(app, lifespan=lifespan).stop()
    assert events == ["lifespan.startup", "lifespan.shutdown"]


def test_an_app_without_lifespan_support_still_starts():
    async def http_only(scope, receive, send):  # the talk's example: asserts http
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with serve_asgi(http_only, lifespan="auto") as server:
        assert fetch(server.url).text == "ok"


def test_a_wsgi_app_given_to_serve_asgi_gets_a_hint():
    with pytest.raises(TypeError, match="looks like a WSGI app"):
        serve_asgi(hello_wsgi)
    with pytest.raises(TypeError, match="ASGI app"):
        serve_wsgi(echo_app)


def test_import_string_errors_are_readable():
    with pytest.raises(Exception, match="no_such_module"):
        serve_asgi("no_such_module:app")


@linux_only
def test_wsgi_server_serves_logs_and_stops(capfd):
    threads, sockets = threading.active_count(), open_sockets()
    with serve_wsgi(hello_wsgi) as server:
        response = fetch(server.url)
        assert (response.status, response.text) == (200, "Hello, World!\n")
    assert "wsgi handling" not in "".join(capfd.readouterr())
    assert "wsgi handling /" in server.logs and any('"GET / HTTP/1.1" 200' in line for line in server.logs)
    assert threading.active_count() == threads and open_sockets() == sockets
    assert port_is_free(server.port)


def test_wsgi_threads_option_serves_concurrently():
    release = threading.Event()

    def waits_for_a_second_request(environ, start_response):
        if environ["PATH_INFO"] == "/release":
            release.set()
        else:
            release.wait(5)
        start_response("200 OK", [])
        return [b"released" if release.is_set() else b"timed out"]

    with serve_wsgi(waits_for_a_second_request, threads=True) as server:
        waiting = threading.Thread(target=lambda: results.append(fetch(server.url).text))
        results = []
        waiting.start()
        fetch(server.url + "release")
        waiting.join()
    assert results == ["released"]


# --------------------------------------------------------------------------- processes

HTTP_SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
# A parent that starts the real server as its own child, as `make lab` or daphne's autoreloader do.
PARENT_OF_SERVER = [
    sys.executable,
    "-c",
    "import subprocess, sys; subprocess.run([sys.executable, '-m', 'http.server', '--bind', '127.0.0.1', sys.argv[1]])",
    "{port}",
]


@linux_only
def test_process_server_starts_ready_and_stops_its_whole_group():
    server = serve_process(PARENT_OF_SERVER)
    assert fetch(server.url).status == 200
    assert len(live_group_members(server.pid)) == 3  # the server, its child, and the kit's watchdog
    server.stop()
    assert live_group_members(server.pid) == []
    assert port_is_free(server.port)
    assert any("GET / HTTP/1.1" in line for line in server.logs)


@linux_only
def test_a_killed_child_leaves_no_port_bound():
    server = serve_process(PARENT_OF_SERVER)
    os.kill(server.pid, signal.SIGKILL)  # the leader dies; its child still holds the port
    server.process.wait()
    server.stop()
    assert live_group_members(server.pid) == []
    assert port_is_free(server.port)


def test_a_process_that_exits_at_start_raises_with_its_output():
    crashing = [sys.executable, "-c", "import sys; print('cannot open the config'); sys.exit(3)"]
    with pytest.raises(ServerStartError, match="exited with code 3") as caught:
        serve_process(crashing)
    assert "cannot open the config" in str(caught.value)
    assert running_servers() == []


def test_a_missing_program_says_so():
    with pytest.raises(ServerStartError, match="not found"):
        serve_process(["no-such-server-program", "{port}"])


def test_process_server_with_the_same_name_replaces_the_old_one():
    first = serve_process(HTTP_SERVER, name="web")
    second = serve_process(HTTP_SERVER, name="web")
    assert first.process.poll() is not None and second.process.poll() is None
    second.stop()


@linux_only
def test_interpreter_exit_stops_servers_left_running(tmp_path):
    """A notebook whose kernel shuts down with servers still up leaves no orphans."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from workshop import serve_asgi, serve_process
        from tests.test_serving import echo_app
        proc = serve_process({HTTP_SERVER!r})
        asgi = serve_asgi(echo_app)
        print(proc.pid, proc.port, asgi.port)
        raise RuntimeError("a cell failed")  # and nobody called stop()
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=os.getcwd())
    assert "a cell failed" in result.stderr
    pid, process_port, asgi_port = map(int, result.stdout.split())
    assert live_group_members(pid) == []
    assert port_is_free(process_port) and port_is_free(asgi_port)


def test_coroutines_can_run_on_the_servers_loop():
    async def where():
        return asyncio.get_running_loop()

    async def forever():
        await asyncio.Event().wait()

    with serve_asgi(echo_app) as server:
        assert server.submit(where()).result(5) is server.loop
        assert asyncio.run(server.run(where())) is server.loop
        background = server.submit(forever())
        background.cancel()
    with pytest.raises(RuntimeError, match="stopped"):
        server.submit(where())


def test_process_logs_go_to_a_log_folder_that_does_not_exist_yet(tmp_path, monkeypatch):
    """As in a fresh clone, where make points WORKSHOP_LOG_DIR at a .state/logs not made yet."""
    monkeypatch.setenv("WORKSHOP_LOG_DIR", str(tmp_path / "new" / "logs"))
    with serve_process(HTTP_SERVER) as server:
        fetch(server.url)
    assert server.log_path.startswith(str(tmp_path / "new" / "logs"))
    assert any("GET / HTTP/1.1" in line for line in server.logs)


def test_process_logs_carry_no_colour_codes(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # as a Jupyter kernel's environment may say
    crashing = [
        sys.executable,
        "-c",
        "import os; print(os.environ['NO_COLOR'], os.environ['PYTHON_COLORS']); raise SystemExit(1)",
    ]
    with pytest.raises(ServerStartError) as caught:
        serve_process(crashing)
    assert "1 0" in str(caught.value)


@linux_only
def test_a_terminated_interpreter_stops_its_servers_first(tmp_path):
    """SIGTERM skips atexit; a kernel that is terminated must still leave no server behind."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from workshop import serve_process
        proc = serve_process({HTTP_SERVER!r})
        print(proc.pid, proc.port, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=os.getcwd())
    assert result.returncode == -signal.SIGTERM
    pid, port = map(int, result.stdout.split())
    assert live_group_members(pid) == [] and port_is_free(port)


# --------------------------------------------------------------------------- lifecycle


def test_a_port_someone_else_serves_is_refused_with_a_clear_error():
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {port} on 127.0.0.1 is already in use"):
            serve_process(HTTP_SERVER, port=port)
        with serve_process(HTTP_SERVER) as other:  # a kit server holds it: refused too
            with pytest.raises(ServerStartError, match=f"port {other.port} .* already in use"):
                serve_process(HTTP_SERVER, port=other.port, name="second")
            assert fetch(other.url).status == 200
    assert running_servers() == []


def test_a_port_bound_but_not_yet_listening_is_refused_too():
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # a server between bind() and listen(): connecting is refused
        port = holder.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {port} .* already in use"):
            serve_process(HTTP_SERVER, port=port)


@linux_only
def test_a_server_started_from_a_thread_outlives_that_thread():
    """The bench and the checks start servers from worker threads; the server must not die with them."""
    started = []
    thread = threading.Thread(target=lambda: started.append(serve_process(HTTP_SERVER)))
    thread.start()
    thread.join()
    server = started[0]
    try:
        assert fetch(server.url).status == 200 and server.process.poll() is None
    finally:
        server.stop()


def test_a_wsgi_request_stuck_in_the_app_does_not_hang_stop(monkeypatch):
    import workshop._thread_servers
    import workshop.serving

    monkeypatch.setattr(workshop._thread_servers, "STOP_TIMEOUT", 0.5)  # where the thread servers read it
    release, entered = threading.Event(), threading.Event()

    def stuck(environ, start_response):  # a learner's loop that never ends (until the test says)
        entered.set()
        release.wait(30)
        start_response("200 OK", [])
        return [b""]

    server = serve_wsgi(stuck)
    client = threading.Thread(target=lambda: fetch(server.url, timeout=30), daemon=True)
    client.start()
    assert entered.wait(10)
    with pytest.warns(workshop.serving.ServerThreadSurvived, match="thread is still running"):
        server.stop()
    assert not server.running and port_is_free(server.port) and running_servers() == []
    release.set()
    client.join(10)


def test_an_asgi_server_whose_loop_is_blocked_says_its_thread_survived(monkeypatch):
    import workshop._thread_servers
    import workshop.serving

    monkeypatch.setattr(workshop._thread_servers, "STOP_TIMEOUT", 0.3)  # where the thread servers read it
    release, entered = threading.Event(), threading.Event()

    async def blocks_the_loop(scope, receive, send):  # a sync call in async code: time.sleep and friends
        entered.set()
        release.wait(30)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = serve_asgi(blocks_the_loop)
    client = threading.Thread(target=lambda: fetch(server.url, timeout=30), daemon=True)
    client.start()
    assert entered.wait(10)
    with pytest.warns(workshop.serving.ServerThreadSurvived, match="thread is still running"):
        server.stop()
    release.set()
    server._thread.join(10)
    assert not server._thread.is_alive()
    client.join(10)


@linux_only
def test_a_hung_up_interpreter_stops_its_servers_first():
    """SIGHUP (a closed terminal or SSH session) is handled like SIGTERM."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from workshop import serve_process
        proc = serve_process({HTTP_SERVER!r})
        print(proc.pid, proc.port, flush=True)
        os.kill(os.getpid(), signal.SIGHUP)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=os.getcwd())
    assert result.returncode == -signal.SIGHUP
    pid, port = map(int, result.stdout.split())
    assert live_group_members(pid) == [] and port_is_free(port)


@pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script")
def test_a_relative_program_is_found_where_it_runs(tmp_path):
    script = tmp_path / "serve.sh"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m http.server --bind 127.0.0.1 "$1"\n')
    script.chmod(0o755)
    with serve_process(["./serve.sh", "{port}"], cwd=tmp_path) as server:
        assert fetch(server.url).status == 200
    with pytest.raises(ServerStartError, match="'./missing.sh' was not found"):
        serve_process(["./missing.sh", "{port}"], cwd=tmp_path)


def test_rerunning_a_server_on_a_fixed_port_replaces_it_without_a_port_error():
    from workshop import free_port

    port = free_port()
    first = serve_process(HTTP_SERVER, port=port, name="fixed")
    fetch(first.url)  # a closed connection leaves TIME_WAIT behind: the new server must still bind
    second = serve_process(HTTP_SERVER, port=port, name="fixed")
    assert not first.running and fetch(second.url).status == 200
    second.stop()


def test_a_process_that_serves_no_port_is_ready_when_its_log_says_so():
    script = "import signal; print('warming up'); print('ready for work', flush=True); signal.pause()"
    worker = serve_process([sys.executable, "-c", script], name="worker", ready_line="ready for work")
    try:
        assert worker.running and worker.process.poll() is None
        assert "ready for work" in worker.logs
    finally:
        worker.stop()
    with pytest.raises(ServerStartError, match="never said 'never printed'"):
        serve_process(
            [sys.executable, "-c", "import signal; signal.pause()"],
            name="silent worker",
            ready_line="never printed",
            ready_timeout=0.5,
        )


def test_cells_whose_ids_share_a_long_prefix_keep_their_own_servers(tmp_path):
    """JupyterLab names each cell; a copied notebook's ids share long prefixes (09's share 20 characters).

    Two cells start the same kind of server: each keeps its own, and re-running one replaces only its own.
    """
    import nbformat

    from tools.lab_kernel import run_notebook

    start = "from workshop import asgi_echo, serve_asgi\n{name} = serve_asgi(asgi_echo)"
    cells = [
        ("08-security-and-prod-07", start.format(name="site")),
        ("08-security-and-prod-11", start.format(name="guarded")),
        ("08-security-and-prod-99", "print(site.running, guarded.running, site.name != guarded.name)"),
    ]
    notebook = nbformat.v4.new_notebook()
    for cell_id, source in cells:
        notebook.cells.append(nbformat.v4.new_code_cell(source, id=cell_id))
    path = tmp_path / "prefixes.ipynb"
    nbformat.write(notebook, path)
    ran = run_notebook(path, runs=2)
    assert ran.cells[2].outputs[0]["text"] == "True True True\n"


def test_two_unnamed_echo_projects_are_two_servers():
    """The kit's own helpers name a server after the line that called them, not after themselves."""
    from workshop import serve_echo_project

    first = serve_echo_project()
    second = serve_echo_project()
    try:
        assert first.running and second.running and first.name != second.name
        assert fetch(first.url).status == fetch(second.url).status == 200
    finally:
        first.stop()
        second.stop()


@linux_only
def test_an_interrupt_inside_a_codec_still_says_what_stopped():
    """SIGINT handled while a codec runs (the "idna" encoding of a host before each connect, as a start
    waits for its port) came out as "encoding with 'idna' codec failed (StartInterrupted: ...)" on Python
    3.11: CPython wraps what a codec raises in an exception of the same type. The learner gets our line."""
    import codecs

    from workshop._registry import StartInterrupted, _interruptible

    def interrupting(name):
        if name != "interruptingforatest":
            return None

        def encode(text, errors="strict"):
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs here, inside the codec
            for _ in range(100_000):
                pass
            return b"", 0

        return codecs.CodecInfo(encode, encode, name=name)

    codecs.register(interrupting)
    try:
        with pytest.raises(StartInterrupted) as interrupted:
            with _interruptible("slow"):
                "127.0.0.1".encode("interruptingforatest")
    finally:
        codecs.unregister(interrupting)
    assert str(interrupted.value) == "stopped starting 'slow': it is not running"
