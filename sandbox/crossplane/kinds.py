"""Look up a served resource type; the simulation's kinds must exist once its CRDs are installed."""

from __future__ import annotations

from ..cluster import Cluster
from ..registry import ResourceType


def rtype(cluster: Cluster, group: str, version: str, plural: str) -> ResourceType:
    found = cluster.registry.get(group, version, plural)
    if found is None:
        raise RuntimeError(f"{plural}.{group}/{version} is not served; were its CRDs installed?")
    return found
