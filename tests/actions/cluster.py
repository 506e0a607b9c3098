"""A stock sandbox as the fault tests see it: its target file, an undo log, and every object a fault may touch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for

DEADLINE = 15.0


@dataclass
class Cluster:
    sandbox: Sandbox
    target_path: Path
    undo_log: Path
    target: dict[str, Any]
    api: client.ApiClient

    @property
    def configuration(self) -> dict[str, str]:
        return {"xpchaos_target": str(self.target_path), "xpchaos_undo_log": str(self.undo_log)}

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def provider_config(self, provider: str) -> dict[str, Any] | None:
        ref = self.target["providers"][provider]["providerConfig"]
        group, version = ref["apiVersion"].split("/")
        try:
            return dict(self.custom.get_cluster_custom_object(group, version, ref["plural"], ref["name"]))
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def mrs(self, provider: str) -> list[dict[str, Any]]:
        out = []
        for mr in self.target["providers"][provider]["managedResources"]:
            group, version = mr["apiVersion"].split("/")
            if mr.get("namespace"):
                out.append(self.custom.get_namespaced_custom_object(group, version, mr["namespace"], mr["plural"],
                                                                    mr["name"]))
            else:
                out.append(self.custom.get_cluster_custom_object(group, version, mr["plural"], mr["name"]))
        return out

    def synced(self, provider: str) -> list[str]:
        return [next((c["status"] for c in (mr.get("status") or {}).get("conditions", []) if c["type"] == "Synced"),
                     "?") for mr in self.mrs(provider)]

    def wait(self, check: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
        wait_for(check, deadline, what=what)

    def state(self) -> dict[str, Any]:
        """What a fault may touch, without server fields and status: ProviderConfigs, Secrets, NetworkPolicies."""
        out: dict[str, Any] = {}
        for name, prov in self.target["providers"].items():
            pc = self.provider_config(name)
            out[f"pc/{name}"] = None if pc is None else _essentials(pc)
            ref = prov["credentials"]["secret"]
            try:
                secret = self.api.sanitize_for_serialization(self.core.read_namespaced_secret(ref["name"],
                                                                                              ref["namespace"]))
                out[f"secret/{name}"] = _essentials(secret)
            except client.ApiException as exc:
                assert exc.status == 404
                out[f"secret/{name}"] = None
            for mr in self.mrs(name):
                out[f"mr/{mr['metadata']['name']}"] = _essentials(mr)
        policies = client.NetworkingV1Api(self.api).list_network_policy_for_all_namespaces().items
        out["networkpolicies"] = sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in policies)
        return out

    def steady(self) -> None:
        """Every MR Synced=True and every ProviderConfig in use (the in-use finalizer set)."""
        self.wait(lambda: all(s == "True" for p in self.target["providers"] for s in self.synced(p)) and
                  all("in-use.crossplane.io" in ((self.provider_config(p) or {}).get("metadata", {})
                                                 .get("finalizers") or []) for p in self.target["providers"]),
                  "every MR Synced=True and every ProviderConfig in use")


def _essentials(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {"spec": obj.get("spec"), "data": obj.get("data"), "type": obj.get("type"),
            "labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {},
            "finalizers": sorted(meta.get("finalizers") or [])}
