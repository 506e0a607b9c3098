"""The composite reconciler for ``XGlobalDatabase`` (docs/crossplane.md, 'Composite resources: Ready and Synced').

Stock: XR ``Ready`` is computed from the composed resources (``Unready resources: ...``); none of the faults
changes it, since MRs stay Ready. Blueprint: a failover function in the pipeline sets readiness itself.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..cluster import Cluster
from ..patching import MERGE_PATCH
from . import conditions, platform
from .failover import FailoverFunction
from .layout import Layout
from .platform import CLAIM_PLURAL, XR_GROUP, XR_PLURAL, XR_VERSION
from .recorder import Recorder
from .scheduler import Scheduler
from .timings import Timings

log = logging.getLogger("xpchaos.sandbox.crossplane.composite")
COMPONENT = f"defined/compositeresourcedefinition.apiextensions.crossplane.io/{XR_PLURAL}.{XR_GROUP}"


class CompositeReconciler:
    def __init__(self, cluster: Cluster, recorder: Recorder, layout: Layout, timings: Timings,
                 function: FailoverFunction | None) -> None:
        self.cluster, self.recorder, self.layout, self.timings = cluster, recorder, layout, timings
        self.function = function
        self.announced: set[tuple[str, str]] = set()

    @property
    def xr_type(self) -> Any:
        return self.cluster.registry.get(XR_GROUP, XR_VERSION, XR_PLURAL)

    async def run(self) -> None:
        kinds = [(XR_GROUP, XR_PLURAL)] + [(r.group, r.plural) for s in self.layout.sides.values() for r in s.managed]
        scheduler = Scheduler(self.cluster, kinds)
        scheduler.at("poll", 0)
        try:
            while True:
                due, changes = await scheduler.wait()
                if due or changes:
                    for xr in list(self.cluster.store.items((XR_GROUP, XR_PLURAL))):
                        await self.reconcile(xr)
                if due:
                    scheduler.at("poll", self.timings.xr_poll)
        finally:
            scheduler.close()

    def composed(self, xr: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        namespace = xr["metadata"].get("namespace", "")  # v2: composed resources live in the XR's namespace
        for ref in platform.machinery(xr).get("resourceRefs") or []:
            group = ref["apiVersion"].rpartition("/")[0]
            plural = next((t.plural for t in self.cluster.registry.types.values()
                           if t.group == group and t.kind == ref["kind"]), None)
            obj = self.cluster.store.get((group, plural), namespace, ref["name"]) if plural else None
            if obj is not None:
                out.append(obj)
        return out

    async def reconcile(self, xr: dict[str, Any]) -> None:
        key = (xr["metadata"].get("namespace", ""), xr["metadata"]["name"])
        if key not in self.announced:
            composition = (platform.machinery(xr).get("compositionRef") or {}).get("name", "")
            self.recorder.event(xr, "Normal", "SelectComposition",
                                f"Successfully selected composition: {composition}", COMPONENT)
            self.recorder.event(xr, "Normal", "ComposeResources", "Successfully composed resources", COMPONENT)
            self.announced.add(key)
        composed = self.composed(xr)
        synced = conditions.condition("Synced", "True", "ReconcileSuccess")
        composite = self.layout.composite(*key)
        if self.function is not None and composite is not None:
            ready, status = await self.function.run(xr, composite, composed, time.monotonic())
            self._write(xr, status, synced, ready)
            return
        # readiness comes from managed resources; a DNSEndpoint (ExternalDNS's) has no Ready condition
        unready = [o["metadata"]["name"] for o in composed
                   if "forProvider" in (o.get("spec") or {}) and not conditions.is_true(o, "Ready")]
        ready = (conditions.condition("Ready", "False", "Creating", f"Unready resources: {', '.join(unready)}")
                 if unready else conditions.condition("Ready", "True", "Available"))
        self._write(xr, {}, synced, ready)

    def _write(self, xr: dict[str, Any], extra: dict[str, Any], *updates: dict[str, str]) -> None:
        status = xr.get("status") or {}
        new_conditions = conditions.merged(status.get("conditions"), *updates)
        patch: dict[str, Any] = {}
        if new_conditions != status.get("conditions"):
            patch["conditions"] = new_conditions
        for key, value in extra.items():
            current = status.get(key)
            wanted = {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value
            if current != wanted:
                patch[key] = value  # None values in a merge patch remove what is no longer true
        if patch:
            self.cluster.patch(self.xr_type, xr["metadata"].get("namespace", ""), xr["metadata"]["name"], MERGE_PATCH,
                               {"status": patch},
                               subresource="status")
        self._propagate_to_claim(xr, new_conditions)

    def _propagate_to_claim(self, xr: dict[str, Any], xr_conditions: list[dict[str, Any]]) -> None:
        ref = (xr.get("spec") or {}).get("claimRef") or {}
        if not ref.get("name"):
            return
        claim = self.cluster.store.get((XR_GROUP, CLAIM_PLURAL), ref.get("namespace", ""), ref["name"])
        claim_type = self.cluster.registry.get(XR_GROUP, XR_VERSION, CLAIM_PLURAL)
        if claim is None or claim_type is None:
            return
        wanted = [c for c in xr_conditions if c.get("type") in ("Synced", "Ready")]
        current = (claim.get("status") or {}).get("conditions")
        merged = conditions.merged(current, *wanted)
        if merged != current:
            self.cluster.patch(claim_type, ref.get("namespace", ""), ref["name"], MERGE_PATCH,
                               {"status": {"conditions": merged}}, subresource="status")
