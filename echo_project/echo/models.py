"""What the echo chamber keeps: the messages said in each room, so that later arrivals can read them."""

from django.db import models


class Message(models.Model):
    """One message a member sent to a chamber room: who said what, where and when."""

    room = models.CharField(max_length=50)  # the same pattern as the route: [A-Za-z0-9_-]{1,50}
    who = models.CharField(max_length=40)
    message = models.JSONField()  # any JSON value the member sent; it was parsed and checked before
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        # "the last N messages of a room" reads this index backwards
        indexes = [models.Index(fields=["room", "id"], name="echo_message_room_id")]

    def __str__(self):
        return f"{self.who} in {self.room}: {self.message!r}"[:80]
