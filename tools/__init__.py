"""Maintainer tools: the wheelhouse, slides, and exercises/ made from solutions/.

Not for learners, and not installed: run them from the checkout, `python -m tools.NAME`
(the Makefile does). The wheelhouse runs before anything is installed: it imports
nothing but the standard library.
"""

import pathlib

REPO = pathlib.Path(__file__).resolve().parent.parent
