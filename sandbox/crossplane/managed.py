"""The managed reconciler of one provider pod (crossplane-runtime pkg/reconciler/managed, as upjet runs it).

Each MR is observed every ``mr_poll``; after an error it is retried with exponential backoff. MR controllers
watch only their own kinds: a deleted ProviderConfig, a changed Secret or a new NetworkPolicy is noticed at the
next poll. Connect or observe failures set only ``Synced=False/ReconcileError``; ``Ready`` is left as it was.
A pod that cannot reach the API server (a NetworkPolicy, as its CNI applies it) writes nothing at all: no
conditions, no Events, no usages.
"""

from __future__ import annotations

import base64
import copy
import logging
from collections.abc import Callable
from typing import Any

from ..cluster import Cluster
from ..patching import MERGE_PATCH
from ..registry import ResourceType
from . import conditions, dnsmodes
from .clouds import CloudError, Presented
from .kinds import rtype
from .network import Network
from .packages import PROVIDER_LABEL, env_of
from .platform import ManagedRef, Side
from .recorder import Recorder
from .scheduler import Scheduler
from .timings import Timings

log = logging.getLogger("xpchaos.sandbox.crossplane.managed")
UPJET_PREFIX = "cannot initialize the Terraform plugin SDK async external client: cannot get terraform setup: "
USAGE_LABEL = "crossplane.io/provider-config"
# the DNS kinds whose ``status.atProvider`` the provider reports after each successful reconcile (a refresh)
OBSERVED_KINDS = frozenset({"Record", "HealthCheck", dnsmodes.TM_PROFILE, dnsmodes.TM_ENDPOINT})


class ConnectError(Exception):
    pass


class ObserveError(Exception):
    pass


class ManagedReconciler:
    def __init__(self, cluster: Cluster, recorder: Recorder, side: Side, provider: str, refs: list[ManagedRef],
                 timings: Timings, network: Network | None = None,
                 applier: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.cluster, self.recorder, self.side, self.provider = cluster, recorder, side, provider
        self.applier = applier  # the cloud service made to match an MR after a successful reconcile (DNS modes)
        self.refs = {ref.key: ref for ref in refs}
        self.timings = timings
        self.network = network or Network()
        self.failures: dict[tuple[str, str], int] = {}
        self.identities: dict[str, str] = {}  # digest of what was presented -> caller identity (provider-aws caches)
        self.generations: dict[tuple[str, str], int] = {}

    def _type(self, ref: ManagedRef) -> ResourceType:
        return rtype(self.cluster, ref.group, ref.version, ref.plural)

    async def run(self) -> None:
        scheduler = Scheduler(self.cluster, [(ref.group, ref.plural) for ref in self.refs.values()])
        for key in self.refs:
            scheduler.at(key, 0)
        try:
            while True:
                due, changes = await scheduler.wait()
                for change in changes:  # a spec change (new generation) is reconciled at once
                    meta = change.obj["metadata"]
                    key = (meta.get("namespace") or "", meta["name"])
                    if key in self.refs and change.type == "DELETED":
                        self._deleted(change.obj)
                    elif key in self.refs and meta.get(
                            "generation", 0) != self.generations.get(key):
                        scheduler.soonest(key, 0)
                for key in due:
                    scheduler.at(key, self.reconcile(self.refs[key]))
        finally:
            scheduler.close()

    # one reconcile ----------------------------------------------------------------------------------------
    def reconcile(self, ref: ManagedRef) -> float:
        """Reconcile one MR; returns the delay until the next reconcile."""
        mr = self.cluster.store.get((ref.group, ref.plural), ref.namespace, ref.name)
        if mr is None:
            return self.timings.mr_poll
        pod = self._pod()
        if pod is None:  # no provider running: nothing reconciles, statuses stay as they were
            return self.timings.mr_poll
        if not self.network.api_reachable(self.cluster, pod):  # cut off the API server: it cannot even report
            return self.timings.mr_poll
        self.generations[ref.key] = mr["metadata"].get("generation", 0)
        try:
            identity = self._connect(mr, pod)
            exists = self._observe(mr, pod, identity)
        except ConnectError as err:
            return self._failed(mr, "CannotConnectToProvider", f"connect failed: {err}", str(err))
        except ObserveError as err:
            return self._failed(mr, "CannotObserveExternalResource", f"observe failed: {err}", str(err))
        self.failures.pop(ref.key, None)
        if not exists:  # upjet creates what the cloud does not have; it is Available at the next observe
            self.side.cloud.resources.add(ref.name)
        if self.applier is not None:
            self.applier(mr)
        if mr["kind"] in OBSERVED_KINDS:
            self._set_at_provider(mr)
        ready = (conditions.condition("Ready", "True", "Available") if exists
                 else conditions.condition("Ready", "False", "Creating"))
        self._set_conditions(mr, conditions.condition("Synced", "True", "ReconcileSuccess"), ready)
        return self.timings.mr_poll

    def _deleted(self, mr: dict[str, Any]) -> None:
        """A deleted MR's external resource goes with it, unless its deletionPolicy is Orphan. (Real MRs carry
        a finalizer and are gone only after the provider deleted the resource; the sandbox's carry none.)"""
        if (mr.get("spec") or {}).get("deletionPolicy", "Delete") != "Orphan":
            self.side.cloud.resources.discard(mr["metadata"]["name"])
            log.info("%s: deleted the external resource of %s %s", self.provider, mr["kind"], mr["metadata"]["name"])

    def _failed(self, mr: dict[str, Any], reason: str, condition_message: str, event_message: str) -> float:
        self.recorder.event(mr, "Warning", reason, event_message, self._component(mr))
        self._set_conditions(mr, conditions.condition("Synced", "False", "ReconcileError", condition_message))
        key = (mr["metadata"].get("namespace") or "", mr["metadata"]["name"])
        self.failures[key] = self.failures.get(key, 0) + 1
        return min(self.timings.backoff_max, self.timings.backoff_min * 2 ** (self.failures[key] - 1))

    def _component(self, mr: dict[str, Any]) -> str:
        return f"managed/{mr['apiVersion']}, kind={mr['kind']}".lower()

    def _set_conditions(self, mr: dict[str, Any], *updates: dict[str, str]) -> None:
        current = (mr.get("status") or {}).get("conditions")
        new = conditions.merged(current, *updates)
        if new != current:
            ref = self.refs[(mr["metadata"].get("namespace") or "", mr["metadata"]["name"])]
            self.cluster.patch(self._type(ref), ref.namespace, ref.name, MERGE_PATCH,
                               {"status": {"conditions": new}}, subresource="status")

    def _set_at_provider(self, mr: dict[str, Any]) -> None:
        """upjet's refresh: ``status.atProvider`` is what the cloud holds, the MR's forProvider as applied, plus
        its ``id`` (the external name). Written only after a successful reconcile, so a provider that cannot reach
        its cloud leaves the last observation in place."""
        meta = mr["metadata"]
        observed = {**copy.deepcopy((mr.get("spec") or {}).get("forProvider") or {}),
                    "id": (meta.get("annotations") or {}).get("crossplane.io/external-name") or meta["name"]}
        current = (mr.get("status") or {}).get("atProvider") or {}
        if observed == current:
            return
        gone = {key: None for key in current if key not in observed}  # a merge patch removes them
        ref = self.refs[(meta.get("namespace") or "", meta["name"])]
        self.cluster.patch(self._type(ref), ref.namespace, ref.name, MERGE_PATCH,
                           {"status": {"atProvider": {**gone, **observed}}}, subresource="status")

    # connect and observe ----------------------------------------------------------------------------------
    def _pod(self) -> dict[str, Any] | None:
        for pod in self.cluster.store.items(("", "pods"), self.side.namespace):
            labels = pod["metadata"].get("labels") or {}
            if labels.get(PROVIDER_LABEL) == self.provider and not pod["metadata"].get("deletionTimestamp"):
                return pod
        return None

    def _route(self, pod: dict[str, Any], host: str) -> str:
        """"" when the pod can reach its cloud's API at ``host``, else the error a call gets (a failed lookup,
        a timeout)."""
        dns_error = ""
        if not self.network.dns_reachable(self.cluster, pod):
            nameserver = self.network.nameserver
            pod_ip = (pod.get("status") or {}).get("podIP", "10.244.0.10")
            dns_error = (f"dial tcp: lookup {host} on {nameserver}:53: read udp {pod_ip}:41350->{nameserver}:53: "
                         "i/o timeout")
        reachable = self.network.address_reachable(self.cluster, pod, self.side.cloud.endpoint)
        return self.side.cloud.route_error(reachable, dns_error)

    def _connect(self, mr: dict[str, Any], pod: dict[str, Any]) -> str:
        config_ref = (mr.get("spec") or {}).get("providerConfigRef") or {}
        pc_name = config_ref.get("name", "default")
        kind = config_ref.get("kind", self.side.pc_kind)
        namespace = mr["metadata"].get("namespace", "") if kind == "ProviderConfig" else ""
        pc = self.cluster.store.get((self.side.pc_group, kind.lower() + "s"), namespace, pc_name)
        if pc is None:
            raise ConnectError(f'{UPJET_PREFIX}cannot get referenced ProviderConfig: {kind}.'
                               f'{self.side.pc_group} "{pc_name}" not found')
        self._track_usage(mr, pc_name, kind)
        presented = self._presented(pc, pod)
        digest = presented.digest()
        if self.side.cloud.name == "aws" and digest in self.identities:
            return self.identities[digest]
        try:
            identity = self.side.cloud.authenticate(presented, self._route(pod, self.side.cloud.host))
        except CloudError as err:
            raise ConnectError(f"{UPJET_PREFIX}{err}") from None
        self.identities[digest] = identity
        return identity

    def _presented(self, pc: dict[str, Any], pod: dict[str, Any]) -> Presented:
        """What the provider presents for ``pc``: a Secret's key, or the pod's workload identity."""
        spec = pc.get("spec") or {}
        credentials = spec.get("credentials") or {}
        source = credentials.get("source")
        chain = spec.get("assumeRoleChain") or [{}]
        env = env_of(pod)
        cloud = self.side.cloud.name
        if source == "Secret":
            return Presented("Secret", key=self._secret_key(credentials))
        if cloud == "aws" and source == "IRSA":
            return Presented("IRSA", role_arn=env.get("AWS_ROLE_ARN", ""), token="AWS_WEB_IDENTITY_TOKEN_FILE" in env,
                             assume_role_arn=chain[0].get("roleARN", ""))
        if cloud == "aws" and source == "WebIdentity":
            role = (credentials.get("webIdentity") or {}).get("roleARN", "")
            return Presented("WebIdentity", role_arn=role, token="AWS_WEB_IDENTITY_TOKEN_FILE" in env,
                             assume_role_arn=chain[0].get("roleARN", ""))
        if cloud == "azure" and source == "OIDCTokenFile":
            return Presented("OIDCTokenFile", token="AZURE_FEDERATED_TOKEN_FILE" in env,
                             client_id=str(spec.get("clientID", "")))
        raise ConnectError(f"{UPJET_PREFIX}credentials source {source!r} is not supported by the sandbox")

    def _secret_key(self, credentials: dict[str, Any]) -> bytes:
        ref = credentials.get("secretRef") or {}
        secret = self.cluster.store.get(("", "secrets"), ref.get("namespace", ""), ref.get("name", ""))
        if secret is None:
            raise ConnectError(f'{UPJET_PREFIX}cannot get credentials: cannot get credentials secret: secrets '
                               f'"{ref.get("name", "")}" not found')
        return base64.b64decode((secret.get("data") or {}).get(ref.get("key", ""), ""))

    def _observe(self, mr: dict[str, Any], pod: dict[str, Any], identity: str) -> bool:
        try:
            host = self.side.cloud.api_host(self.provider.rsplit("-", 1)[-1])
            return self.side.cloud.observe(mr["metadata"]["name"], self._route(pod, host))
        except CloudError as err:
            raise ObserveError(f"cannot run refresh: refresh failed: {err}") from None

    def _track_usage(self, mr: dict[str, Any], pc_name: str, kind: str) -> None:
        """crossplane-runtime's usage tracker: one ProviderConfigUsage per MR, named after its uid (in the MR's
        namespace for v2's namespaced MRs)."""
        usage_type = rtype(self.cluster, self.side.pc_group, "v1beta1", "providerconfigusages")
        uid = mr["metadata"]["uid"]
        namespace = mr["metadata"].get("namespace", "")
        existing = self.cluster.store.get((self.side.pc_group, "providerconfigusages"), namespace, uid)
        if existing is not None and existing.get("providerConfigRef", {}).get("name") == pc_name:
            return
        body: dict[str, Any] = {
            "apiVersion": f"{self.side.pc_group}/v1beta1", "kind": "ProviderConfigUsage",
            "metadata": {"name": uid, "labels": {USAGE_LABEL: pc_name},
                         **({"namespace": namespace} if namespace else {}),
                         "ownerReferences": [{"apiVersion": mr["apiVersion"], "kind": mr["kind"],
                                              "name": mr["metadata"]["name"], "uid": uid, "controller": True}]},
            "providerConfigRef": {"name": pc_name, **({"kind": kind} if namespace else {})},
            "resourceRef": {"apiVersion": mr["apiVersion"], "kind": mr["kind"], "name": mr["metadata"]["name"]},
        }
        if existing is None:
            self.cluster.create(usage_type, namespace, body)
        else:
            body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            self.cluster.update(usage_type, namespace, uid, body)
