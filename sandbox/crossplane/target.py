"""``DIR/target.yaml``: a Target for the harness, describing this sandbox as it would a real cluster.

For the seed platform it is complete (every managed resource by name). For any other platform it holds only what
a user knows without discovery: the XRs they created (or the claims, whose XR names are generated), the provider
packages, the ProviderConfigs' names, the namespace, the DNS records, the cloud API ranges, and an ``egressKeep``
written the way users write it, by ClusterIP. Composed resources' generated names are left out (``[]``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ..kubeconfig import CONTEXT
from . import platform
from .dnsmodes import DEFAULT as DEFAULT_DNS
from .layout import Layout
from .platform import Side
from .timings import DNS_MODE_TIMINGS, Timings

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


def _provider(side: Side, role: str, complete: bool = True) -> dict[str, Any]:
    """One cloud's provider; ``complete`` (the seed) names every managed resource and the service address."""
    names = ",".join(side.providers)
    return {
        "role": role,
        "providerConfig": {"apiVersion": f"{side.pc_group}/v1beta1", "kind": side.pc_kind,
                           "plural": side.pc_plural, "name": side.provider_config},
        # a workload identity has no Secret: the harness reads the source from the ProviderConfig
        **({"credentials": {"secret": {"namespace": side.namespace, "name": side.secret, "key": "credentials"}}}
           if side.secret else {}),
        "pods": {"namespace": side.namespace, "selector": f"pkg.crossplane.io/provider in ({names})"},
        "cloudEndpoints": [f"{side.cloud.endpoint}/32"],
        "managedResources": [{"apiVersion": r.api_version, "kind": r.kind, "plural": r.plural, "name": r.name,
                              "namespace": r.namespace or None} for r in side.managed] if complete else [],
        **({"serviceAddress": side.address} if complete else {}),
    }


def _composites(layout: Layout) -> list[dict[str, Any]]:
    """The XRs a user created by name; for a claimed XR (its name generated) the claim."""
    out: list[dict[str, Any]] = []
    for c in layout.composites:
        if c.claim is not None:
            out.append({"apiVersion": f"{platform.XR_GROUP}/{platform.XR_VERSION}", "kind": platform.CLAIM_KIND,
                        "plural": platform.CLAIM_PLURAL, "name": c.claim.name, "namespace": c.claim.namespace})
        else:
            out.append({"apiVersion": f"{platform.XR_GROUP}/{platform.XR_VERSION}", "kind": platform.XR_KIND,
                        "plural": platform.XR_PLURAL, "name": c.name, "namespace": c.namespace or None})
    return out


def document(kubeconfig: Path, profile: str, speed: str, timings: Timings, layout: Layout, nameserver: str,
             primary: str = "aws") -> dict[str, Any]:
    """The Target of this sandbox; ``primary`` is the cloud that serves first (``--primary``), the other one is
    the secondary, and DNS answers the primary's service address until it fails over."""
    seed = layout.name == "seed"
    sides = layout.sides
    function = layout.dns_mode == "function"
    # the function mode's file stays as it always was: its DNS timings and mode are written only for the others
    shown = {k: v for k, v in timings.as_dict().items() if not function or k not in DNS_MODE_TIMINGS}
    sandbox: dict[str, Any] = {"profile": profile, "speed": speed, "crossplane": layout.crossplane, "primary": primary,
                               "timings": shown}
    if not function:
        sandbox["dns"] = layout.dns_mode
    if not seed:  # what the Target format cannot say yet; the seed's file stays as it always was
        sandbox.update(platform=layout.name, platformFile=str((kubeconfig.parent / "platform.json").resolve()),
                       credentials={cloud: sorted({c.source for c in side.configs}) for cloud, side in sides.items()},
                       providerConfigs={cloud: [c.name for c in side.configs] for cloud, side in sides.items()})
    return {
        "apiVersion": "xpchaos.io/v1alpha1",
        "kind": "Target",
        "metadata": {"name": f"sandbox-{profile}" if seed else f"sandbox-{layout.name}-{profile}"},
        "kubeconfig": str(kubeconfig.resolve()),
        "context": CONTEXT,
        "allowedContexts": [CONTEXT],
        "composites": _composites(layout),
        "providers": {name: _provider(side, "primary" if name == primary else "secondary", complete=seed)
                      for name, side in sides.items()},
        "egressKeep": EGRESS_KEEP,
        # traffic-manager: the name answers a CNAME to the side's endpoint name, and A through it; the default
        # wiring (function) is left unsaid, so the seed's target stays as it always was (a harness classifies it)
        "dns": [{"name": c.dns_name.rstrip("."), "type": "A", "nameservers": [nameserver],
                 "primary": [c.addresses[c.primary]], "secondary": [c.addresses[c.secondary]],
                 "ttl": timings.dns_ttl, **({"wiring": layout.dns_mode} if layout.dns_mode != DEFAULT_DNS else {})}
                for c in layout.composites],
        "slos": {"dns_convergence": "90s"},
        "signals": SIGNALS,
        "sandbox": sandbox,
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Target for the xpchaos harness, written by `xpchaos sandbox up`.\n")
        yaml.safe_dump(doc, handle, sort_keys=False)
    os.replace(tmp, path)
