"""setuptools' build backend (pyproject.toml's [build-system]), without one notice that reads like a failure.

pyproject.toml maps three packages from two folders (workshop/, echo_project/echo_project/,
echo_project/echo/), so setuptools 80 makes `pip install -e .` with a meta path finder, and then
always warns, in a box of asterisks, to "be careful with folders in your working directory with the
same name as your package": here those folders *are* the packages. Recent pip (26.3, which `make`
installs; 23.2 did not) prints a build backend's warnings even with --quiet, so every `make` showed
the box, and learners took it for a broken install. Only that notice (setuptools' InformationOnly
category) is silenced, and only while an editable wheel is built; every other warning still shows.
"""

import warnings

from setuptools import build_meta
from setuptools.build_meta import (
    build_sdist,
    build_wheel,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)
from setuptools.warnings import InformationOnly

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=InformationOnly)
        return build_meta.build_editable(wheel_directory, config_settings, metadata_directory)
