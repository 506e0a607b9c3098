"""Is the cluster left exactly as before? A snapshot of everything the faults can touch, and its diff.

``take`` reads, for each provider of the Target, every object of its ProviderConfig's kind, every Secret in the
credential Secret's namespace and every NetworkPolicy in the provider pods' namespace (when the target pins no
Secret: the Secrets and ServiceAccounts of the pods' namespace, a workload identity being an annotation there),
through the Kubernetes API only. Objects are normalized so that what the API server changes by itself
(resourceVersion, uid, timestamps, generation, managedFields, status) does not count; a ProviderConfig deleted
and re-created from its own body is "the same" once its finalizers are back. Secret values are never held: each
data key keeps only the SHA-256 of its decoded bytes, so a snapshot can be logged, and ``diff`` names changed
fields, never values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from xpchaos.core import kube
from xpchaos.core.target import Target

# what the API server sets or bumps on its own: not part of "the cluster as it was"
SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "deletionGracePeriodSeconds", "generation",
                   "managedFields", "selfLink")
# kubectl apply keeps the whole applied object, Secret data included, in this annotation
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MISSING = object()


@dataclass(frozen=True)
class Snapshot:
    objects: dict[str, dict[str, Any]]  # key "kind group namespace/name" -> normalized object


def key(kind: str, group: str, namespace: str | None, name: str) -> str:
    """``Secret  crossplane-system/aws-creds`` (core group empty), ``ProviderConfig aws.upbound.io aws-production``."""
    return f"{kind} {group} {namespace}/{name}" if namespace else f"{kind} {group} {name}"


def _digest(value: str | bytes) -> str:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()


def _decoded_digest(value: str) -> str:
    try:
        return _digest(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):  # not base64 (the API server never sends that): hash the text itself
        return _digest(value)


def normalize(obj: dict[str, Any], kind: str, api_version: str) -> dict[str, Any]:
    """A copy of ``obj`` without what the server owns; for Secrets, digests instead of values."""
    out = {k: v for k, v in obj.items() if k not in ("status", "metadata", "data", "stringData")}
    out["apiVersion"], out["kind"] = obj.get("apiVersion") or api_version, obj.get("kind") or kind
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items()
                if k not in SERVER_METADATA and k != "deletionTimestamp"}
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        metadata["terminating"] = True
    if out["kind"] == "Secret":
        out["data"] = {k: _decoded_digest(v or "") for k, v in (obj.get("data") or {}).items()}
        annotations = metadata.get("annotations") or {}
        if LAST_APPLIED in annotations:
            metadata["annotations"] = {**annotations, LAST_APPLIED: "sha256:" + _digest(annotations[LAST_APPLIED])}
    out["metadata"] = metadata
    return out


def _items(response: Any) -> list[dict[str, Any]]:
    """The raw JSON items of a list call made with ``_preload_content=False``."""
    try:
        return list(json.loads(response.data).get("items") or [])
    finally:
        response.release_conn()


def _lists(target: Target, api: client.ApiClient) -> Iterator[tuple[str, str, str, list[dict[str, Any]]]]:
    """(kind, group, apiVersion, items) for each list ``take`` reads; each list at most once."""
    custom, core, networking = client.CustomObjectsApi(api), client.CoreV1Api(api), client.NetworkingV1Api(api)
    seen: set[tuple[str, ...]] = set()
    for provider in target.providers.values():
        pc = provider.provider_config
        if ("pc", pc.api_version, pc.plural, pc.namespace or "") not in seen:
            seen.add(("pc", pc.api_version, pc.plural, pc.namespace or ""))
            try:
                if pc.namespace:
                    response = custom.list_namespaced_custom_object(pc.group, pc.version, pc.namespace, pc.plural,
                                                                    _preload_content=False)
                else:
                    response = custom.list_cluster_custom_object(pc.group, pc.version, pc.plural,
                                                                 _preload_content=False)
            except ApiException as exc:
                if exc.status != 404:  # 404: the kind is not served (CRD gone), so there is none of it
                    raise
                items: list[dict[str, Any]] = []
            else:
                items = _items(response)
            yield pc.kind, pc.group, pc.api_version, items
        secrets_ns = provider.credentials.namespace if provider.credentials else provider.pods_namespace
        if ("secrets", secrets_ns) not in seen:
            seen.add(("secrets", secrets_ns))
            yield "Secret", "", "v1", _items(core.list_namespaced_secret(secrets_ns, _preload_content=False))
        if provider.credentials is None and ("serviceaccounts", provider.pods_namespace) not in seen:
            # a workload identity (IRSA, Azure Workload Identity) is an annotation on the pods' ServiceAccounts
            seen.add(("serviceaccounts", provider.pods_namespace))
            yield "ServiceAccount", "", "v1", _items(core.list_namespaced_service_account(provider.pods_namespace,
                                                                                          _preload_content=False))
        if ("netpol", provider.pods_namespace) not in seen:
            seen.add(("netpol", provider.pods_namespace))
            yield "NetworkPolicy", "networking.k8s.io", "networking.k8s.io/v1", _items(
                networking.list_namespaced_network_policy(provider.pods_namespace, _preload_content=False))


def take(target: Target, api: client.ApiClient | None = None) -> Snapshot:
    """Everything the faults can touch, as it is now (a client for the target's context when ``api`` is None)."""
    own = api is None
    api = kube.api_client(target.kubeconfig, target.context) if api is None else api
    try:
        objects: dict[str, dict[str, Any]] = {}
        for kind, group, api_version, items in _lists(target, api):
            for item in items:
                metadata = item.get("metadata") or {}
                objects[key(kind, group, metadata.get("namespace"), metadata.get("name", ""))] = normalize(
                    item, kind, api_version)
        return Snapshot(dict(sorted(objects.items())))
    finally:
        if own:
            api.close()


def _paths(before: Any, after: Any, prefix: str = "") -> Iterator[str]:
    """The field paths where ``before`` and ``after`` differ (maps are walked, anything else compared whole)."""
    if isinstance(before, dict) and isinstance(after, dict):
        for name in sorted(set(before) | set(after), key=str):
            if before.get(name, _MISSING) != after.get(name, _MISSING):
                step = f"[{name}]" if "." in str(name) else (f".{name}" if prefix else str(name))
                yield from _paths(before.get(name, _MISSING), after.get(name, _MISSING), prefix + step)
    elif before != after:
        yield prefix or "(whole object)"


def diff(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per object that differs: ``added <key>``, ``removed <key>``, ``changed <key>: <paths>``.
    Field paths only, never values. An empty list: the two snapshots are the same."""
    lines = []
    for name in sorted(set(before.objects) | set(after.objects)):
        if name not in before.objects:
            lines.append(f"added {name}")
        elif name not in after.objects:
            lines.append(f"removed {name}")
        elif before.objects[name] != after.objects[name]:
            lines.append(f"changed {name}: {', '.join(_paths(before.objects[name], after.objects[name]))}")
    return lines
