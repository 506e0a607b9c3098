"""ProviderConfig usage accounting (crossplane-runtime pkg/reconciler/providerconfig).

The ``in-use.crossplane.io`` finalizer stays while ProviderConfigUsages name the config; deleting it then only
marks it Terminating, with a Warning ``UsageAccounting`` event and condition ``Terminating``/``InUse``.
"""

from __future__ import annotations

from typing import Any

from ..cluster import Cluster
from ..patching import MERGE_PATCH
from . import conditions
from .kinds import rtype
from .managed import USAGE_LABEL
from .recorder import Recorder
from .scheduler import Scheduler

FINALIZER = "in-use.crossplane.io"
BLOCKING = "Blocking deletion while usages still exist"


class ProviderConfigReconciler:
    def __init__(self, cluster: Cluster, recorder: Recorder, group: str, resync: float,
                 kind: str = "ProviderConfig") -> None:
        self.cluster, self.recorder, self.group, self.resync, self.kind = cluster, recorder, group, resync, kind
        self.pc_key, self.usage_key = (group, kind.lower() + "s"), (group, "providerconfigusages")

    async def run(self) -> None:
        scheduler = Scheduler(self.cluster, [self.pc_key, self.usage_key])
        scheduler.at("all", 0)
        try:
            while True:
                due, changes = await scheduler.wait()
                if due or changes:
                    for pc in list(self.cluster.store.items(self.pc_key)):
                        self.reconcile(pc)
                if due:
                    scheduler.at("all", self.resync)
        finally:
            scheduler.close()

    def reconcile(self, pc: dict[str, Any]) -> None:
        pc_type = rtype(self.cluster, self.group, "v1beta1", self.pc_key[1])
        name = pc["metadata"]["name"]
        users = sum(1 for u in self.cluster.store.items(self.usage_key)
                    if (u["metadata"].get("labels") or {}).get(USAGE_LABEL) == name)
        finalizers = list(pc["metadata"].get("finalizers") or [])
        if pc["metadata"].get("deletionTimestamp"):
            if users:
                new = conditions.merged((pc.get("status") or {}).get("conditions"),
                                        conditions.condition("Terminating", "True", "InUse", BLOCKING))
                if new != (pc.get("status") or {}).get("conditions") or (pc.get("status") or {}).get("users") != users:
                    self.recorder.event(pc, "Warning", "UsageAccounting", BLOCKING,
                                        f"providerconfig/{pc['kind'].lower()}.{self.group}")
                    self.cluster.patch(pc_type, "", name, MERGE_PATCH, {"status": {"users": users, "conditions": new}},
                                       subresource="status")
                return
            if FINALIZER in finalizers:
                finalizers.remove(FINALIZER)
                self.cluster.patch(pc_type, "", name, MERGE_PATCH, {"metadata": {"finalizers": finalizers or None}})
            return
        if FINALIZER not in finalizers:
            self.cluster.patch(pc_type, "", name, MERGE_PATCH, {"metadata": {"finalizers": [*finalizers, FINALIZER]}})
            pc = self.cluster.store.get(self.pc_key, "", name) or pc
        if (pc.get("status") or {}).get("users") != users:
            self.cluster.patch(pc_type, "", name, MERGE_PATCH, {"status": {"users": users}}, subresource="status")
