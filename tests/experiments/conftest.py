"""The experiments as users run them: real sandboxes started with ``xpchaos sandbox up``, the real ``chaos`` and
``xpchaos`` command lines in their own processes, a private HOME and undo log per run.

Each module shares one sandbox per kind (module-scoped); runs on one sandbox are sequential and each starts only
once the steady state holds again (the XR Ready, every nameserver answering the primary), waited for with a
deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import sandboxes
from tests.support.runs import Run
from tests.support.sandboxes import Sandbox


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The seed's failover design: losing AWS moves traffic to Azure in seconds (fast timings)."""
    with sandboxes.platform(tmp_path_factory.mktemp("blueprint"), "blueprint") as box:
        yield box


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Plain Crossplane: nothing fails over."""
    with sandboxes.platform(tmp_path_factory.mktemp("stock"), "stock") as box:
        yield box


@pytest.fixture(scope="module")
def slow_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The blueprint with a 30 s detection: the failover probe is still waiting long after the fault is in place,
    so a signal reliably arrives mid-run."""
    with sandboxes.platform(tmp_path_factory.mktemp("slow-blueprint"), "blueprint", "detection=30") as box:
        yield box


@pytest.fixture
def run_dir(tmp_path: Path) -> Run:
    return Run(tmp_path)
