"""The classroom, from the learner's side: join once, and every exercise check reports its outcome.

``join_classroom(url, code, name)`` connects to the instructor's classroom (echo_project's ``classroom`` app)
and checks the join code there and then. From then on, each check that runs (``workshop.checks``) hands
``{"exercise": "tally", "outcome": "hint", "category": "raised KeyError"}`` (or ``"outcome": "passed"``)
to a daemon thread, which sends it: the check never waits for the network. If the classroom is slow, gone
or refuses, the check runs exactly as before and says so in one quiet line, once; the thread tries again
now and then, with the latest outcome of each exercise (at most one per exercise is kept). Never the
learner's code, never anything else. ``leave_classroom()`` stops it.

``main()``, which ``make classroom`` runs (``python -c 'from workshop.classroom import main; main()' [--host 0.0.0.0]
[--port 8000]``: not ``-m``, which would run this module a second time, beside the one ``workshop`` imports), serves it:
echo_project under uvicorn with a random join code and instructor token, printed at start.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import socket
import threading
import time
import urllib.parse

from . import paths
from .clients import origin_of
from .project import ECHO_PROJECT, echo_project_command

ATTENDEE_PATH = "classroom/attendee/"
TIMEOUT = 2.0  # seconds to connect, or to hear the answer to a join
RETRY_EVERY = 5.0  # seconds between two attempts to reach a classroom that did not answer

_reporter: Reporter | None = None


def attendee_url(url: str) -> str:
    """The attendee's WebSocket address from the classroom's address as printed (``http://host:port/...``)."""
    parts = urllib.parse.urlsplit(url if "//" in url else f"http://{url}")
    scheme = {"https": "wss", "wss": "wss"}.get(parts.scheme, "ws")
    return f"{scheme}://{parts.netloc}/{ATTENDEE_PATH}"


class Refused(Exception):
    """The classroom answered, and refused: the reason is its close frame's."""


class Reporter:
    """One connection to the classroom, in a daemon thread fed by the checks: the latest outcome per exercise."""

    def __init__(self, url: str, code: str, name: str, key: str):
        self.url, self.code, self.name, self.key = url, code, name, key
        self.pending: dict[str, dict] = {}  # exercise -> its latest report not sent yet
        self.changed = threading.Condition()
        self.stopping = False
        self.connection = None
        self.next_attempt = 0.0
        self.trouble: str | None = None  # what went wrong, for the one quiet line
        self.told = False
        self.thread = threading.Thread(target=self.run, name="classroom-reporter", daemon=True)
        self.join: dict | str | None = None  # the laptop's join it follows, or "this notebook only"

    def connect(self):
        """Open a connection and join; raise ``Refused`` or ``OSError``/``TimeoutError`` when it does not."""
        from websockets.exceptions import ConnectionClosed, InvalidHandshake
        from websockets.sync.client import connect

        try:
            connection = connect(
                self.url, origin=origin_of(self.url), open_timeout=TIMEOUT, close_timeout=1, proxy=None
            )
        except InvalidHandshake as error:
            raise Refused(f"the handshake failed ({error})") from None
        try:
            connection.send(json.dumps({"join": self.code, "name": self.name, "key": self.key}))
            answer = json.loads(connection.recv(timeout=TIMEOUT))
        except ConnectionClosed as closed:
            reason = closed.rcvd.reason if closed.rcvd is not None else "it closed the connection"
            raise Refused(reason or "it closed the connection") from None
        except BaseException:
            connection.close()
            raise
        if "joined" not in answer:
            connection.close()
            raise Refused(str(answer.get("error", answer)))
        self.connection = connection

    def forget_connection(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # it is broken already: nothing to tell
                pass

    def put(self, report: dict) -> None:
        with self.changed:
            self.pending[report["exercise"]] = report
            self.changed.notify()

    def run(self):
        while True:
            with self.changed:
                while not self.stopping and not (self.pending and time.monotonic() >= self.next_attempt):
                    self.changed.wait(None if not self.pending else max(self.next_attempt - time.monotonic(), 0.01))
                if self.stopping:
                    break
                reports, self.pending = self.pending, {}
            try:
                self.send(reports)
            except Exception as error:  # the classroom is gone, slow or refusing: keep what was not sent
                self.forget_connection()
                self.next_attempt = time.monotonic() + RETRY_EVERY
                self.trouble = describe(error)
                with self.changed:
                    self.pending = {**reports, **self.pending}  # a newer outcome of the same exercise wins
        self.forget_connection()  # stopped

    def send(self, reports: dict) -> None:
        if self.connection is None:
            self.connect()
        while reports:
            exercise, report = next(iter(reports.items()))
            self.connection.send(json.dumps(report))
            del reports[exercise]
        # What the classroom said meanwhile (an error, a close) is read and let go: unread, it would pile up
        # until the connection stops reading; a close raises here, and the reports wait for the next attempt.
        while True:
            try:
                self.connection.recv(timeout=0)
            except TimeoutError:
                return

    def stop(self, wait: bool = True):
        with self.changed:
            self.stopping = True
            self.changed.notify()
        if wait:
            self.thread.join(timeout=TIMEOUT)
            self.forget_connection()


def describe(error: BaseException) -> str:
    if isinstance(error, Refused):
        return f"it refused: {error}"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "it did not answer in time"
    return "it is not reachable"


def joined_file() -> pathlib.Path:
    """Where this laptop's join is kept, for its other notebooks: the classroom's address, code, name and key."""
    return paths.state_dir("classroom") / "joined.json"


def read_join() -> dict | None:
    try:
        joined = json.loads(joined_file().read_text())
    except (OSError, ValueError):
        return None
    return joined if isinstance(joined, dict) and set(joined) == {"url", "code", "name", "key"} else None


def join_classroom(url: str, code: str, name: str, *, every_notebook: bool = True) -> None:
    """Join the classroom at ``url`` with the join code the instructor gave: from now on each check you run, in
    this notebook and every other one on this laptop, reports which exercise, and ✓ or the hint's short category,
    to the projector. Never your code.

    The name is yours for the evening: the laptop draws a key the first time and keeps it with the join
    (``joined_file``); its other notebooks join with it, and nobody else can take the name. With
    ``every_notebook=False``, this notebook only (lesson 11's practice classroom): the laptop's join is untouched.
    """
    global _reporter
    leave_classroom(quiet=True)
    before = read_join()
    same_name = before is not None and (before["url"], before["name"]) == (url, name)
    key = before["key"] if same_name else secrets.token_urlsafe(24)
    reporter = Reporter(attendee_url(url), code, name, key)
    try:
        reporter.connect()
    except Exception as error:
        print(f"Not joined: the classroom at {url} {describe(error).removeprefix('it ')}. Checks work as before.")
        return
    reporter.thread.start()
    _reporter = reporter
    if every_notebook:
        reporter.join = {"url": url, "code": code, "name": name, "key": key}
        path = joined_file()
        path.touch(mode=0o600)  # the key is the name's: readable by this user only
        path.write_text(json.dumps(reporter.join))
    else:
        reporter.join = "this notebook only"
    print(
        f"Joined the classroom as {name!r}. Each check you run now sends its exercise and its outcome "
        "(✓, or the hint's short category), never your code. leave_classroom() stops it."
    )


def leave_classroom(*, quiet: bool = False) -> None:
    """Stop reporting to the classroom, from every notebook on this laptop (each stops at its next check)."""
    global _reporter
    reporter, _reporter = _reporter, None
    if reporter is not None:
        reporter.stop()
    if not quiet:
        joined_file().unlink(missing_ok=True)
    if not quiet:
        print("Not in a classroom: checks report nothing." if reporter is None else "Left the classroom.")


def report(exercise: str, outcome: str, category: str = "") -> None:
    """Hand one check's outcome to the reporter, if this notebook joined a classroom; never waits.

    The first time the classroom could not be reached, one quiet line says so.
    """
    reporter = follow_the_laptops_join()
    if reporter is None:
        return
    reporter.put({"exercise": exercise, "outcome": outcome, **({"category": category} if category else {})})
    if reporter.trouble is not None and not reporter.told:
        reporter.told = True
        print(f"(The classroom did not get this: {reporter.trouble}. Your checks work as before.)")


def follow_the_laptops_join() -> Reporter | None:
    """This notebook's reporter, as the laptop's join says: joined in another notebook, left, or joined anew."""
    global _reporter
    if _reporter is not None and _reporter.join == "this notebook only":
        return _reporter
    joined = read_join()
    if _reporter is not None and _reporter.join == joined:
        return _reporter
    if _reporter is not None:  # left, or joined anew, in another notebook
        _reporter.stop(wait=False)  # its thread ends on its own: the check never waits
        _reporter = None
    if joined is not None:
        _reporter = Reporter(attendee_url(joined["url"]), joined["code"], joined["name"], joined["key"])
        _reporter.join = joined
        _reporter.thread.start()  # it joins from its thread, at its first report: the check never waits
    return _reporter


def lan_address() -> str:
    """This machine's address on its network: the source address of a route out (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve the classroom (echo_project's classroom app).")
    parser.add_argument(
        "--host", default="127.0.0.1", help="0.0.0.0 serves the venue's network (default: this machine)"
    )
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args(argv)
    host = lan_address() if options.host == "0.0.0.0" else options.host
    env = {
        # The same code and token after a restart, if given: attendees' notebooks rejoin on their own. The code:
        # 8 hex digits, short to type, and 4 billion to guess from (each guess costs a connection).
        "CLASSROOM_CODE": os.environ.get("CLASSROOM_CODE") or secrets.token_hex(4),
        "CLASSROOM_TOKEN": os.environ.get("CLASSROOM_TOKEN") or secrets.token_urlsafe(16),
        # Never the debug pages on a venue's network: no settings, no tracebacks, whoever asks.
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": ",".join(dict.fromkeys(["127.0.0.1", "localhost", host])),
    }
    url = f"http://{host}:{options.port}/"
    print(
        f"The classroom: {url}classroom/ (the projector)\n"
        f"Attendees run: join_classroom({url!r}, {env['CLASSROOM_CODE']!r}, 'their name')\n"
        f"Join code: {env['CLASSROOM_CODE']}\n"
        f"Instructor: {url}classroom/instructor/ with the token {env['CLASSROOM_TOKEN']}\n"
        f"The evening's room: {url} (the echo chamber; its rooms: Room, lobby)\n"
        "Ctrl-C stops it.",
        flush=True,
    )
    command = echo_project_command(options.host, options.port, env)
    # This process becomes the server (no child left behind if it is killed); Ctrl-C stops it.
    os.chdir(ECHO_PROJECT)
    os.execve(command[0], command, {**os.environ, **env})
