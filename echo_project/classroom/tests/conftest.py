"""The classroom's tests get the database echo's tests get (see echo/tests/conftest.py): reports are stored from a
thread of their own."""

from echo.tests.conftest import django_db_modify_db_settings  # noqa: F401 (a fixture)
