"""Exercise 01, WSGI: a greeting app and a middleware that numbers requests."""

from __future__ import annotations

from ..clients import fetch
from ..serving import serve_wsgi
from ._common import ExerciseHint, not_written, passed


def _call_wsgi(app, path: str, name: str):
    """Call a WSGI app once, as a server would; answer (status, headers, body) or raise a hint."""
    recorded = {"calls": 0}

    def start_response(status, headers, exc_info=None):
        recorded["calls"] += 1
        recorded["status"], recorded["headers"] = status, headers
        return lambda data: None

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": None,
        "wsgi.url_scheme": "http",
    }
    try:
        body = app(environ, start_response)
    except NotImplementedError:
        raise not_written(name) from None
    except Exception as error:
        raise ExerciseHint(f"{name} raised {type(error).__name__}: {error}") from None
    if recorded["calls"] == 0:
        raise ExerciseHint(f"{name} never called start_response(status, headers): call it before returning the body")
    status, headers = recorded["status"], recorded["headers"]
    if not isinstance(status, str):
        raise ExerciseHint(
            f"the status was {status!r}: a WSGI status is a str with its reason, '200 OK', not the number 200"
        )
    if not isinstance(headers, list) or not all(isinstance(h, tuple) and len(h) == 2 for h in headers):
        raise ExerciseHint(
            f"the headers were {headers!r}: WSGI headers are a list of (name, value) tuples, "
            "e.g. [('Content-Type', 'text/plain')], not a dict"
        )
    if body is None:
        raise ExerciseHint(f"{name} returned None: return the body, a list of bytes such as [b'...']")
    if isinstance(body, (str, bytes)):
        kind = "a str" if isinstance(body, str) else "bytes, not a list of them"
        raise ExerciseHint(f"{name} returned {kind}: return a list of bytes, e.g. [text.encode()]")
    chunks = list(body)
    if any(isinstance(chunk, str) for chunk in chunks):
        raise ExerciseHint(f"{name}'s body holds str: WSGI bodies are bytes, so encode the text with .encode()")
    return status, headers, b"".join(chunks)


def check_greeting_app(greet) -> None:
    """Exercise 01a: GET /<name> answers 200 and 'Hello, <name>!\\n' as text/plain, for any name."""
    status, headers, body = _call_wsgi(greet, "/ada", "greet")
    if not status.startswith("200"):
        raise ExerciseHint(f"the status was {status!r}: a greeting is '200 OK'")
    if body == b"Hello, /ada!\n":
        raise ExerciseHint(
            "GET /ada answered b'Hello, /ada!\\n': environ['PATH_INFO'] is '/ada'; strip the leading '/'"
        )
    if body != b"Hello, ada!\n":
        raise ExerciseHint(
            f"GET /ada answered {body!r}, expected b'Hello, ada!\\n': the name is in "
            "environ['PATH_INFO'] ('/ada'); strip the leading '/'"
        )
    media_types = [value.split(";")[0].strip().lower() for name, value in headers if name.lower() == "content-type"]
    if media_types != ["text/plain"]:
        raise ExerciseHint(f"headers were {headers}: add ('Content-Type', 'text/plain')")
    _, _, other = _call_wsgi(greet, "/grace", "greet")
    if other != b"Hello, grace!\n":
        raise ExerciseHint(
            f"GET /grace answered {other!r}: the name is hard-coded. Read it from environ['PATH_INFO'] on every request"
        )
    with serve_wsgi(greet, name="check_greeting_app") as server:
        response = fetch(server.url + "linus")
        logs = "\n".join(server.logs)
    if response.status != 200:
        raise ExerciseHint(
            f"served for real by wsgiref, it answered {response.status}; the server said: "
            f"{logs.strip().splitlines()[-1] if logs.strip() else 'nothing'}"
        )
    if response.text != "Hello, linus!\n":
        raise ExerciseHint(f"served for real, GET /linus answered {response.text!r}")
    passed(f"greet works: GET /linus -> {response.text!r}")


def check_request_counter(count_requests) -> None:
    """Exercise 01b: a middleware adding X-Request-Number: 1, 2, 3, ... and keeping the body."""

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello!\n"]

    try:
        wrapped = count_requests(hello)
    except NotImplementedError:
        raise not_written("count_requests") from None
    except TypeError as error:
        raise ExerciseHint(
            f"count_requests(app) raised TypeError ({error}): return the inner function itself "
            "(return counted), do not call it"
        ) from None
    if not callable(wrapped):
        raise ExerciseHint(f"count_requests(app) returned {wrapped!r}: return the inner function, the new app")
    with serve_wsgi(wrapped, name="check_request_counter") as server:
        responses = [fetch(server.url) for _ in range(3)]
        logs = "\n".join(server.logs)
    if responses[0].status == 500:
        if "NotImplementedError" in logs:
            raise not_written("count_requests")
        if "Header values must be" in logs or "must be of type str" in logs:
            raise ExerciseHint("a header value must be a str: use str(number)")
        if "Headers already set" in logs:
            raise ExerciseHint(
                "start_response was called twice for one request: do not call the server's "
                "start_response yourself; give app a start_response of yours that adds the "
                "header and then calls the server's"
            )
        last = logs.strip().splitlines()[-1] if logs.strip() else "nothing"
        raise ExerciseHint(f"the wrapped app failed (500); the server said: {last}")
    if any(r.text != "Hello!\n" for r in responses):
        raise ExerciseHint(
            f"the body changed to {responses[0].text!r}: return what app(environ, ...) returns, unchanged"
        )
    numbers = [r.headers.get("x-request-number") for r in responses]
    if numbers[0] is None:
        raise ExerciseHint(
            "no X-Request-Number header: add ('X-Request-Number', str(number)) to the headers "
            "before calling the server's start_response"
        )
    if numbers != ["1", "2", "3"]:
        raise ExerciseHint(
            f"three requests were numbered {numbers}, expected ['1', '2', '3']: keep the count "
            "outside the inner function (e.g. nonlocal), so it lasts from one request to the next"
        )
    passed("count_requests works: three requests were numbered 1, 2, 3")
