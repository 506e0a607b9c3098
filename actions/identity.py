"""Workload identities of ``revoke-credentials`` (mode ``identity``, which mode ``auto`` picks for every source
below): break the identity a ProviderConfig's source names the way an expired or removed role does, and put it back
exactly.

- ``IRSA`` (AWS): the role is the provider pods' ServiceAccount annotation ``eks.amazonaws.com/role-arn``. The EKS
  Pod Identity Webhook reads it only when a pod is created (``AWS_ROLE_ARN`` and the projected token), so the
  fault does what an operator does: it annotates every ServiceAccount of the target's provider pods with a role of
  the same account that does not exist, then deletes those pods so that their Deployment's ReplicaSet starts them
  again with that role (a single-replica provider is down for the seconds this takes, as after any rollout).
  Every ProviderConfig that uses the pods' role breaks, ``assumeRoleChain`` ones too.
- ``WebIdentity`` (AWS): the ProviderConfig's ``spec.credentials.webIdentity.roleARN`` points at a role that does
  not exist; read at every connect, no pod is replaced.
- ``OIDCTokenFile`` (Azure Workload Identity): the ProviderConfig's ``spec.clientID`` is a client no directory
  knows; read at every connect.

The undo record keeps the exact values before the change (an annotation that was absent stays absent). Undo puts
them back and, for IRSA, replaces every selected pod whose injected role differs from its ServiceAccount's, so
the pods run with the original role again. Role ARNs and client IDs are identifiers, not secrets.
"""

from __future__ import annotations

import secrets as pysecrets
import time
import uuid
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import platform_graph as graph
from xpchaos.core.undo_log import marks

from ._common import Context, FaultError, api_error, core, logger, marked, plain, unmarks

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# the fields each source's identity lives in: (where, path under the ProviderConfig's spec)
PC_FIELDS = {"WebIdentity": ("credentials", "webIdentity", "roleARN"), "OIDCTokenFile": ("clientID",)}
SOURCES = ("IRSA", *PC_FIELDS)
PODS_TIMEOUT = 120.0  # how long the replaced pods may take to be Running again


def revoked_role(role_arn: str) -> str:
    """A role ARN of the same account that does not exist (as a deleted role)."""
    head = role_arn.rpartition(":role/")[0] if ":role/" in role_arn else "arn:aws:iam::000000000000"
    return f"{head}:role/xpchaos-revoked-{pysecrets.token_hex(4)}"


def _spec_value(spec: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = spec
    for step in path:
        value = (value or {}).get(step) if isinstance(value, dict) else None
    return value


def _spec_patch(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body: Any = value
    for step in reversed(path):
        body = {step: body}
    return {"spec": body}


def _patch_pc(api: client.ApiClient, ref: Any, body: dict[str, Any], doing: str) -> None:
    try:
        graph.patch(api, ref, body)
    except ApiException as exc:
        raise api_error(exc, doing) from None


# -- what the fault would change ------------------------------------------------------------------------------------
def plan(ctx: Context, provider: Any, source: str, pc: dict[str, Any]) -> dict[str, Any]:
    """What breaking ``source`` changes: ``objects`` (kind, namespace, name, field), ``would`` (sentences) and the
    ``undo`` record's content, computed from the cluster without changing it."""
    if source in PC_FIELDS:
        return _plan_field(provider.provider_config, source, pc)
    return _plan_irsa(ctx, provider.pods_namespace, provider.pods_selector)


def _plan_field(ref: Any, source: str, pc: dict[str, Any]) -> dict[str, Any]:
    """WebIdentity, OIDCTokenFile: the identity is a field of the ProviderConfig, read at every connect."""
    path = PC_FIELDS[source]
    original = _spec_value(pc.get("spec") or {}, path)
    if not original:
        raise FaultError(f"{ref.describe()} has no spec.{'.'.join(path)} (source {source}); nothing was changed")
    field = "spec." + ".".join(path)
    broken = revoked_role(str(original)) if source == "WebIdentity" else str(uuid.uuid4())
    return {"objects": [{"kind": ref.kind, "apiVersion": ref.api_version, "name": ref.name, "field": field,
                         **({"namespace": ref.namespace} if ref.namespace else {})}],
            "would": [f"set {ref.describe()} {field} to {broken!r}, one that does not exist"],
            "undo": {"source": source, "providerConfig": {"apiVersion": ref.api_version, "kind": ref.kind,
                                                          "plural": ref.plural, "name": ref.name,
                                                          "namespace": ref.namespace},
                     "path": list(path), "original": original, "broken": broken}}


def _plan_irsa(ctx: Context, ns: str, selector: str) -> dict[str, Any]:
    """IRSA: the identity is the pods' ServiceAccount annotation, injected when a pod is created."""
    accounts = _pod_accounts(ctx, ns, selector)
    originals = {name: _annotation(ctx.api, ns, name) for name in accounts}
    known = sorted({arn for arn in originals.values() if arn})
    if not known:
        raise FaultError(f"no ServiceAccount of the pods {selector!r} in {ns} has {IRSA_ANNOTATION} (source IRSA); "
                         "nothing was changed")
    broken = revoked_role(known[0])
    return {"objects": [{"kind": "ServiceAccount", "apiVersion": "v1", "namespace": ns, "name": name,
                         "annotation": IRSA_ANNOTATION} for name in accounts],
            "would": [f"annotate ServiceAccounts {', '.join(accounts)} in {ns} with {IRSA_ANNOTATION}={broken}, "
                      f"a role that does not exist, and replace the pods {selector!r} so that they assume it"],
            "undo": {"source": "IRSA", "namespace": ns, "selector": selector, "annotations": originals,
                     "broken": broken}}


def _pods(api: client.ApiClient, ns: str, selector: str) -> list[dict[str, Any]]:
    try:
        return [plain(api, p) for p in core(api).list_namespaced_pod(ns, label_selector=selector).items]
    except ApiException as exc:
        raise api_error(exc, f"listing the pods {selector!r} in {ns}") from None


def _pod_accounts(ctx: Context, ns: str, selector: str) -> list[str]:
    pods = _pods(ctx.api, ns, selector)
    if not pods:
        raise FaultError(f"no pod matches {selector!r} in {ns}: no ServiceAccount to change; nothing was changed")
    return sorted({_account_of(p) for p in pods})


def _annotation(api: client.ApiClient, ns: str, name: str) -> str | None:
    try:
        account = plain(api, core(api).read_namespaced_service_account(name, ns))
    except ApiException as exc:
        raise api_error(exc, f"reading ServiceAccount {ns}/{name}") from None
    return ((account.get("metadata") or {}).get("annotations") or {}).get(IRSA_ANNOTATION)


def _restore_annotations(api: client.ApiClient, ns: str, name: str, original: str | None,
                         account: dict[str, Any]) -> None:
    """The role annotation back and the marks off; when nothing else is annotated and the role annotation was
    absent, the map itself goes, so that the ServiceAccount ends exactly as it was."""
    others = set((account.get("metadata") or {}).get("annotations") or {}) - set(marks("")) - {IRSA_ANNOTATION}
    if original is None and not others:
        try:
            core(api).patch_namespaced_service_account(name, ns, {"metadata": {"annotations": None}})
        except ApiException as exc:
            raise api_error(exc, f"annotating ServiceAccount {ns}/{name}") from None
        return
    _annotate(api, ns, name, original, unmarks({"metadata": {"annotations": {}}}, account))


def _annotate(api: client.ApiClient, ns: str, name: str, value: str | None,
              mark: dict[str, str | None] | None = None) -> None:
    """Set the role annotation and the fault's marks (``unmarks``: off again); a merge patch: None removes one."""
    body = {"metadata": {"annotations": {IRSA_ANNOTATION: value, **(mark or {})}}}
    try:
        core(api).patch_namespaced_service_account(name, ns, body)
    except ApiException as exc:
        raise api_error(exc, f"annotating ServiceAccount {ns}/{name}") from None


# -- the change and its undo ----------------------------------------------------------------------------------------
def apply(ctx: Context, undo: dict[str, Any], record_id: str) -> bool:
    """Make the change the undo record ``record_id`` describes (written before this is called), marking what it
    changes with the record's id; True once it is in place."""
    if undo["source"] in PC_FIELDS:
        ref = undo["providerConfig"]
        body = {**_spec_patch(tuple(undo["path"]), undo["broken"]), "metadata": {"annotations": marks(record_id)}}
        _patch_pc(ctx.api, _Ref(ref), body, f"patching {ref['name']}")
        return True
    ns = undo["namespace"]
    for name in undo["annotations"]:
        _annotate(ctx.api, ns, name, undo["broken"], dict(marks(record_id)))
    logger.info("replacing the pods %r in %s so that they assume the revoked role", undo["selector"], ns)
    return _replace_mismatched(ctx.api, ns, undo["selector"])


def undo(api: client.ApiClient, record: dict[str, Any]) -> dict[str, Any]:
    """Put the identity back exactly (idempotent)."""
    if record["source"] in PC_FIELDS:
        ref = _Ref(record["providerConfig"])
        pc = _get_pc(api, ref)
        if pc is None:
            return {"action": "gone", "object": ref.describe(), "note": "the ProviderConfig no longer exists"}
        path = tuple(record["path"])
        if _spec_value(pc.get("spec") or {}, path) == record["original"] and not marked(pc):
            return {"action": "already-restored", "object": ref.describe()}
        body = {**_spec_patch(path, record["original"]), "metadata": {"annotations": unmarks(None, pc)}}
        _patch_pc(api, ref, body, f"restoring {ref.describe()}")
        return {"action": "restored-field", "object": ref.describe(), "field": "spec." + ".".join(path)}
    ns, selector = record["namespace"], record["selector"]
    changed = []
    for name, original in record["annotations"].items():
        try:
            account = plain(api, core(api).read_namespaced_service_account(name, ns))
        except ApiException as exc:
            if exc.status == 404:
                continue
            raise api_error(exc, f"reading ServiceAccount {ns}/{name}") from None
        current = ((account.get("metadata") or {}).get("annotations") or {}).get(IRSA_ANNOTATION)
        if current != original or marked(account):
            _restore_annotations(api, ns, name, original, account)
            changed.append(name)
    replaced = _replace_mismatched(api, ns, selector)
    what = f"ServiceAccounts {', '.join(record['annotations'])} in {ns}"
    if not changed and not replaced:
        return {"action": "already-restored", "object": what}
    return {"action": "restored-role", "object": what, "note": "pods replaced" if replaced else "pods unchanged"}


class _Ref:
    """A ProviderConfig reference as the undo record keeps it."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.api_version, self.kind, self.plural = doc["apiVersion"], doc["kind"], doc["plural"]
        self.name, self.namespace = doc["name"], doc.get("namespace")
        self.group, _, self.version = self.api_version.rpartition("/")

    def describe(self) -> str:
        return f"{self.kind} {self.plural}.{self.group} {self.name!r}"


def _get_pc(api: client.ApiClient, ref: _Ref) -> dict[str, Any] | None:
    custom: Any = client.CustomObjectsApi(api)
    try:
        if ref.namespace:
            return dict(custom.get_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural,
                                                            ref.name))
        return dict(custom.get_cluster_custom_object(ref.group, ref.version, ref.plural, ref.name))
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise api_error(exc, f"reading {ref.describe()}") from None


def _account_of(pod: dict[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("serviceAccountName") or "default")


def _injected_role(pod: dict[str, Any]) -> str | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for env in container.get("env") or []:
            if env.get("name") == "AWS_ROLE_ARN":
                return str(env.get("value", ""))
    return None


def _replace_mismatched(api: client.ApiClient, ns: str, selector: str) -> bool:
    """Delete the selected pods whose injected role is not their ServiceAccount's, and wait (with a deadline) until
    as many pods run again, each with its ServiceAccount's role. True when some pod was replaced."""
    pods = _pods(api, ns, selector)
    roles = {name: _annotation(api, ns, name) for name in {_account_of(p) for p in pods}}
    stale = [p for p in pods if _injected_role(p) != roles[_account_of(p)]]
    for pod in stale:
        name = pod["metadata"]["name"]
        try:
            core(api).delete_namespaced_pod(name, ns)
        except ApiException as exc:
            if exc.status != 404:
                raise api_error(exc, f"deleting pod {ns}/{name}") from None
    if not stale:
        return False
    gone = {p["metadata"]["name"] for p in stale}
    deadline = time.monotonic() + PODS_TIMEOUT
    while time.monotonic() < deadline:
        now = [p for p in _pods(api, ns, selector) if p["metadata"]["name"] not in gone
               and (p.get("status") or {}).get("phase") == "Running"]
        if len(now) >= len(pods) and all(
                _injected_role(p) == roles.get(_account_of(p))
                for p in now):
            return True
        time.sleep(0.5)  # polling the pod list between reads; the condition itself is what ends the wait
    raise FaultError(f"the pods {selector!r} in {ns} were not running again with their ServiceAccount's role within "
                     f"{PODS_TIMEOUT:.0f}s (their Deployment should replace them)")
