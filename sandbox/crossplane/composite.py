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
from .platform import XR_GROUP, XR_PLURAL, XR_VERSION, Side
from .recorder import Recorder
from .scheduler import Scheduler
from .timings import Timings

log = logging.getLogger("xpchaos.sandbox.crossplane.composite")
COMPONENT = f"defined/compositeresourcedefinition.apiextensions.crossplane.io/{XR_PLURAL}.{XR_GROUP}"


class CompositeReconciler:
    def __init__(self, cluster: Cluster, recorder: Recorder, sides: dict[str, Side], timings: Timings,
                 function: FailoverFunction | None) -> None:
        self.cluster, self.recorder, self.sides, self.timings = cluster, recorder, sides, timings
        self.function = function
        self.announced: set[str] = set()

    @property
    def xr_type(self) -> Any:
        return self.cluster.registry.get(XR_GROUP, XR_VERSION, XR_PLURAL)

    async def run(self) -> None:
        kinds = [(XR_GROUP, XR_PLURAL)] + [(r.group, r.plural) for s in self.sides.values() for r in s.managed]
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
        name = xr["metadata"]["name"]
        if name not in self.announced:
            composition = (platform.machinery(xr).get("compositionRef") or {}).get("name", "")
            self.recorder.event(xr, "Normal", "SelectComposition",
                                f"Successfully selected composition: {composition}", COMPONENT)
            self.recorder.event(xr, "Normal", "ComposeResources", "Successfully composed resources", COMPONENT)
            self.announced.add(name)
        composed = self.composed(xr)
        synced = conditions.condition("Synced", "True", "ReconcileSuccess")
        if self.function is not None:
            ready, status = await self.function.run(xr, composed, time.monotonic())
            self._write(xr, status, synced, ready)
            return
        unready = [o["metadata"]["name"] for o in composed if not conditions.is_true(o, "Ready")]
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
