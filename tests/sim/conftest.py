"""A sandbox per test with a Crossplane profile, fast timings, an observer and a DNS client."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest
import yaml
from kubernetes import client, config

from tests.conftest import Sandbox
from tests.sim.observer import Observer

# shorter than the fast preset so each scenario takes seconds; still in the order the blueprint needs
TEST_TIMINGS = ("mr_poll=0.5", "backoff_min=0.2", "backoff_max=1", "xr_poll=0.25", "detection=1",
                "promotion=0.5", "failback=2", "dns_ttl=2")


@dataclass
class Platform:
    sandbox: Sandbox
    profile: str
    target: dict[str, Any]
    api: client.ApiClient
    observer: Observer
    nameserver: tuple[str, int]
    kubectl_env: dict[str, str]

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def managed(self, provider: str) -> list[dict[str, Any]]:
        return self.target["providers"][provider]["managedResources"]

    def kubectl_ref(self, mr: dict[str, Any]) -> list[str]:
        """``<plural>.<group>/<name>`` (and ``-n`` for a namespaced MR), as kubectl takes it."""
        group = mr["apiVersion"].split("/")[0]
        return [f"{mr['plural']}.{group}/{mr['name']}", *(["-n", mr["namespace"]] if mr.get("namespace") else [])]

    def dig(self, name: str = "api.xpchaos.test") -> tuple[list[str], int]:
        """Ask the sandbox's nameserver (UDP): the A answers and the SOA serial."""
        answer = dns.query.udp(dns.message.make_query(name, "A"), self.nameserver[0], port=self.nameserver[1],
                               timeout=2)
        addresses = sorted(r.address for rrset in answer.answer for r in rrset if r.rdtype == dns.rdatatype.A)
        soa = dns.query.udp(dns.message.make_query("xpchaos.test", "SOA"), self.nameserver[0],
                            port=self.nameserver[1], timeout=2)
        return addresses, soa.answer[0][0].serial

    def kubectl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=self.kubectl_env,
                              timeout=timeout)


@pytest.fixture
def platform_for(own_sandbox: Callable[..., Sandbox], tmp_path: Path) -> Iterator[Callable[[str], Platform]]:
    observers: list[Observer] = []

    def start(profile: str, crossplane: str = "v1") -> Platform:
        args = ["--profile", profile, "--speed", "fast", "--crossplane", crossplane]
        for timing in TEST_TIMINGS:
            args += ["--timing", timing]
        sandbox = own_sandbox(*args)
        state = json.loads((sandbox.state_dir / "state.json").read_text())
        target = yaml.safe_load(Path(state["target"]).read_text())
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
        host, port = state["dns"].rsplit(":", 1)
        env = dict(os.environ, KUBECONFIG=sandbox.kubeconfig, HOME=str(tmp_path))
        return Platform(sandbox, profile, target, api, observer, (host, int(port)), env)

    yield start
    for observer in observers:
        observer.stop()
