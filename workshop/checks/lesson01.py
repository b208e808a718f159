"""Exercise 01, WSGI: a greeting app and a middleware that numbers requests.

Over 400 lines: two exercises' specifications, each requirement with its probe and its hint rule, kept in one
file so it says everything the checks ask.
"""

from __future__ import annotations

import io
import re
import sys

from ..clients import fetch
from ..serving import serve_wsgi
from ._common import ExerciseHint, changed_outside, diagnose, learner_code, passed, state_outside

_TYPES = [
    (
        lambda e: isinstance(e, TypeError) and "concat str to bytes" in str(e),
        "str and bytes do not add up: build the text, then encode it, f'Hello, {name}!\\n'.encode()",
    ),
    (
        lambda e: isinstance(e, TypeError) and "positional argument" in str(e),
        "a WSGI app is called as app(environ, start_response) and returns a list of bytes",
    ),
]


def _call(app, path: str = "/") -> dict:
    """Call a WSGI app once, as a server would: what it started (status, headers) and the body it returned.

    As PEP 3333 asks of a server: start_response returns a write() callable, the body is any iterable
    (a list, a generator, an instance of a class with __iter__), and its close(), if it has one, is called.
    """
    starts, written = [], []

    def start_response(status, headers, exc_info=None):
        starts.append((status, headers, exc_info))
        return written.append  # the write() callable, for apps that stream before returning

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.url_scheme": "http",
    }
    body = app(environ, start_response)
    chunks = None
    if body is not None and not isinstance(body, (str, bytes, dict)):
        try:
            iterator = iter(body)
        except TypeError:
            iterator = None
        if iterator is not None:
            try:
                chunks = list(iterator)
            finally:
                if callable(getattr(body, "close", None)):
                    body.close()
    status, headers, _ = starts[-1] if starts else (None, None, None)
    return {
        "starts": len(starts),
        "status": status,
        "headers": headers,
        "returned": body,
        "chunks": chunks,
        "exc_info": [start[2] for start in starts],
        "written": written,
    }


def _joined(response) -> bytes | None:
    chunks = response["chunks"]
    return b"".join(chunks) if chunks is not None and all(isinstance(c, bytes) for c in chunks) else None


def _header(response, name: str) -> list:
    headers = response["headers"] if isinstance(response["headers"], list) else []
    return [h[1] for h in headers if isinstance(h, tuple) and len(h) == 2 and str(h[0]).lower() == name.lower()]


# What every response must be, whoever wrote the app: the rules both checks apply first.
_A_WSGI_RESPONSE = [
    (
        lambda r: r["starts"] == 0,
        "{who} never called start_response(status, headers): call it before returning the body",
    ),
    (
        lambda r: not isinstance(r["status"], str),
        "the status was {status!r}: a WSGI status is a str with its reason, '200 OK', not the number 200",
    ),
    (
        lambda r: not re.match(r"\d{3} \S", r["status"]),
        "the status was {status!r}: a WSGI status is the code, a space and its reason, such as '200 OK'",
    ),
    (
        lambda r: (
            not (isinstance(r["headers"], list) and all(isinstance(h, tuple) and len(h) == 2 for h in r["headers"]))
        ),
        "the headers were {headers!r}: WSGI headers are a list of (name, value) tuples, "
        "e.g. [('Content-Type', 'text/plain')], not a dict",
    ),
    (lambda r: r["returned"] is None, "{who} returned None: return the body, a list of bytes such as [b'...']"),
    (lambda r: isinstance(r["returned"], str), "{who} returned a str: return a list of bytes, e.g. [text.encode()]"),
    (lambda r: isinstance(r["returned"], bytes), "{who} returned bytes, not a list of them: return [body]"),
    (lambda r: r["chunks"] is None, "{who} returned {returned!r}: return a list of bytes, e.g. [text.encode()]"),
    (
        lambda r: any(isinstance(c, str) for c in r["chunks"]),
        "{who}'s body holds str: WSGI bodies are bytes, so encode the text with .encode()",
    ),
]


def _diagnose_response(response: dict, who: str, first=()) -> None:
    rules = [*first, *_A_WSGI_RESPONSE]
    diagnose(response, [(condition, lambda r, h=hint: h.format(who=who, **r)) for condition, hint in rules])


def _served(app, name: str, paths) -> list:
    """Serve ``app`` with wsgiref for real and GET each path: (status, text, X-Request-Number) each."""
    with serve_wsgi(app, name=name) as server:
        return [(r.status, r.text, r.headers.get("x-request-number")) for r in (fetch(server.url + p) for p in paths)]


# --------------------------------------------------------------------------- part 1: greet

_NAMES = ["ada", "grace", "r2d2", "ada"]  # names the text never shows, and one asked twice


def _greeting(name: str) -> bytes:
    return f"Hello, {name}!\n".encode()


def check_greeting_app(greet) -> None:
    """Exercise 01a: GET /<name> answers 200 and 'Hello, <name>!\\n' as text/plain, for any name.

    R1 the status is the str '200 OK'; R2 the headers are a list of (name, value) tuples with
    Content-Type text/plain; R3 the body is a list of bytes, b'Hello, <name>!\\n'; R4 for any name,
    read from PATH_INFO on every request (names the text never shows, one asked twice: nothing
    carries over); R5 served by wsgiref for real, the same.
    """
    with learner_code("greet", _TYPES):
        responses = [_call(greet, "/" + name) for name in _NAMES]
        served = _served(greet, "check_greeting_app", ["linus"])[0]
    for response in responses:
        _diagnose_response(response, "greet")
    ada, grace, robot, ada_again = ({**r, "body": _joined(r), "media": _header(r, "content-type")} for r in responses)
    diagnose(
        ada,
        [
            (
                lambda r: not r["status"].startswith("200"),
                "the status was {status!r}: a greeting is '200 OK'".format_map,
            ),
            (
                lambda r: r["body"] == _greeting("/ada"),
                "GET /ada answered b'Hello, /ada!\\n': environ['PATH_INFO'] is '/ada'; strip the leading '/'",
            ),
            (
                lambda r: r["body"] == _greeting("ada").rstrip(b"\n"),
                "GET /ada answered b'Hello, ada!' without the newline: the body ends with '\\n', b'Hello, ada!\\n'",
            ),
            (
                lambda r: r["body"] != _greeting("ada"),
                lambda r: (
                    f"GET /ada answered {r['body']!r}, expected {_greeting('ada')!r}: the name is in "
                    "environ['PATH_INFO'] ('/ada'), without its leading '/'"
                ),
            ),
        ],
    )
    diagnose(
        {"grace": grace, "robot": robot, "again": ada_again},
        [
            (
                lambda f: f["grace"]["body"] != _greeting("grace") or f["robot"]["body"] != _greeting("r2d2"),
                lambda f: (
                    f"GET /grace answered {f['grace']['body']!r} and GET /r2d2 {f['robot']['body']!r}: the "
                    "name is hard-coded. Read it from environ['PATH_INFO'] on every request"
                ),
            ),
            (
                lambda f: f["again"]["body"] != _greeting("ada"),
                lambda f: (
                    f"asked again, GET /ada answered {f['again']['body']!r}: greet kept something from one "
                    "request to the next (in a global?): a greeting depends on the path only"
                ),
            ),
        ],
    )
    diagnose(
        ada,
        [
            (
                lambda r: [m.split(";")[0].strip().lower() for m in r["media"]] != ["text/plain"],
                "headers were {headers}: add ('Content-Type', 'text/plain')".format_map,
            )
        ],
    )
    diagnose(
        served,
        [
            (
                lambda s: s[:2] != (200, "Hello, linus!\n"),
                lambda s: f"served for real by wsgiref, GET /linus answered {s[0]} {s[1]!r}",
            )
        ],
    )
    passed(f"greet works: GET /linus -> {served[1]!r}")


# --------------------------------------------------------------------------- part 2: count_requests


def _inner_app(environ, start_response):
    """The app the middleware wraps: a status, a header and a body of two chunks that must all pass through."""
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Inner", "kept")])
    return [b"Hello", b"!\n"]


class _ClosingBody:
    """A body of several chunks with a close(), as a file or a streamed response is: the server must call close()."""

    def __init__(self, chunks):
        self.chunks, self.closed = list(chunks), False

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed = True


def _streaming_app(seen: dict):
    """An app that writes part of its body with write() and returns the rest in a closing body (noted in ``seen``)."""

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        seen["write"] = write
        if callable(write):
            write(b"Hel")
        seen["body"] = _ClosingBody([b"lo", b"!", b"\n"])
        return seen["body"]

    return app


def _failing_app(environ, start_response):
    """PEP 3333's error path: the app started a response, failed, and starts again with exc_info."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("the page failed")
    except ValueError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"failed\n"]


_MIDDLEWARE_ERRORS = [
    (
        lambda e: isinstance(e, TypeError) and "required positional argument" in str(e),
        "return the inner function itself (return counted), do not call it",
    ),
    (
        lambda e: isinstance(e, TypeError) and "concatenate list" in str(e),
        "headers is a list: add a list to it, headers + [('X-Request-Number', str(number))]",
    ),
]
_NOTHING_RETURNED = [
    (
        lambda r: r["returned"] is None,
        "{who} returned None: return what app(environ, start_response) returns, the body, unchanged",
    )
]


def _numbers(responses) -> list:
    return [(_header(r, "x-request-number") or [None])[0] for r in responses]


def check_request_counter(count_requests) -> None:
    """Exercise 01b: a middleware adding X-Request-Number: 1, 2, 3, ... and keeping the response.

    R1 count_requests(app) returns a new WSGI app (the inner function, not its result); R2 each
    response gets X-Request-Number, a str, 1 for the first request, then 2, 3, ...; R3 the app's
    status, headers and body pass through unchanged, and the server's start_response is called
    once per request; as PEP 3333 asks of middleware, the server's write() callable comes back to
    the app, exc_info passes on (an app's error path), and the body's chunks and close() reach the
    server (nothing joined or buffered); R4 each app count_requests makes counts its own requests from 1: two at once
    count apart, and a new one (a second run) starts at 1 again (no count in a global, on a class, in a default
    argument or an lru_cache);
    R5 served by wsgiref for real, the same.
    """
    with learner_code("count_requests", _MIDDLEWARE_ERRORS):
        before = state_outside(count_requests)
        first, second = count_requests(_inner_app), count_requests(_inner_app)
        apps = {"first": first, "second": second}
        if not all(callable(app) for app in apps.values()):
            raise ExerciseHint(f"count_requests(app) returned {first!r}: return the inner function, the new app")
        order = ["first", "first", "second", "first"]  # two apps at once, interleaved
        responses = [(which, _call(apps[which])) for which in order]
        changed = changed_outside(before, state_outside(count_requests))
        seen = {}
        streamed = _call(count_requests(_streaming_app(seen)))
        failed = _call(count_requests(_failing_app))
        served = _served(count_requests(_inner_app), "check_request_counter", ["", "", ""])
    for _, response in responses:
        _diagnose_response(response, "the app count_requests made", _NOTHING_RETURNED)
    mine = [r for which, r in responses if which == "first"]
    facts = {
        "starts": max(r["starts"] for _, r in responses),
        "response": mine[0],
        "body": _joined(mine[0]),
        "inner": _header(mine[0], "x-inner"),
        "first": _numbers(mine),
        "second": _numbers([r for which, r in responses if which == "second"]),
        "changed": changed,
        "served": served,
        "write": seen.get("write"),
        "streamed": streamed["chunks"],
        "closed": getattr(seen.get("body"), "closed", None),
        "exc_info": failed["exc_info"],
    }
    diagnose(
        facts,
        [
            (
                lambda f: f["starts"] > 1,
                "start_response was called twice for one request: do not call the server's start_response "
                "yourself; give app a start_response of yours that adds the header and then calls the server's",
            ),
            (
                lambda f: f["response"]["status"] != "201 Created",
                lambda f: (
                    f"the app said '201 Created' and the server got {f['response']['status']!r}: "
                    "pass the app's status on unchanged"
                ),
            ),
            (
                lambda f: f["body"] != b"Hello!\n",
                lambda f: (
                    f"the app's body b'Hello!\\n' became {f['body']!r}: return what app(environ, ...) "
                    "returns, unchanged"
                ),
            ),
            (
                lambda f: f["inner"] != ["kept"],
                "the app's own header X-Inner was lost: add yours to the app's headers (headers + [...]), "
                "do not replace them",
            ),
            (
                lambda f: f["first"][0] is None,
                "no X-Request-Number header: add ('X-Request-Number', str(number)) to the headers before "
                "calling the server's start_response",
            ),
            (
                lambda f: not all(isinstance(n, str) for n in f["first"]),
                lambda f: f"X-Request-Number was {f['first'][0]!r}: a header value must be a str: use str(number)",
            ),
            (
                lambda f: f["first"] == ["1", "1", "1"],
                "three requests were all numbered '1': keep the count outside the inner function "
                "(count_requests' local, with nonlocal), so it lasts from one request to the next",
            ),
            (
                lambda f: f["first"][0] != "1" or f["second"] != ["1"] or f["changed"],
                lambda f: (
                    f"two apps made by count_requests numbered their requests {f['first']} and "
                    f"{f['second']}, expected ['1', '2', '3'] and ['1']: the count is shared "
                    f"({', '.join(f['changed']) or 'outside the app count_requests made'}), so a second run goes "
                    "on from the first. Keep it in count_requests, one count per app it makes"
                ),
            ),
            (
                lambda f: f["first"] != ["1", "2", "3"],
                lambda f: (
                    f"three requests were numbered {f['first']}, expected ['1', '2', '3']: add 1 per "
                    "request, before calling app"
                ),
            ),
            (
                lambda f: not callable(f["write"]),
                lambda f: (
                    f"an app that streams with write = start_response(...) got {f['write']!r} back: your "
                    "start_response must return what the server's returns, the write() callable (PEP 3333): "
                    "return start_response(status, headers + [...], exc_info)"
                ),
            ),
            (
                lambda f: len(f["exc_info"]) > 1 and f["exc_info"][-1] is None,
                "an app that failed called start_response again with exc_info (PEP 3333's error path), and the "
                "server got exc_info=None, so it would refuse the second start: take exc_info=None and pass it on, "
                "start_response(status, headers + [...], exc_info)",
            ),
            (
                lambda f: f["streamed"] != [b"lo", b"!", b"\n"],
                lambda f: (
                    f"an app's body of three chunks [b'lo', b'!', b'\\n'] reached the server as {f['streamed']!r}: "
                    "return the app's iterable itself; joining it waits for the whole body (PEP 3333: middleware "
                    "must not block waiting for more of the body) and never calls its close()"
                ),
            ),
            (
                lambda f: not f["closed"],
                "the app's body has a close() (a file, a database cursor) and it was never called: return the app's "
                "iterable itself, so the server calls its close() (PEP 3333)",
            ),
            (
                lambda f: [n for _, _, n in f["served"]] != ["1", "2", "3"] or f["served"][0][1] != "Hello!\n",
                lambda f: f"served for real by wsgiref, three requests got {f['served']}",
            ),
        ],
    )
    passed("count_requests works: three requests were numbered 1, 2, 3, and a second app counts apart")
