"""Recorders stopped whatever the test did (a private sandbox per test: ``cluster_for``, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from xpchaos.core import target as targets
from xpchaos.probes.recorder import TimelineRecorder


@pytest.fixture
def recorders() -> Iterator[Callable[..., TimelineRecorder]]:
    """Recorders stopped at teardown whatever the test did."""
    started: list[TimelineRecorder] = []

    def start(target: targets.Target, **options: object) -> TimelineRecorder:
        rec = TimelineRecorder(target, **options).start()  # type: ignore[arg-type]
        started.append(rec)
        return rec

    yield start
    for rec in started:
        rec.stop()
