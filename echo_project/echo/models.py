"""What the echo chamber keeps: the messages said in each room, so that later arrivals can read them."""

import time

from django.db import models


def now_in_microseconds() -> int:
    """A number for a row stored without one (a view, a script): the time, above every number given before it."""
    return time.time_ns() // 1000


class Message(models.Model):
    """One message a member sent to a chamber room: who said what, where and when, and its place in the room."""

    room = models.CharField(max_length=50)  # the same pattern as the route: [A-Za-z0-9_-]{1,50}
    # The room's sequence number, given when the room heard it (echo/history.py): the history's order; a
    # newcomer's history holds the rows numbered up to the room's number when it joined. Rows stored before
    # numbering have their id (migration 0002), below every number given since. A row stored without one gets
    # the time in microseconds: above the numbers before it, but above those of a room whose numbers started
    # before it too, so newcomers see it only once that room's numbers start anew. Code that stores a
    # message for a room numbers it with echo.history.next_seq, as `manage.py announce` does.
    seq = models.BigIntegerField(default=now_in_microseconds)
    who = models.CharField(max_length=40)
    # Any JSON value the member sent; it was parsed and checked before. Kept as a value, not as text: PostgreSQL's
    # jsonb orders an object's keys its own way and stores numbers as numeric (-0.0 comes back as 0.0).
    message = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        # "the last N messages of a room" reads this index backwards
        indexes = [models.Index(fields=["room", "seq"], name="echo_message_room_seq")]

    def __str__(self):
        return f"{self.who} in {self.room}: {self.message!r}"[:80]
