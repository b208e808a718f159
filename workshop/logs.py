"""Keep what background servers print out of notebook cells.

Output written from a background thread lands in whichever cell happens to run
next, which confuses the learner and breaks nbval. So every line a server thread
prints or logs goes to that server's own buffer instead (``server.logs``), and
only what the learner prints on purpose shows up in a cell.

A server is recognised by a context variable set in its thread: tasks and
``sync_to_async`` worker threads copy the context, so Django views and consumers
running on behalf of a server are recognised too. Everything else passes through
untouched.
"""

from __future__ import annotations

import collections
import contextvars
import io
import logging
import sys
import threading

__all__ = ["LogBuffer", "current_buffer", "install"]


class LogBuffer:
    """The last lines a server printed or logged, plus the exceptions it logged."""

    def __init__(self, max_lines: int = 5000):
        self._lines: collections.deque[str] = collections.deque(maxlen=max_lines)
        self._partial = ""
        self._lock = threading.Lock()
        self.exceptions: list[BaseException] = []

    def write(self, text: str) -> int:
        with self._lock:
            *complete, self._partial = (self._partial + text).split("\n")
            self._lines.extend(complete)
        return len(text)

    def add_record(self, line: str, exc: BaseException | None = None) -> None:
        with self._lock:
            self._lines.extend(line.split("\n"))
            if exc is not None:
                self.exceptions.append(exc)

    @property
    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines) + ([self._partial] if self._partial else [])

    def tail(self, count: int = 20) -> str:
        return "\n".join(self.lines[-count:])


_current: contextvars.ContextVar[LogBuffer | None] = contextvars.ContextVar("workshop_server_log", default=None)


def current_buffer() -> LogBuffer | None:
    """The buffer of the server this code runs for, or None in the learner's own code."""
    return _current.get()


def bind(buffer: LogBuffer) -> None:
    """Mark the calling thread's context (and what it spawns) as belonging to a server."""
    _current.set(buffer)


class _RoutedStream(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: server writes go to the server's buffer."""

    def __init__(self, original):
        self._original = original

    def write(self, text):
        buffer = _current.get()
        if buffer is None:
            return self._original.write(text)
        return buffer.write(text)

    def flush(self):
        if _current.get() is None:
            self._original.flush()

    def __getattr__(self, name):  # fileno, encoding, isatty, ipykernel's own attributes
        return getattr(self._original, name)


class _RoutingHandler(logging.Handler):
    """On the root logger: records logged for a server go to its buffer.

    Records from the learner's own code are left alone; when this handler is the
    only one they reach, it does what logging's last-resort handler would have
    done, so installing it hides none of the learner's warnings.
    """

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)-7s %(name)s: %(message)s"))

    def emit(self, record):
        buffer = _current.get()
        if buffer is not None:
            exc = record.exc_info[1] if record.exc_info else None
            buffer.add_record(self.format(record), exc)
        elif not self._others_handle(record) and record.levelno >= logging.lastResort.level:
            logging.lastResort.handle(record)

    def _others_handle(self, record) -> bool:
        logger = logging.getLogger(record.name)
        while logger:
            if any(h is not self for h in logger.handlers):
                return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False


_installed = threading.Lock()
_handler: _RoutingHandler | None = None


def install() -> None:
    """Route server output away from cells. Idempotent; called by every server start."""
    global _handler
    with _installed:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _RoutedStream):
                setattr(sys, name, _RoutedStream(stream))
        root = logging.getLogger()
        if _handler is None or _handler not in root.handlers:
            _handler = _RoutingHandler()
            root.addHandler(_handler)
