"""What the evening keeps: who joined, and each attendee's last outcome on each exercise.

In the database, not in memory: the instructor exports it after the event (CSV), and a classroom that is
restarted mid-evening still shows the grid. Who is connected right now is not here: it lives and dies with
the connections (``consumers.PRESENT``), as the echo chamber's presence does.
"""

from django.db import models


class Attendee(models.Model):
    name = models.CharField(max_length=30, unique=True)
    # The name belongs to whoever joined with it first: a hash of the key their laptop drew (workshop/classroom.py),
    # never the key itself. Their other notebooks join with the same key; anyone else is refused the name.
    key_hash = models.CharField(max_length=64, blank=True)
    address = models.CharField(max_length=64, blank=True)  # where it joined from: seats per address are bounded
    joined = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Result(models.Model):
    """One attendee's latest outcome on one exercise: ✓, or a hint and its short category."""

    PASSED, HINT = "passed", "hint"

    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="results")
    exercise = models.CharField(max_length=40)
    outcome = models.CharField(max_length=10, choices=[(PASSED, "✓"), (HINT, "hint")])
    category = models.CharField(max_length=40, blank=True)  # the hint's short category; empty when passed
    runs = models.PositiveIntegerField(default=0)  # how many times the check ran
    failing_since = models.DateTimeField(null=True)  # the first of the hints in a row on this exercise
    updated = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["attendee", "exercise"], name="classroom_one_result")]
