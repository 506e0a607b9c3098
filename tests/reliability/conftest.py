"""Sandboxes for the reliability tests: the blueprint at the fast test timings, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.experiments.conftest import Sandbox, start_sandbox


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from start_sandbox(tmp_path_factory.mktemp("blueprint"), "blueprint")
