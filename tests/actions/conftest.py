"""A private stock sandbox per test (fast timings), steady, with its own undo log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kubernetes import config

from tests.actions.cluster import Cluster
from tests.support.sandboxes import Sandbox, fast


@pytest.fixture
def cluster_for(own_sandbox: Callable[..., Sandbox], tmp_path: Path) -> Callable[[str], Cluster]:
    """A stock sandbox of the given Crossplane generation, steady, with its own undo log."""

    def start(crossplane: str = "v1") -> Cluster:
        sandbox = own_sandbox(*fast("stock"), "--crossplane", crossplane)
        target_path = sandbox.state_dir / "target.yaml"
        target = yaml.safe_load(target_path.read_text())
        api = config.new_client_from_config(config_file=sandbox.kubeconfig)
        c = Cluster(sandbox, target_path, tmp_path / f"xpchaos-{crossplane}" / "undo.jsonl", target, api)
        c.steady()
        return c

    return start


@pytest.fixture
def cluster(cluster_for: Callable[[str], Cluster]) -> Cluster:
    return cluster_for("v1")
