"""A sandbox of some platform as the tests reach it: the official client, the pinned kubectl, the ground truth
the sandbox writes in ``platform.json``; and platform documents to start one from."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support import kubectl as kubectl_binaries
from tests.support import sandboxes
from tests.support.waiting import wait_for

XR = ("database.example.org", "v1alpha1", "xglobaldatabases")


@dataclass
class Platform:
    """A running sandbox of some platform, with its clients and its ground truth."""

    box: sandboxes.Sandbox
    api: client.ApiClient
    home: Path

    @property
    def truth(self) -> dict[str, Any]:
        return dict(json.loads((self.box.state_dir / "platform.json").read_text()))

    @property
    def core(self) -> Any:  # read as plain attributes; the typed models' Optionals do not help here
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> Any:
        return client.CustomObjectsApi(self.api)

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        binary = kubectl_binaries.require(kubectl_binaries.pinned())
        result = subprocess.run([binary, "--kubeconfig", self.box.kubeconfig, *args], capture_output=True,
                                text=True, timeout=60, env={"HOME": str(self.home), "PATH": "/usr/bin:/bin"})
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result

    def table(self, *args: str) -> list[dict[str, str]]:
        """``kubectl get ARGS`` as rows keyed by the printed column headers."""
        lines = self.kubectl("get", *args).stdout.splitlines()
        header = lines[0]
        starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
        names = [header[s:].split()[0] for s in starts]
        rows = []
        for line in lines[1:]:
            if not line.strip() or line.startswith("NAME ") or line.startswith("NAMESPACE "):
                continue
            bounds = [*starts[1:], len(line) + 1]
            rows.append({n: line[s:e].strip() for n, s, e in zip(names, starts, bounds, strict=True)})
        return rows

    def xr(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        if namespace:
            return dict(self.custom.get_namespaced_custom_object(*XR[:2], namespace, XR[2], name))
        return dict(self.custom.get_cluster_custom_object(*XR, name))

    def ready(self, name: str, namespace: str | None = None) -> bool:
        conditions = (self.xr(name, namespace).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def managed(self, ref: dict[str, Any]) -> dict[str, Any]:
        group, version = ref["apiVersion"].split("/")
        if ref.get("namespace"):
            return dict(self.custom.get_namespaced_custom_object(group, version, ref["namespace"], ref["plural"],
                                                                 ref["name"]))
        return dict(self.custom.get_cluster_custom_object(group, version, ref["plural"], ref["name"]))

    def condition(self, ref: dict[str, Any], type_: str) -> dict[str, Any]:
        obj = self.managed(ref)
        return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), {})

    def synced(self, ref: dict[str, Any]) -> str:
        return str(self.condition(ref, "Synced").get("status", ""))

    def mrs(self, provider: str | None = None, config_name: str | None = None) -> list[dict[str, Any]]:
        """The ground truth's managed resources, of one provider and/or ProviderConfig."""
        return [m for c in self.truth["composites"] for m in c["managedResources"]
                if (provider is None or m["provider"] == provider)
                and (config_name is None or m["providerConfig"]["name"] == config_name)]

    def wait_all_synced(self, refs: list[dict[str, Any]], status: str, timeout: float = 30) -> None:
        wait_for(lambda: all(self.synced(m) == status for m in refs), timeout,
                 what=f"{len(refs)} managed resources Synced={status}")

    def provider_pods(self, provider: str) -> list[Any]:
        namespace = self.truth["crossplane"]["namespace"]
        return list(self.core.list_namespaced_pod(namespace,
                                                  label_selector=f"pkg.crossplane.io/provider={provider}").items)


def platform_document(name: str, **spec: Any) -> dict[str, Any]:
    """A SandboxPlatform document: one composite and one Secret ProviderConfig per cloud unless ``spec`` says
    otherwise (its keys replace the defaults of ``spec``)."""
    body: dict[str, Any] = {
        "clouds": {"aws": {"providerConfigs": [{"name": "aws-main"}]},
                   "azure": {"providerConfigs": [{"name": "azure-main"}]}},
        "composites": [{"name": "orders-db"}],
        "cluster": {"cni": "pre-dnat", "nodes": 1},
    }
    body.update(spec)
    return {"apiVersion": "xpchaos.io/v1alpha1", "kind": "SandboxPlatform", "metadata": {"name": name}, "spec": body}
