"""How fast the kit starts and stops servers: `.venv/bin/python benchmarks/kit_timings.py`.

Targets (foundation issue): a thread server ready in < 0.3 s and stopped in < 0.5 s,
a process server ready in < 2 s. Prints the median and the worst of 20 runs each.
"""

import statistics
import sys
import time

from workshop import serve_asgi, serve_process, serve_wsgi
from workshop.examples import hello_and_echo


def hello_wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\n"]


def timed(start, runs=20):
    ready, stopped = [], []
    for _ in range(runs):
        began = time.perf_counter()
        server = start()
        ready.append(time.perf_counter() - began)
        began = time.perf_counter()
        server.stop()
        stopped.append(time.perf_counter() - began)
    return ready, stopped


def main():
    cases = {
        "serve_asgi (uvicorn, thread)": lambda: serve_asgi(hello_and_echo, name="timing"),
        "serve_wsgi (wsgiref, thread)": lambda: serve_wsgi(hello_wsgi, name="timing"),
        "serve_process (uvicorn, process)": lambda: serve_process(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "workshop.examples:hello_and_echo",
                "--port",
                "{port}",
                "--log-level",
                "warning",
            ],
            name="timing",
        ),
    }
    print(f"{'server':34} {'ready median':>13} {'ready max':>10} {'stop median':>12} {'stop max':>9}")
    for name, start in cases.items():
        ready, stopped = timed(start)
        print(
            f"{name:34} {statistics.median(ready):12.3f}s {max(ready):9.3f}s "
            f"{statistics.median(stopped):11.3f}s {max(stopped):8.3f}s"
        )


if __name__ == "__main__":
    main()
