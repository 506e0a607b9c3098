"""Which managed resources each composite of the target composes, resolved from the cluster at run time.

The target's composites (XRs or claims) are the source; their composed resources have generated names that change
when one is re-created, so a target need not list them. ``resolve`` follows each composite's resource refs (claims
to their XR; v1 ``spec.resourceRefs``, v2 ``spec.crossplane.resourceRefs``) and splits the managed resources by
provider: an MR's API group family (``rds.aws.upbound.io`` → ``aws.upbound.io``) is the group of one provider's
ProviderConfig. Managed resources the target does list are a check: each must be among those resolved.

A ``Resolution`` is shared by the recorder (which objects to watch) and the expectations (whose conditions count
for which XR and provider); it changes while a run goes on (``replace``), so readers take a copy of what they need.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from xpchaos.core import platform_graph
from xpchaos.core.target import ObjectRef, Target

from . import timeline as tl

ObjKey = tuple[str, str | None, str]  # plural, namespace, name (as the timeline names objects)
COMPOSITE_LABEL = "crossplane.io/composite"  # what Crossplane labels every composed resource with: the XR's name
Composer = Callable[[client.ApiClient, ObjectRef], list[ObjectRef]]


def label(ref: ObjectRef) -> str:
    """How a composite is named in verdicts and reports: ``name``, or ``namespace/name`` for a namespaced one."""
    return f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name


def key(ref: ObjectRef) -> ObjKey:
    return ref.plural, ref.namespace, ref.name


def provider_of(target: Target, ref: ObjectRef) -> str | None:
    """The target's provider whose ProviderConfig group is the MR's group family (or the group itself)."""
    for name, provider in target.providers.items():
        if provider.provider_config.group in (platform_graph.family_group(ref.group), ref.group):
            return name
    return None


@dataclass
class Resolution:
    """Composite label → provider → the managed resources it composes there; ``unplaced`` those of no provider."""

    composites: dict[str, ObjectRef] = field(default_factory=dict)
    managed: dict[str, dict[str, list[ObjectRef]]] = field(default_factory=dict)
    unplaced: dict[str, list[ObjectRef]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def mr_keys(self, provider: str, composite: str | None = None) -> list[ObjKey]:
        """The MRs of ``provider`` composed by ``composite`` (every composite when None)."""
        with self._lock:
            names = [composite] if composite is not None else list(self.managed)
            return [key(m) for c in names for m in self.managed.get(c, {}).get(provider, [])]

    def refs(self) -> list[ObjectRef]:
        """Every managed resource resolved, each once."""
        with self._lock:
            found = [m for by in self.managed.values() for ms in by.values() for m in ms]
            found += [m for ms in self.unplaced.values() for m in ms]
        return list(dict.fromkeys(found))

    def owner(self, mr: ObjKey) -> str | None:
        """The composite that composes ``mr``, if any."""
        with self._lock:
            return next((c for c, by in self.managed.items() for ms in by.values() for m in ms if key(m) == mr),
                        None)

    def replace(self, target: Target, composite: str, refs: Iterable[ObjectRef]) -> tuple[list[ObjectRef],
                                                                                             list[ObjectRef]]:
        """Set what ``composite`` composes now; returns (added, removed)."""
        refs = list(dict.fromkeys(refs))
        by: dict[str, list[ObjectRef]] = {}
        unplaced = []
        for ref in refs:
            provider = provider_of(target, ref)
            if provider is None:
                unplaced.append(ref)
            else:
                by.setdefault(provider, []).append(ref)
        with self._lock:
            before = {m for ms in self.managed.get(composite, {}).values() for m in ms} | \
                set(self.unplaced.get(composite, []))
            self.managed[composite], self.unplaced[composite] = by, unplaced
        now = set(refs)
        return [r for r in refs if r not in before], sorted(before - now, key=lambda r: (r.plural, r.name))

    def mismatch(self, target: Target) -> str | None:
        """The MRs the target lists that no composite composes (with their provider), or None."""
        missing = []
        for name, provider in target.providers.items():
            resolved = set(self.mr_keys(name))
            missing += [f"providers.{name}.managedResources: {m.describe()}" for m in provider.managed
                        if key(m) not in resolved]
        if not missing:
            return None
        return (f"{target.path}: the target lists managed resources its composites do not compose: "
                f"{'; '.join(missing)}; remove them (composed resources are found from the XRs) or correct them")

    def as_entries(self) -> list[dict[str, Any]]:
        """What the recorder puts on the timeline for each resolved MR (``RESOLVED`` entries)."""
        with self._lock:
            rows = [(c, p, m) for c, by in self.managed.items() for p, ms in by.items() for m in ms]
            rows += [(c, "", m) for c, ms in self.unplaced.items() for m in ms]
        return [entry(self.composites.get(c), c, p, m) for c, p, m in rows]


def entry(composite: ObjectRef | None, name: str, provider: str, mr: ObjectRef, change: str = "") -> dict[str, Any]:
    """The fields of one ``RESOLVED`` timeline entry: the MR, the composite that composes it, its provider."""
    owner = {"composite": name, "provider": provider, "apiVersion": mr.api_version, "mrKind": mr.kind}
    if composite is not None:
        owner["compositeKind"] = composite.kind
    said = f"{mr.kind} {mr.name} composed by {name}" + (f" ({provider})" if provider else " (no provider)")
    return {"kind": mr.plural, "name": mr.name, "namespace": mr.namespace, "status": change or "composed",
            "message": f"{change}: {said}" if change else said, "involved": owner}


def from_entries(target: Target, entries: Iterable[tl.Entry]) -> Resolution | None:
    """The resolution a finished run recorded on its timeline, as it stood at the end (None: nothing recorded)."""
    found: dict[str, list[ObjectRef]] = {}
    seen = False
    for e in entries:
        if e.what != tl.RESOLVED:
            continue
        seen = True
        ref = ObjectRef(e.involved.get("apiVersion", ""), e.involved.get("mrKind", ""), e.kind, e.name,
                        e.namespace or None)
        refs = found.setdefault(e.involved.get("composite", ""), [])
        if e.status == "removed":
            refs[:] = [r for r in refs if r != ref]
        elif ref not in refs:
            refs.append(ref)
    if not seen:
        return None
    resolution = Resolution({label(c): c for c in target.composites})
    for name, refs in found.items():
        resolution.replace(target, name, refs)
    return resolution


def resolve(api: client.ApiClient, target: Target, composer: Composer, into: Resolution | None = None) -> Resolution:
    """What each of the target's composites composes now (``composer``: one composite's managed resources), in
    ``into`` when given (a resolution others already hold)."""
    resolution = into if into is not None else Resolution()
    resolution.composites.update({label(c): c for c in target.composites})
    for composite in target.composites:
        resolution.replace(target, label(composite), composer(api, composite))
    return resolution
