"""Settings for the echo chamber, read from the environment.

DEBUG          "1" (the default, for the workshop) or "0"
SECRET_KEY     required when DEBUG is off
ALLOWED_HOSTS  comma-separated; default "127.0.0.1,localhost"
REDIS_URL      e.g. redis://127.0.0.1:6379/0: use Redis as the channel layer
               (lesson 06); without it, an in-memory layer (one process only)
REDIS_LAYER    "core" (the default: RedisChannelLayer) or "pubsub" (RedisPubSubChannelLayer)
ECHO_MAX_MESSAGE_BYTES  the largest message a client may send; default 65536 (workshop/project.py
               gives uvicorn the same limit, --ws-max-size)
ECHO_MAX_JSON_DEPTH     how deep lists and objects in a message may nest; default 32
ECHO_MAX_ROOM_MESSAGE_BYTES  the largest message a room passes on and keeps; default 4096 (larger
               ones, up to ECHO_MAX_MESSAGE_BYTES, get {"error": ...})
ECHO_RATE_LIMIT   how many messages a second one connection may send, on average; default 30 (0: no
               limit). The echo (echo/) has none: it answers only its own client (see consumers.py)
ECHO_RATE_BURST   how many messages a connection may send at once before the rate applies; default 60
ECHO_MAX_ROOMS    how many rooms one server process serves at once; default 100: a join that would
               open one more is closed with 1013 (Try Again Later) and says why
ECHO_MAX_ROOMS_PER_CLIENT  how many of those rooms one client address may have opened at once; default
               20: one client cannot take every room (0: no bound)
ECHO_CONSUMERS "stock" (the default: echo/consumers.py) or "tuned" (echo/tuned.py: faster, and
               reaches into Channels' internals; its in-memory layer and the WebSocket routes' auth
               stack, asgi.py, are tuned too)
DATABASE_URL   where rooms keep their history; default sqlite:///<echo_project>/db.sqlite3
ECHO_HISTORY_LENGTH    how many of a room's last messages a newcomer receives; default 20 (0: none
               are kept)
ECHO_HISTORY_READ_TIMEOUT  seconds a newcomer waits for the history; default 3 (then {"history": null})
ECHO_HISTORY_QUEUE     how many messages a server process holds to store; default 10000 (see below:
               what it costs; more are not stored, and newcomers are told the history is incomplete)
ECHO_HISTORY_RETENTION how many messages each room keeps in the database; default 1000
ECHO_DATABASE_TIMEOUT  seconds a query waits for a lock, a connection or a statement; default 10
ECHO_LAYER_TIMEOUT  seconds a call to Redis's channel layer (join, leave, send) may take; default 10: a hung
               Redis fails it as a Redis that is down does (a close with 1011, a join refused with 1013)
ECHO_LAYER_CAPACITY    how many events a member's channel holds before the layer drops more; default
               1000 (see "capacity" below: what it costs)
ECHO_REDIS_MAX_CONNECTIONS  the most connections to Redis one server process opens; default 1000
ECHO_FRAME_ANCESTORS   who may show the page in a frame while DEBUG is on (see "Framing" below)
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DEBUG", "1").lower() in {"1", "true", "yes", "on"}

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment: it is required when DEBUG is off.")
    SECRET_KEY = "django-insecure-workshop-only"

ALLOWED_HOSTS = [
    host.strip() for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if host.strip()
]

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves WebSockets too
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "echo",  # before channels: its runworker (a worker that skips jobs with no "type") replaces Channels'
    "channels",
    "classroom",  # the workshop evening's classroom (issue 26): classroom/consumers.py
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "echo_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

WSGI_APPLICATION = "echo_project.wsgi.application"
ASGI_APPLICATION = "echo_project.asgi.application"

# The rooms' history lives here: a SQLite file next to manage.py unless DATABASE_URL says otherwise
# (postgres://user:password@host:5432/name in production). Create the tables with `manage.py migrate`.
# No persistent connections (CONN_MAX_AGE 0): "When using ASGI, persistent connections should be
# disabled" (https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections).
DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# How long a query may wait for the database (a lock, a connection, a statement) before it fails: a
# locked or hung database costs some history, never a member's conversation (issue 22).
ECHO_DATABASE_TIMEOUT = int(os.environ.get("ECHO_DATABASE_TIMEOUT", 10))  # seconds
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # "timeout": how long a write waits for another's lock before "database is locked" (Python's sqlite3).
    # WAL: readers never wait for the writer, nor the writer for them (https://sqlite.org/wal.html).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": ECHO_DATABASE_TIMEOUT, "init_command": "PRAGMA journal_mode=WAL"}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # libpq waits forever by default: for a connection (connect_timeout), and for a statement, a lock
    # included (statement_timeout, in milliseconds; https://www.postgresql.org/docs/current/runtime-config-client.html).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"connect_timeout": ECHO_DATABASE_TIMEOUT, "options": f"-c statement_timeout={ECHO_DATABASE_TIMEOUT * 1000}"}
    )
# Sessions in signed cookies: the echo chamber needs no database table to know who is who.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

# --- The echo chamber: channel layer, consumers, limits (issue 12) ---
ECHO_CONSUMERS = os.environ.get("ECHO_CONSUMERS", "stock")
if ECHO_CONSUMERS not in {"stock", "tuned"}:
    raise ImproperlyConfigured(f"ECHO_CONSUMERS must be 'stock' or 'tuned', not {ECHO_CONSUMERS!r}")

REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_LAYERS = {
    # channels_redis.core.RedisChannelLayer, whose clean-up cannot fail unseen when Redis goes away
    "core": "echo.layers.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
# Capacity: how many events a member's channel holds that its consumer has not taken yet. Beyond
# it, group_send drops the event for that member without a word (Channels' layers swallow ChannelFull),
# so a room must hold a burst: 200 members leaving at once are 200 "left" events for each member
# who stays. Channels' default of 100 lost 81-98 of them (issue 22); 1000 holds a burst of 200
# joins and 200 leaves with room to spare (workshop: tests/echo_project/test_presence.py). What it costs, when a member
# stops reading and its channel fills up: in memory, about 0.45 KiB per queued event for that member
# (0.45 MiB at 1000, benchmarks/layer_capacity_memory.py: the event's dict is copied per member, its
# text is shared) plus the text of the messages still queued (at most 1000 x 4 KiB = 4 MiB a room);
# with Redis, the same events wait in Redis, serialized, one copy per server process. A member that
# keeps not reading is closed by uvicorn's ping timeout (40 s); queued events expire after 60 s.
ECHO_LAYER_CAPACITY = int(os.environ.get("ECHO_LAYER_CAPACITY", 1000))
# redis-py 8 gives each layer a pool of 100 connections and raises MaxConnectionsError at once when
# all are in use: 200 joins at the same moment got 101 HTTP 500s. Each layer call holds a connection
# while it runs, and a consumer makes one call at a time, so the pool allows as many connections as
# uvicorn serves (--limit-concurrency 1000). They are opened only when a burst needs them, then kept:
# each is a file descriptor in the server (allow it `ulimit -n` 2048 or more) and a client in Redis
# (its maxclients is 10,000), about 20 KiB of memory there.
ECHO_REDIS_MAX_CONNECTIONS = int(os.environ.get("ECHO_REDIS_MAX_CONNECTIONS", 1000))
# How long a call to Redis's channel layer may take (group_add, group_discard, group_send, send: see
# echo/layers.py). Its connections have no socket timeout (see below), so without one a Redis that hangs
# (stopped, or its machine gone without a word) would hold every join, message and leave until it came back.
ECHO_LAYER_TIMEOUT = float(os.environ.get("ECHO_LAYER_TIMEOUT", 10))

if REDIS_URL:
    REDIS_LAYER = os.environ.get("REDIS_LAYER", "core")
    if REDIS_LAYER not in REDIS_LAYERS:
        raise ImproperlyConfigured(f"REDIS_LAYER must be one of {sorted(REDIS_LAYERS)}, not {REDIS_LAYER!r}")
    # socket_timeout None: a layer's receive blocks on Redis (BZPOPMIN) for up to 5 s at a time, and
    # redis-py 8 times a read out after 5 s by default, which dropped every member of a quiet room
    # (django/channels_redis#422, redis/redis-py#4091). Redis's own timeouts still apply.
    # retry_on_error: once Redis restarts, every connection the pool kept from before fails when next used;
    # redis-py 8 retries none by default (Retry(NoBackoff(), 0) when neither retry nor retry_on_error is given,
    # redis/asyncio/connection.py), so each would cost a join or a message. With it, a connection that fails
    # is dropped and the command tried once more on a new one. The cost: a command that reached Redis before its
    # connection broke runs twice (a message said twice); a stale connection never reached the new Redis.
    from redis.exceptions import ConnectionError as RedisConnectionError

    REDIS_RETRY_ON_ERROR = [RedisConnectionError]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": REDIS_LAYERS[REDIS_LAYER],
            "CONFIG": {
                # Each host's options go to redis-py's ConnectionPool.from_url (channels_redis.utils.create_pool).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "max_connections": ECHO_REDIS_MAX_CONNECTIONS,
                        "retry_on_error": REDIS_RETRY_ON_ERROR,
                    }
                ],
                "capacity": ECHO_LAYER_CAPACITY,
            },
        }
    }
else:
    # Channels' in-memory layer (one process only); the tuned one sweeps expired messages less often.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": {"stock": "channels.layers.InMemoryChannelLayer", "tuned": "echo.tuned.InMemoryChannelLayer"}[
                ECHO_CONSUMERS
            ],
            "CONFIG": {"capacity": ECHO_LAYER_CAPACITY},
        }
    }

ECHO_MAX_MESSAGE_BYTES = int(os.environ.get("ECHO_MAX_MESSAGE_BYTES", 64 * 1024))
ECHO_MAX_JSON_DEPTH = int(os.environ.get("ECHO_MAX_JSON_DEPTH", 32))
# A room sends what a member says to every member and keeps the last 20 messages for newcomers:
# a smaller limit than the echo's keeps both small (20 x 4 KiB of history on joining, not 20 x 64).
ECHO_MAX_ROOM_MESSAGE_BYTES = int(os.environ.get("ECHO_MAX_ROOM_MESSAGE_BYTES", 4 * 1024))
# What one connection may send: a token bucket (echo/consumers.py, CarefulJsonWebsocketConsumer). It holds
# ECHO_RATE_BURST tokens and gains ECHO_RATE_LIMIT a second; each message takes one. A message that finds
# none is answered {"error": ...} and not handled, and still takes one: a client that keeps on sending
# while refused is closed with 1008 (policy violation) once it owes a whole burst. 30 a second is more than
# anyone types (the page sends a message per key, a paste as one message); the heaviest ordinary traffic
# of issue 22 is 20 a second per connection. A room sends each message to every member and keeps it:
# without a limit one connection stored 295 rows a second.
ECHO_RATE_LIMIT = float(os.environ.get("ECHO_RATE_LIMIT", 30))
ECHO_RATE_BURST = int(os.environ.get("ECHO_RATE_BURST", 60))
# How many rooms one process serves at once (rooms with a member connected to this process). A join that
# would open one more is accepted, then closed with 1013 (Try Again Later) and a reason; the rooms already
# open take newcomers as usual. Each room costs a group in the layer and its presence here, and its
# history rows in the database (bounded per room by the history's retention, not here).
ECHO_MAX_ROOMS = int(os.environ.get("ECHO_MAX_ROOMS", 100))
# How many of those rooms one client address may have opened (been the first member of) and still open: a
# client that opens rooms until none is left hurts only itself. The address is the connection's (ASGI's
# scope["client"]; behind a proxy, the one uvicorn takes from X-Forwarded-For when the proxy is trusted:
# echo_project/README.md). Clients behind one NAT share it. A connection with no address (a Unix socket
# without proxy headers) has no such bound. 0: no bound.
ECHO_MAX_ROOMS_PER_CLIENT = int(os.environ.get("ECHO_MAX_ROOMS_PER_CLIENT", 20))
# How many of a room's last messages a newcomer receives; 0: rooms keep nothing (and store nothing).
ECHO_HISTORY_LENGTH = int(os.environ.get("ECHO_HISTORY_LENGTH", 20))
# How long a newcomer waits for the history; then it gets {"history": null, "error": ...}.
ECHO_HISTORY_READ_TIMEOUT = float(os.environ.get("ECHO_HISTORY_READ_TIMEOUT", 3))
# Messages go to the room first, then into a queue that one writer thread per process stores in batches
# (echo/history.py): whatever the database does, no member waits for it. The queue holds the room's
# messages while the database is slower than the rooms (10 ms per insert is 100 messages a second), or
# down: 10,000 is 50 s of a room of 10 members saying 20 things a second. What it costs: each queued
# message is its JSON text, at most ECHO_MAX_ROOM_MESSAGE_BYTES (4 KiB), and about 0.3 KiB of tuple,
# strings and deque around it: 0.5 MiB for 10,000 one-word messages, 44 MiB at most (10,000 x 4.3 KiB).
# Beyond it, a message is not stored: the log counts it, and newcomers are told the history is incomplete.
ECHO_HISTORY_QUEUE = int(os.environ.get("ECHO_HISTORY_QUEUE", 10_000))
# How many messages each room keeps: the writer deletes older ones after each batch. 1000 rows of at
# most 4 KiB: 4 MiB per room at most (one client alone stored 295 rows a second, issue 22).
ECHO_HISTORY_RETENTION = max(int(os.environ.get("ECHO_HISTORY_RETENTION", 1000)), ECHO_HISTORY_LENGTH, 1)

# Error reports (the DEBUG page included) mask credentials in URLs: REDIS_URL, the layer's hosts.
DEFAULT_EXCEPTION_REPORTER_FILTER = "echo.layers.CredentialsFilter"
# --- end of the echo chamber's block ---

# --- Framing: who may show the page inside a frame (lesson 04 shows it inside JupyterLab) ---------
# XFrameOptionsMiddleware sends "X-Frame-Options: DENY": no site may frame the page (clickjacking).
# With DEBUG on, the page instead names who may frame it, in a Content-Security-Policy
# frame-ancestors directive, which browsers obey in place of X-Frame-Options: itself and any port
# of this machine, where the learner's JupyterLab runs. ECHO_FRAME_ANCESTORS (CSP sources,
# space-separated) replaces that list; empty, or DEBUG off without it, keeps DENY.
ECHO_FRAME_ANCESTORS = os.environ.get(
    "ECHO_FRAME_ANCESTORS", "'self' http://127.0.0.1:* http://localhost:*" if DEBUG else ""
).split()
# --- end of framing ---

# --- The HTTP surface (issue 23): error reports and cheap refusals --------------------------------
# Error reports mask every credential in the settings: a URL's user and password, and any query
# parameter named like a secret (redis://host/0?password=...), with Django's own pattern
# (echo/error_reports.py). This replaces the filter named in the echo chamber's block above.
DEFAULT_EXCEPTION_REPORTER_FILTER = "echo.error_reports.SettingsCredentialsFilter"
# First of all: a spoofed Host gets a one-line 400 instead of the 69 KB technical page, and TRACE a
# 405, on the event loop (echo/middleware.py).
MIDDLEWARE = ["echo.middleware.cheap_refusals", *MIDDLEWARE]
# --- end of the HTTP surface ---

# --- The classroom (issue 26): every attendee's checks on the projector, live ----------------------
# CLASSROOM_CODE     the join code attendees give join_classroom(...); empty (the default): every join is refused
# CLASSROOM_TOKEN    the instructor's token (reset, CSV export); empty: the instructor's view refuses everyone
# `make classroom` (python -m workshop.classroom) draws both at random and prints them.
CLASSROOM_CODE = os.environ.get("CLASSROOM_CODE", "")
CLASSROOM_TOKEN = os.environ.get("CLASSROOM_TOKEN", "")
# Seats: the names that joined this evening (a name that reconnects keeps its seat). Each costs a row, and a
# result per exercise it ran: 100 x 14 rows at most.
CLASSROOM_MAX_ATTENDEES = int(os.environ.get("CLASSROOM_MAX_ATTENDEES", 100))
# How many names one address may seat: a laptop has one attendee (all its notebooks join under one name), so a
# client with the code cannot fill the room with made-up names. Attendees behind one NAT share an address.
CLASSROOM_SEATS_PER_ADDRESS = int(os.environ.get("CLASSROOM_SEATS_PER_ADDRESS", 3))
CLASSROOM_MAX_NAME = 30  # characters: a name fits a projector's column (models.Attendee.name too)
# A notebook reports once per check it runs: a learner runs a check every few seconds at most. A burst of 20
# holds what a kit sends on reconnecting (one report per exercise, 14); more than that is a flood, closed
# with 1008 once it owes a whole burst (echo/consumers.py, CarefulJsonWebsocketConsumer).
CLASSROOM_RATE_LIMIT = float(os.environ.get("CLASSROOM_RATE_LIMIT", 2))
CLASSROOM_RATE_BURST = int(os.environ.get("CLASSROOM_RATE_BURST", 20))
# The projector highlights whoever has failed the same check for longer than this.
CLASSROOM_STUCK_MINUTES = float(os.environ.get("CLASSROOM_STUCK_MINUTES", 5))
# --- end of the classroom ---

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# `manage.py runworker` says which channels it serves (at INFO, which Django's default logging
# shows only while DEBUG is on): a worker's log says it is ready in production too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.channels.worker": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
