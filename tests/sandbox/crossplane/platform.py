"""A simulated platform as the fault tests see it: its target file, an observer watching it, its nameserver, and
kubectl (the pinned one) against its kubeconfig."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
from kubernetes import client

from tests.sandbox.crossplane.observer import Observer
from tests.support.sandboxes import Sandbox


@dataclass
class Platform:
    sandbox: Sandbox
    profile: str
    target: dict[str, Any]
    api: client.ApiClient
    observer: Observer
    nameserver: tuple[str, int]
    kubectl_bin: str
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
        return subprocess.run([self.kubectl_bin, *args], capture_output=True, text=True, env=self.kubectl_env,
                              timeout=timeout)
