"""Finding and launching the machine's own Chromium, for the browser tests and the preflight.

The workshop never downloads a browser: it uses the one the system has (Debian's
``chromium``), driven by Playwright through ``executable_path``.
"""

from __future__ import annotations

import shutil

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags for a sandboxed machine with no network: no first-run work, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """The path of the first Chromium or Chrome on PATH, or None."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def launch_chromium(playwright, **options):
    """A headless Chromium from Playwright's sync or async API, with the flags above."""
    executable = find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium found: sudo apt-get install chromium")
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS, **options)
