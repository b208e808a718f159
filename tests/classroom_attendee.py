"""One simulated attendee, in a process of its own: joins the classroom, then runs lesson 01's real checks.

``python -m tests.classroom_attendee URL CODE NAME``; then each line on stdin names an answer (``ANSWERS``),
whose check runs as in a notebook: its one line (✓ or "Not yet: ...") is printed, then ``DONE``. What the
classroom kit prints (joined, the one quiet line) goes to stdout too, as it would to the cell.
"""

import os
import subprocess
import sys
import tempfile
import time

from tests.checks.test_lesson01 import (
    count_requests,
    greet,
    greet_adding_str_to_bytes,
    greet_returning_str,
)
from workshop import ECHO_PROJECT, REPO, join_classroom, leave_classroom, serve_echo_project
from workshop.checks import ExerciseHint, check_greeting_app, check_request_counter


def greet_left_as_it_came(environ, start_response):
    raise NotImplementedError


ANSWERS = {
    "greet-right": (check_greeting_app, greet),
    "greet-wrong": (check_greeting_app, greet_returning_str),  # a rule of the check: "wrong behaviour"
    "greet-raises": (check_greeting_app, greet_adding_str_to_bytes),  # "raised TypeError"
    "greet-stub": (check_greeting_app, greet_left_as_it_came),  # "not written"
    "count-right": (check_request_counter, count_requests),
}


def main():
    url, code, name = sys.argv[1:4]
    if name != "-":  # "-": another notebook of a laptop that joined already (the same WORKSHOP_STATE_DIR)
        join_classroom(url, code, name)
    print("READY", flush=True)
    for line in sys.stdin:
        check, answer = ANSWERS[line.strip()]
        try:
            check(answer)
        except ExerciseHint as hint:
            print(f"Not yet: {hint}")
        print(f"DONE {time.time()}", flush=True)  # when the check returned: the bench's start of the latency
    if name != "-":
        leave_classroom()


if __name__ == "__main__":
    main()


# --------------------------------------------------------------------------- for the tests and the bench

CODE, TOKEN = "test-code", "test-instructor-token"


def migrated_database(folder) -> str:
    """A DATABASE_URL for a new SQLite file in ``folder``, its tables made as ``make classroom`` makes them."""
    url = f"sqlite:///{folder}/classroom.sqlite3"
    migrate = [sys.executable, "manage.py", "migrate", "--verbosity", "0"]
    subprocess.run(migrate, cwd=ECHO_PROJECT, env={**os.environ, "DATABASE_URL": url}, check=True)
    return url


def serve_classroom(folder, **settings):
    """echo_project with a join code and token, on 127.0.0.1 and a free port, on a database of its own in
    ``folder`` (migrated first), as ``make classroom`` serves it (DEBUG off); ``settings`` add to its env."""
    env = {
        "DATABASE_URL": migrated_database(folder),
        "CLASSROOM_CODE": CODE,
        "CLASSROOM_TOKEN": TOKEN,
        "DEBUG": "0",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-for-django-not-to-warn",
        **settings,
    }
    return serve_echo_project(env=env, name="classroom")


class Attendee:
    """A simulated attendee's process: ``run("greet-right")`` returns what the check printed."""

    def __init__(self, url: str, name: str, code: str = CODE, laptop: str | None = None):
        """``laptop``: the state folder of the laptop it runs on (where a join is kept); by default one of its own."""
        self.name = name
        self.laptop = laptop or tempfile.mkdtemp(prefix="attendee-laptop-")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.classroom_attendee", url, code, name],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "WORKSHOP_STATE_DIR": self.laptop},
        )
        self.joined = self.until("READY")

    def until(self, marker: str) -> list[str]:
        lines = []
        while not (line := self.process.stdout.readline()).startswith(marker):
            if not line:
                raise RuntimeError(f"{self.name} ended: {lines} {self.process.stderr.read()}")
            lines.append(line.rstrip("\n"))
        self.last_marker = line
        return lines

    def start(self, answer: str) -> None:
        self.process.stdin.write(answer + "\n")
        self.process.stdin.flush()

    def run(self, answer: str) -> list[str]:
        self.start(answer)
        return self.until("DONE")

    def close(self) -> str:
        """End it; return what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.process.kill()
                self.process.wait()
        return self.process.stderr.read()
