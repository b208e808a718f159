"""echo_project's tests (`pytest` in echo_project/): pytest-django sets Django up (pytest.ini); this names the database.

The test database is a SQLite file in pytest's temporary folder, one per process (each xdist worker), never
db.sqlite3: not SQLite's in-memory database, pytest-django's default, whose tables, shared between threads,
take locks that never wait (https://sqlite.org/sharedcache.html). Rooms store their history from a thread of
their own while the test's thread reads it, or empties the tables after a test.
"""

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")
