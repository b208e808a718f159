"""`make wheelhouse`: every wheel of the learner's pinned set, for offline installs at the workshop.

    python -m tools.wheelhouse                # Python 3.10-3.13 on Linux, macOS and Windows
    python -m tools.wheelhouse --here         # only this machine's Python and platform
    python -m tools.wheelhouse --here --dev   # and the dev extra's wheels (requirements-dev.txt)
    make lab OFFLINE=1                        # then installs from wheelhouse/ with no index

The stick holds what `pip install -e .` needs (requirements.txt), never the dev extra:
learners do not run the tests, the browser or lint. `make setup` runs the `--here` form
into .state/wheels and installs from there with no index (`make setup-dev` adds `--dev`),
so the same folder serves the tests that build fresh environments (the Binder test)
without the network.

The build backend pyproject.toml names (setuptools) is downloaded too: `pip install -e .`
with no index builds the project in an isolated environment made from these wheels.

Which packages a platform needs depends on environment markers (`uvloop` not on
Windows, `pywinpty` only there), and `pip download --platform` evaluates markers for
the machine it runs on. So each target is first resolved for *its* platform with
`uv pip compile --python-platform`, and the exact list is then downloaded with
`pip download --no-deps --only-binary=:all:`. Wheels only: an sdist needs a compiler
and build tools at install time. A package that publishes no wheel for a target is
named in the report ("incomplete"), and that platform has to install online: in
December 2026, cryptography and argon2-cffi-bindings (and, from Python 3.11, cbor2 and
autobahn, daphne's dependencies) had no wheels for Intel Macs.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import subprocess
import sys
import time

from . import REPO

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# name: (uv's --python-platform, pip's --platform tags that target accepts)
PLATFORMS = {
    "linux-x86_64": (
        "x86_64-manylinux_2_28",
        [
            "manylinux_2_28_x86_64",
            "manylinux_2_17_x86_64",
            "manylinux2014_x86_64",
            "manylinux_2_5_x86_64",
            "manylinux1_x86_64",
        ],
    ),
    "linux-aarch64": (
        "aarch64-manylinux_2_28",
        ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    ),
    "macos-arm64": (
        "aarch64-apple-darwin",
        [
            "macosx_26_0_arm64",
            "macosx_15_0_arm64",
            "macosx_14_0_arm64",
            "macosx_13_0_arm64",
            "macosx_12_0_arm64",
            "macosx_11_0_arm64",
            "macosx_10_9_universal2",
            "macosx_10_13_universal2",
            "macosx_11_0_universal2",
        ],
    ),
    "macos-x86_64": (
        "x86_64-apple-darwin",
        [
            "macosx_15_0_x86_64",
            "macosx_14_0_x86_64",
            "macosx_13_0_x86_64",
            "macosx_12_0_x86_64",
            "macosx_11_0_x86_64",
            "macosx_10_15_x86_64",
            "macosx_10_13_x86_64",
            "macosx_10_12_x86_64",
            "macosx_10_9_x86_64",
            "macosx_10_9_universal2",
            "macosx_10_13_universal2",
        ],
    ),
    "windows-amd64": ("x86_64-pc-windows-msvc", ["win_amd64"]),
}
UV = "uv==0.13.9"


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True)


def build_requirements(pyproject: pathlib.Path = REPO / "pyproject.toml") -> list[str]:
    """The `[build-system] requires` list (read with a regex: tomllib is Python 3.11+)."""
    section = re.search(r"^\[build-system\](.*?)(?=^\[)", pyproject.read_text(), re.S | re.M)
    listed = re.search(r"^requires\s*=\s*\[(.*?)\]", section.group(1), re.S | re.M) if section else None
    return re.findall(r'"([^"]+)"', listed.group(1)) if listed else []


def download_here(requirements: list[pathlib.Path], dest: pathlib.Path) -> bool:
    """This interpreter, this platform: what `make lab OFFLINE=1` (or `make setup-dev`) needs on this machine."""
    result = run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            *[arg for path in requirements for arg in ("-r", str(path))],
            *build_requirements(),
            "-d",
            str(dest),
        ]
    )
    if result.returncode:
        print(result.stderr.strip()[-2000:], file=sys.stderr)
    return result.returncode == 0


def download_target(requirements: pathlib.Path, dest: pathlib.Path, python: str, platform: str) -> str | None:
    """Resolve for one Python and platform, then download that exact list. Returns an error, or None."""
    uv_platform, tags = PLATFORMS[platform]
    locks = dest / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / f"{platform}-py{python}.txt"
    resolved = run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "compile",
            str(requirements),
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--python-platform",
            uv_platform,
            "--python-version",
            python,
            "-o",
            str(lock),
        ]
    )
    if resolved.returncode:
        return resolved.stderr.strip().splitlines()[-1] if resolved.stderr.strip() else "uv failed"
    platform_args = [arg for tag in tags for arg in ("--platform", tag)]
    pins = [line.strip() for line in lock.read_text().splitlines() if line.strip() and not line.startswith("#")]
    # The build backend's pins are downloaded on their own: the project may need another version at run time
    # (on Python 3.10, autobahn asks for a newer setuptools than the one pyproject.toml builds with), and one
    # pip download refuses two versions of a package. pip's isolated build picks the pinned one from the folder.
    built_with = run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
        + build_requirements()
    )
    if built_with.returncode:
        return "the build backend: " + (built_with.stderr.strip().splitlines() or ["pip download failed"])[-1]
    no_wheel = []
    for _ in range(10):  # each round sets aside one package that has no wheel for this target
        pinned = lock.with_suffix(".wheels.txt")
        pinned.write_text("\n".join(pin for pin in pins if pin.split(";")[0].strip() not in no_wheel) + "\n")
        downloaded = run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                python,
                *platform_args,
                "-r",
                str(pinned),
                "-d",
                str(dest),
            ]
        )
        if downloaded.returncode == 0:
            break
        missing = re.search(r"satisfies the requirement (\S+==\S+)", downloaded.stderr)
        if not missing or missing.group(1) in no_wheel:
            errors = [line for line in downloaded.stderr.splitlines() if line.startswith("ERROR")]
            return errors[0] if errors else "pip download failed"
        no_wheel.append(missing.group(1))
    return f"incomplete, no wheel for {', '.join(no_wheel)}: install online there" if no_wheel else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--here", action="store_true", help="only this machine's Python and platform")
    parser.add_argument("--dest", type=pathlib.Path, default=REPO / "wheelhouse")
    parser.add_argument("--requirements", type=pathlib.Path, default=REPO / "requirements.txt")
    parser.add_argument("--dev", action="store_true", help="with --here: the dev extra's wheels too")
    parser.add_argument("--python", action="append", choices=PYTHONS, help="limit to these (repeatable)")
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS), help="limit to these")
    args = parser.parse_args(argv)
    if args.dev and not args.here:
        parser.error("--dev is for --here (make setup-dev): the wheelhouse for the stick is the learner's set")
    args.dest.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    if args.here:
        extra = [REPO / "requirements-dev.txt"] if args.dev else []
        ok = download_here([args.requirements, *extra], args.dest)
        print(f"{'ok' if ok else 'FAILED'}: this machine's wheels in {args.dest}")
        return 0 if ok else 1
    if run([sys.executable, "-m", "uv", "--version"]).returncode:
        print(f"installing {UV} to resolve for other platforms", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", UV], check=True)
    failures = []
    for platform in args.platform or PLATFORMS:
        for python in args.python or PYTHONS:
            error = download_target(args.requirements, args.dest, python, platform)
            status = "ok    " if error is None else "note  " if error.startswith("incomplete") else "FAILED"
            print(f"{status} {platform} Python {python}" + (f": {error}" if error else ""), flush=True)
            if status == "FAILED":
                failures.append((platform, python))
    wheels = list(args.dest.glob("*.whl"))
    size = sum(wheel.stat().st_size for wheel in wheels) / 2**20
    took = time.monotonic() - began
    print(
        f"{len(wheels)} wheels, {size:.0f} MiB, in {args.dest} ({took / 60:.1f} minutes)"
        + (f"; {len(failures)} target(s) failed" if failures else "")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
