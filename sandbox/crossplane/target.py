"""``DIR/target.yaml``: a complete Target for the harness, describing this sandbox as it would a real cluster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ..kubeconfig import CONTEXT
from . import platform
from .platform import Side
from .timings import Timings

# what a provider pod still needs while its cloud is blocked: the API server (kubernetes service) and cluster DNS
EGRESS_KEEP = [{"cidr": "10.96.0.1/32", "port": 443, "protocol": "TCP"},
               {"cidr": "10.96.0.10/32", "port": 53, "protocol": "UDP"},
               {"cidr": "10.96.0.10/32", "port": 53, "protocol": "TCP"}]

SIGNALS = {  # docs/crossplane.md, 'The failover sequence in signals'; overridable per target
    "mr_error": {"condition": {"type": "Synced", "status": "False", "reason": "ReconcileError"},
                 "events": ["CannotConnectToProvider", "CannotObserveExternalResource"]},
    "mr_healthy": {"conditions": [{"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
                                  {"type": "Ready", "status": "True", "reason": "Available"}]},
    "xr_ready": {"condition": "Ready"},
    "pc_deletion_blocked": {"event": "UsageAccounting", "condition": {"type": "Terminating", "reason": "InUse"},
                            "finalizer": "in-use.crossplane.io"},
}


def _provider(side: Side, role: str) -> dict[str, Any]:
    names = ",".join(side.providers)
    return {
        "role": role,
        "providerConfig": {"apiVersion": f"{side.pc_group}/v1beta1", "kind": side.pc_kind,
                           "plural": side.pc_plural, "name": side.provider_config},
        "credentials": {"secret": {"namespace": platform.NAMESPACE, "name": side.secret, "key": "credentials"}},
        "pods": {"namespace": platform.NAMESPACE, "selector": f"pkg.crossplane.io/provider in ({names})"},
        "cloudEndpoints": [f"{side.cloud.endpoint}/32"],
        "managedResources": [{"apiVersion": r.api_version, "kind": r.kind, "plural": r.plural, "name": r.name,
                              "namespace": r.namespace or None} for r in side.managed],
        "serviceAddress": side.address,
    }


def document(kubeconfig: Path, profile: str, speed: str, timings: Timings, sides: dict[str, Side],
             nameserver: str, crossplane: str = "v1", primary: str = "aws") -> dict[str, Any]:
    """The Target of this sandbox; ``primary`` is the cloud that serves first (``--primary``), the other one is
    the secondary, and DNS answers the primary's service address until it fails over."""
    secondary = platform.secondary_of(primary)
    return {
        "apiVersion": "xpchaos.io/v1alpha1",
        "kind": "Target",
        "metadata": {"name": f"sandbox-{profile}"},
        "kubeconfig": str(kubeconfig.resolve()),
        "context": CONTEXT,
        "allowedContexts": [CONTEXT],
        "composites": [{"apiVersion": f"{platform.XR_GROUP}/{platform.XR_VERSION}", "kind": platform.XR_KIND,
                        "plural": platform.XR_PLURAL, "name": platform.XR_NAME,
                        "namespace": platform.V2_NAMESPACE if crossplane == "v2" else None}],
        "providers": {name: _provider(side, "primary" if name == primary else "secondary")
                      for name, side in sides.items()},
        "egressKeep": EGRESS_KEEP,
        "dns": [{"name": platform.DNS_NAME.rstrip("."), "type": "A", "nameservers": [nameserver],
                 "primary": [sides[primary].address], "secondary": [sides[secondary].address],
                 "ttl": timings.dns_ttl}],
        "slos": {"dns_convergence": "90s"},
        "signals": SIGNALS,
        "sandbox": {"profile": profile, "speed": speed, "crossplane": crossplane, "primary": primary,
                    "timings": timings.as_dict()},
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Target for the xpchaos harness, written by `xpchaos sandbox up`.\n")
        yaml.safe_dump(doc, handle, sort_keys=False)
    os.replace(tmp, path)
