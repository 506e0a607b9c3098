"""A private sandbox per test (fast timings), and recorders stopped whatever the test did."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from kubernetes import config

from tests.probes.cluster import Cluster
from tests.support.sandboxes import Sandbox, fast
from xpchaos.core import target as targets
from xpchaos.probes.recorder import TimelineRecorder


@pytest.fixture
def cluster_for(own_sandbox: Callable[..., Sandbox]) -> Callable[..., Cluster]:
    """``start(profile, *server_args)``: a sandbox of that profile at the test timings."""

    def start(profile: str, *extra: str) -> Cluster:
        sandbox = own_sandbox(*fast(profile), *extra)
        return Cluster(sandbox, sandbox.target, config.new_client_from_config(config_file=sandbox.kubeconfig))

    return start


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
