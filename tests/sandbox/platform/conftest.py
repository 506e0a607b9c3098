"""Sandboxes shaped by ``--platform`` (the ``realistic`` preset, or a SandboxPlatform file a test writes), reached
like a real cluster: the official client, the pinned kubectl, and the ground truth the sandbox writes in
``platform.json``.

The ``realistic`` sandbox is shared by a module's tests, which only read it; a test that breaks something (a
credential, a NetworkPolicy) starts a small platform of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.sandbox.platform.platforms import Platform
from tests.support import sandboxes
from tests.support.waiting import wait_for


@pytest.fixture
def write_platform(tmp_path: Path) -> Callable[..., Path]:
    def write(doc: dict[str, Any], filename: str = "platform.yaml") -> Path:
        path = tmp_path / filename
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return write


@pytest.fixture
def start_platform(tmp_path: Path) -> Iterator[Callable[..., Platform]]:
    """Start sandboxes of a platform (a preset name or a file) at the test timings; all stopped afterwards."""
    started: list[tuple[Path, client.ApiClient]] = []

    def start(choice: str | Path, profile: str = "stock", *extra: str) -> Platform:
        state_dir = tmp_path / f"sandbox-{len(started)}"
        box = sandboxes.start(state_dir, *sandboxes.fast(profile), "--platform", str(choice), *extra)
        api = config.new_client_from_config(config_file=box.kubeconfig)
        started.append((state_dir, api))
        home = tmp_path / f"home-{len(started)}"
        home.mkdir()
        return Platform(box, api, home)

    yield start
    for state_dir, api in started:
        api.close()
        sandboxes.stop(state_dir)


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The ``realistic`` preset with the blueprint, shared by a module's read-only tests; every XR Ready first."""
    state_dir = tmp_path_factory.mktemp("realistic")
    box = sandboxes.start(state_dir, *sandboxes.fast("blueprint"), "--platform", "realistic")
    api = config.new_client_from_config(config_file=box.kubeconfig)
    home = tmp_path_factory.mktemp("home")
    try:
        platform = Platform(box, api, home)
        wait_for(lambda: all(platform.ready(c["name"]) for c in platform.truth["composites"]), 30,
                 what="every XR of the realistic platform Ready")
        yield platform
    finally:
        api.close()
        sandboxes.stop(state_dir)

