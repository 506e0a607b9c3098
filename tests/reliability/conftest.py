"""Sandboxes for the reliability tests: the blueprint at the fast test timings, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import sandboxes
from tests.support.sandboxes import Sandbox


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.platform(tmp_path_factory.mktemp("blueprint"), "blueprint") as box:
        yield box
