"""Where the workshop keeps its state: inside the repo, never in the learner's home."""

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parent.parent


def state_dir(*parts: str) -> pathlib.Path:
    """A folder under .state/ (or $WORKSHOP_STATE_DIR), created on first use."""
    path = pathlib.Path(os.environ.get("WORKSHOP_STATE_DIR") or REPO / ".state").joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
