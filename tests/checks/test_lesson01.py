"""Exercise 01's checks: greet (a WSGI app) and count_requests (a WSGI middleware)."""

import functools
import itertools

from tests.checks import answer_tests

# --------------------------------------------------------------------------- greet: right answers


def greet(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_with_get(environ, start_response):
    start_response("200 OK", [("content-type", "text/plain; charset=utf-8")])
    return [b"Hello, " + environ.get("PATH_INFO", "/")[1:].encode() + b"!\n"]


class Greeter:  # a class whose instances are the app
    def __call__(self, environ, start_response):
        name = environ["PATH_INFO"].lstrip("/")
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield f"Hello, {name}!\n".encode()


def greet_with_a_body_variable(environ, start_response):
    body = "Hello, {}!\n".format(environ["PATH_INFO"][1:]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


# --------------------------------------------------------------------------- greet: wrong answers


def greet_returning_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return f"Hello, {environ['PATH_INFO'].strip('/')}!\n"


def greet_forgetting_start_response(environ, start_response):
    return [b"Hello, ada!\n"]


def greet_with_the_slash(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO']}!\n".encode()]


def greet_hard_coded(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, ada!\n"]


def greet_with_a_number_status(environ, start_response):
    start_response(200, [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_with_a_dict_of_headers(environ, start_response):
    start_response("200 OK", {"Content-Type": "text/plain"})
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_as_html(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_without_the_newline(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!".encode()]


def greet_forgetting_return(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


_FIRST_NAME = []


def greet_remembering_the_first_name(environ, start_response):  # a global filled once
    if not _FIRST_NAME:
        _FIRST_NAME.append(environ["PATH_INFO"].strip("/"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {_FIRST_NAME[0]}!\n".encode()]


def greet_yielding_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield f"Hello, {environ['PATH_INFO'].strip('/')}!\n"


def greet_capitalising(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO'].strip('/').title()}!\n".encode()]


def greet_without_a_reason(environ, start_response):
    start_response("200", [("Content-Type", "text/plain")])
    return [f"Hello, {environ['PATH_INFO'].strip('/')}!\n".encode()]


def greet_adding_str_to_bytes(environ, start_response):
    name = environ["PATH_INFO"].strip("/")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, " + name + b"!\n"]


def greet_reading_a_path_segment_that_is_not_there(environ, start_response):
    name = environ["PATH_INFO"].split("/")[2]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {name}!\n".encode()]


# --------------------------------------------------------------------------- count_requests: right answers


def count_requests(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))

    return counted


class CountRequests:
    def __init__(self, app):
        self.app, self.number = app, 0

    def __call__(self, environ, start_response):
        self.number += 1
        number = self.number

        def numbered(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Request-Number", str(number))], exc_info)

        return self.app(environ, numbered)


def count_requests_with_itertools(app):
    numbers = itertools.count(1)

    def counted(environ, start_response):
        number = next(numbers)

        def start_numbered(status, headers, exc_info=None):
            headers = list(headers)
            headers.append(("X-Request-Number", f"{number}"))
            return start_response(status, headers, exc_info)

        return app(environ, start_numbered)

    return counted


def count_requests_with_a_list(app):
    count = [0]

    def counted(environ, start_response):
        count[0] += 1
        return app(
            environ,
            lambda status, headers, *rest: start_response(
                status, headers + [("X-Request-Number", str(count[0]))], *rest
            ),
        )

    return counted


# --------------------------------------------------------------------------- count_requests: wrong answers


def count_requests_with_an_int(app):
    def counted(environ, start_response):
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", 1)], e))

    return counted


def count_requests_resetting(app):
    def counted(environ, start_response):
        number = 1
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))

    return counted


def count_requests_returning_nothing(app):
    def counted(environ, start_response):
        return app(environ, start_response)


def count_requests_calling_the_inner_function(app):
    def counted(environ, start_response):
        return app(environ, start_response)

    return counted()


def count_requests_starting_the_response_itself(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        start_response("200 OK", [("X-Request-Number", str(number))])
        return app(environ, start_response)

    return counted


def count_requests_replacing_the_body(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))
        return [f"request {number}\n".encode()]

    return counted


REQUESTS = 0


def count_requests_in_a_global(app):  # passes once; a second run goes on at 4
    def counted(environ, start_response):
        global REQUESTS
        REQUESTS += 1
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(REQUESTS))], e))

    return counted


class CountRequestsOnTheClass(CountRequests):  # the count is shared by every instance
    number = 0

    def __call__(self, environ, start_response):
        CountRequestsOnTheClass.number += 1
        number = CountRequestsOnTheClass.number
        return self.app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))


def count_requests_forgetting_return(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))

    return counted


def count_requests_with_its_own_status(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        return app(environ, lambda s, h, e=None: start_response("200 OK", h + [("X-Request-Number", str(number))], e))

    return counted


def count_requests_replacing_the_headers(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        return app(environ, lambda s, h, e=None: start_response(s, [("X-Request-Number", str(number))], e))

    return counted


def count_requests_adding_a_tuple(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1

        def numbered(status, headers, exc_info=None):
            return start_response(status, headers + ("X-Request-Number", str(number)), exc_info)

        return app(environ, numbered)

    return counted


def count_requests_counting_in_start_response(app):
    count = [0]

    def counted(environ, start_response):
        def numbered(status, headers, exc_info=None):
            count[0] += 1
            return start_response(status, headers + [("X-Request-Number", str(count[0]))], exc_info)

        return app(environ, numbered)

    return counted


class GreetingResponse:  # PEP 3333's class-as-app: the instance is the body, iterable through __iter__
    def __init__(self, environ, start_response):
        self.name = environ["PATH_INFO"][1:]
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])

    def __iter__(self):
        yield f"Hello, {self.name}!\n".encode()


def count_requests_in_a_default(app, _count=[0]):  # noqa: B006 (the mistake under test)
    def counted(environ, start_response):
        _count[0] += 1

        def numbered(status, headers, exc_info=None):
            return start_response(status, headers + [("X-Request-Number", str(_count[0]))], exc_info)

        return app(environ, numbered)

    return counted


@functools.cache
def _numbers_for(app):
    return itertools.count(1)


def count_requests_with_lru_cache(app):  # one count per wrapped app: shared by two middlewares, kept between runs
    def counted(environ, start_response):
        number = next(_numbers_for(app))
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))], e))

    return counted


def count_requests_dropping_write(app):  # its start_response returns None, not the server's write()
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1

        def numbered(status, headers, exc_info=None):
            start_response(status, headers + [("X-Request-Number", str(number))], exc_info)

        return app(environ, numbered)

    return counted


def count_requests_dropping_exc_info(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        return app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(number))]))

    return counted


def count_requests_joining_the_body(app):
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        mine = number
        return [
            b"".join(app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(mine))], e)))
        ]

    return counted


def count_requests_yielding_without_close(app):  # the chunks pass, but the app's body is never closed
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        mine = number
        yield from app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(mine))], e))

    return counted


def count_requests_yielding_and_closing(app):  # a right variant: a generator that closes the app's body
    number = 0

    def counted(environ, start_response):
        nonlocal number
        number += 1
        mine = number
        body = app(environ, lambda s, h, e=None: start_response(s, h + [("X-Request-Number", str(mine))], e))
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()

    return counted


# --------------------------------------------------------------------------- the tables

RIGHT = [
    ("check_greeting_app", greet),
    ("check_greeting_app", greet_with_get),
    ("check_greeting_app", Greeter()),
    ("check_greeting_app", greet_with_a_body_variable),
    ("check_greeting_app", GreetingResponse),
    ("check_request_counter", count_requests),
    ("check_request_counter", CountRequests),
    ("check_request_counter", count_requests_with_itertools),
    ("check_request_counter", count_requests_with_a_list),
    ("check_request_counter", count_requests_counting_in_start_response),
    ("check_request_counter", count_requests_yielding_and_closing),
]

WRONG = [
    ("check_greeting_app", greet_returning_str, "return a list of bytes"),
    ("check_greeting_app", greet_forgetting_start_response, "never called start_response"),
    ("check_greeting_app", greet_with_the_slash, "strip the leading '/'"),
    ("check_greeting_app", greet_hard_coded, "the name is hard-coded"),
    ("check_greeting_app", greet_with_a_number_status, "not the number 200"),
    ("check_greeting_app", greet_with_a_dict_of_headers, "not a dict"),
    ("check_greeting_app", greet_as_html, "add ('Content-Type', 'text/plain')"),
    ("check_greeting_app", greet_without_the_newline, "without the newline"),
    ("check_greeting_app", greet_forgetting_return, "greet returned None"),
    ("check_greeting_app", greet_remembering_the_first_name, "the name is hard-coded"),
    ("check_greeting_app", greet_yielding_str, "encode the text"),
    ("check_greeting_app", greet_capitalising, "GET /ada answered b'Hello, Ada!\\n', expected b'Hello, ada!\\n'"),
    ("check_greeting_app", greet_reading_a_path_segment_that_is_not_there, "greet raised IndexError"),
    ("check_greeting_app", greet_without_a_reason, "the code, a space and its reason"),
    ("check_greeting_app", greet_adding_str_to_bytes, "greet raised TypeError: can't concat str to bytes"),
    ("check_request_counter", count_requests_with_an_int, "must be a str"),
    ("check_request_counter", count_requests_resetting, "keep the count outside the inner function"),
    ("check_request_counter", count_requests_returning_nothing, "return the inner function"),
    ("check_request_counter", count_requests_calling_the_inner_function, "do not call it"),
    ("check_request_counter", count_requests_starting_the_response_itself, "start_response was called twice"),
    ("check_request_counter", count_requests_replacing_the_body, "unchanged"),
    ("check_request_counter", count_requests_in_a_global, "the count is shared (REQUESTS)"),
    ("check_request_counter", CountRequestsOnTheClass, "the count is shared (CountRequestsOnTheClass.number"),
    ("check_request_counter", count_requests_forgetting_return, "return what app(environ, start_response) returns"),
    ("check_request_counter", count_requests_with_its_own_status, "pass the app's status on unchanged"),
    ("check_request_counter", count_requests_replacing_the_headers, "do not replace them"),
    (
        "check_request_counter",
        count_requests_adding_a_tuple,
        'raised TypeError: can only concatenate list (not "tuple") to list (at test_lesson01.py',
    ),
    ("check_request_counter", count_requests_in_a_default, "the count is shared (count_requests_in_a_default(_count"),
    ("check_request_counter", count_requests_with_lru_cache, "the count is shared (_numbers_for's lru_cache)"),
    ("check_request_counter", count_requests_dropping_write, "the write() callable"),
    ("check_request_counter", count_requests_dropping_exc_info, "the server got exc_info=None"),
    ("check_request_counter", count_requests_joining_the_body, "reached the server as [b'lo!\\n']"),
    ("check_request_counter", count_requests_yielding_without_close, "it was never called"),
]


RAISING = [
    (
        "check_greeting_app",
        greet_reading_a_path_segment_that_is_not_there,
        'name = environ["PATH_INFO"].split("/")[2]',
    ),
    ("check_request_counter", count_requests_adding_a_tuple, "return start_response(status, headers + ("),
    ("check_request_counter", count_requests_calling_the_inner_function, "return counted()"),
]

(
    test_a_right_answer_passes_twice_in_one_kernel,
    test_a_wrong_answer_gets_its_hint,
    test_an_exception_in_the_answer_is_a_hint_naming_its_line,
    test_each_check_has_eight_wrong_answers_and_three_right_ones,
) = answer_tests(RIGHT, WRONG, RAISING)
