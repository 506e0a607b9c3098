"""A sandbox per test with a Crossplane profile, fast timings, an observer and a DNS client."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import config

from tests.sandbox.crossplane.observer import Observer
from tests.sandbox.crossplane.platform import Platform
from tests.support.sandboxes import Sandbox, fast


@pytest.fixture
def platform_for(own_sandbox: Callable[..., Sandbox], kubectl_bin: str,
                 tmp_path: Path) -> Iterator[Callable[..., Platform]]:
    """``start(profile, crossplane="v1")``: a simulated platform at the test timings, watched from the start."""
    observers: list[Observer] = []

    def start(profile: str, crossplane: str = "v1") -> Platform:
        sandbox = own_sandbox(*fast(profile), "--crossplane", crossplane)
        assert sandbox.target_path is not None and sandbox.dns is not None
        target = yaml.safe_load(sandbox.target_path.read_text())
        api = config.new_client_from_config(config_file=sandbox.kubeconfig)
        observer = Observer(api)
        observers.append(observer)
        for provider in target["providers"].values():
            for plural in {(m["apiVersion"], m["plural"]) for m in provider["managedResources"]}:
                group, version = plural[0].split("/")
                observer.watch_custom(group, version, plural[1])
        observer.watch_custom("database.example.org", "v1alpha1", "xglobaldatabases")
        provider_config = target["providers"]["aws"]["providerConfig"]
        pc_group, pc_version = provider_config["apiVersion"].split("/")
        observer.watch_custom(pc_group, pc_version, provider_config["plural"])
        observer.watch_events()
        host, port = sandbox.dns.rsplit(":", 1)
        env = {**os.environ, "KUBECONFIG": sandbox.kubeconfig, "HOME": str(tmp_path)}
        return Platform(sandbox, profile, target, api, observer, (host, int(port)), kubectl_bin, env)

    yield start
    for observer in observers:
        observer.stop()
