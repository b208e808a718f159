"""echo_project driven through the kit and the repo: real servers (uvicorn, daphne, workers), Redis, PostgreSQL.

echo_project's own tests, which need nothing but the folder, are in echo_project/echo/tests/ (`cd echo_project &&
pytest`); these need the workshop around it.
"""
