"""The evening's state in the database: seats, outcomes, the grid, the CSV. Plain (synchronous) Django ORM:
the consumers call these through ``database_sync_to_async``, the instructor's views directly."""

import csv
import hashlib
import io
import secrets
from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction

from .exercises import EXERCISES
from .models import Attendee, Result

SEATED, TAKEN, FULL, TOO_MANY_HERE = "seated", "taken", "full", "too many here"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def seat(name: str, key: str, address: str | None) -> str:
    """Give ``name`` a seat for the evening, bound to ``key``; say why not (``TAKEN``: the name is someone else's,
    ``FULL``, or ``TOO_MANY_HERE``: ``address`` has taken ``settings.CLASSROOM_SEATS_PER_ADDRESS`` seats already).
    A name keeps its seat all evening, for whoever holds its key: their other notebooks, a reconnection."""
    with transaction.atomic():
        found = Attendee.objects.filter(name=name).first()
        if found is not None:
            return SEATED if secrets.compare_digest(found.key_hash, key_hash(key)) else TAKEN
        if Attendee.objects.count() >= settings.CLASSROOM_MAX_ATTENDEES:
            return FULL
        here = Attendee.objects.filter(address=address or "").count()
        if address and here >= settings.CLASSROOM_SEATS_PER_ADDRESS:
            return TOO_MANY_HERE
        Attendee.objects.create(name=name, key_hash=key_hash(key), address=address or "")
        return SEATED


def record(name: str, key: str, address: str | None, exercise: str, outcome: str, category: str, now: datetime) -> dict:
    """Keep an attendee's latest outcome on ``exercise``; a hint after a hint keeps when the failing began.

    Returns the attendee's row (connected: it is reporting), read in the same call: one trip to the
    database's thread per report, not two."""
    with transaction.atomic():
        attendee, _ = Attendee.objects.get_or_create(  # the evening was reset meanwhile: seated again
            name=name, defaults={"key_hash": key_hash(key), "address": address or ""}
        )
        result, _ = Result.objects.select_for_update().get_or_create(
            attendee=attendee, exercise=exercise, defaults={"outcome": outcome, "updated": now}
        )
        if outcome == Result.HINT:
            if result.runs == 0 or result.outcome != Result.HINT or result.failing_since is None:
                result.failing_since = now
        else:
            result.failing_since = None
        result.outcome, result.category, result.updated = outcome, category, now
        result.runs += 1
        result.save()
    return row(name, present=True)


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def row(name: str, present: bool) -> dict:
    """One line of the grid: the attendee, whether connected now, and their outcome on each exercise."""
    results = Result.objects.filter(attendee__name=name)
    return {
        "name": name,
        "present": present,
        "results": {
            result.exercise: {
                "outcome": result.outcome,
                "category": result.category,
                "runs": result.runs,
                "failing_since": _seconds(result.failing_since),
            }
            for result in results
        },
    }


def grid(present: set[str]) -> dict:
    """Everything the projector shows: the exercises, and a row per attendee (seated or connected)."""
    names = set(Attendee.objects.values_list("name", flat=True)) | set(present)
    return {
        "exercises": [{"lesson": lesson, "id": exercise} for lesson, exercise in EXERCISES],
        "stuck_minutes": settings.CLASSROOM_STUCK_MINUTES,
        "rows": [row(name, name in present) for name in sorted(names, key=str.casefold)],
    }


def reset() -> None:
    """A new evening: every seat and result is forgotten (who is connected stays, with an empty row)."""
    Attendee.objects.all().delete()


def as_csv() -> str:
    """The grid as CSV, one line per attendee and exercise they ran: for after the event."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["attendee", "lesson", "exercise", "outcome", "category", "runs", "failing_since", "updated"])
    lessons = dict((exercise, lesson) for lesson, exercise in EXERCISES)
    for result in Result.objects.select_related("attendee").order_by("attendee__name", "exercise"):
        writer.writerow(
            [
                _safe_cell(result.attendee.name),
                lessons.get(result.exercise, ""),
                result.exercise,
                result.outcome,
                result.category,
                result.runs,
                _iso(result.failing_since),
                _iso(result.updated),
            ]
        )
    return out.getvalue()


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _safe_cell(text: str) -> str:
    """A name a spreadsheet would run as a formula (=, +, -, @ first) is kept as text: a quote before it."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
