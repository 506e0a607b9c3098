"""Sandboxes for the preflight tests, started the way a user does (``xpchaos sandbox up --detach -o json``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import sandboxes


@pytest.fixture(scope="module")
def sandbox_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str], Path]]:
    """``start(profile, speed)``: the target.yaml of a sandbox started for this module (one per combination)."""
    started: dict[tuple[str, str], sandboxes.Sandbox] = {}

    def start(profile: str, speed: str) -> Path:
        if (profile, speed) not in started:
            state_dir = tmp_path_factory.mktemp(f"sandbox-{profile}-{speed}")
            started[(profile, speed)] = sandboxes.up(state_dir, "--profile", profile, "--speed", speed)
        target = started[(profile, speed)].target_path
        assert target is not None
        return target

    yield start
    for box in started.values():
        sandboxes.down(box.state_dir)
