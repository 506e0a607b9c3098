"""Does a NetworkPolicy let a pod reach an address? (networking.k8s.io/v1 egress semantics)

A pod is isolated for egress when any policy in its namespace selects it and has ``Egress`` in its
policyTypes (defaulted as the API does: Egress when the policy has egress rules). An isolated pod may reach a
destination only if some egress rule of those policies allows it. The clouds are outside the cluster, so only
``ipBlock`` peers (or rules without ``to``) can match them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _policy_types(spec: dict[str, Any]) -> list[str]:
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def _peer_allows(peer: dict[str, Any], address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    block = peer.get("ipBlock")
    if not block:
        return False  # pod/namespace selectors name pods in the cluster, never a cloud endpoint
    try:
        if address not in ipaddress.ip_network(block["cidr"], strict=False):
            return False
        return not any(address in ipaddress.ip_network(c, strict=False) for c in block.get("except") or [])
    except (KeyError, ValueError):
        return False


def _port_allows(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, int) and (wanted == port or wanted <= port <= entry.get("endPort", wanted)):
            return True
    return False


def egress_allowed(policies: Iterable[dict[str, Any]], pod_labels: dict[str, str], address: str, port: int,
                   protocol: str = "TCP") -> bool:
    ip = ipaddress.ip_address(address)
    isolating = [p.get("spec") or {} for p in policies
                 if _selects((p.get("spec") or {}).get("podSelector"), pod_labels)
                 and "Egress" in _policy_types(p.get("spec") or {})]
    if not isolating:
        return True
    for spec in isolating:
        for rule in spec.get("egress") or []:
            peers = rule.get("to")
            if (not peers or any(_peer_allows(p, ip) for p in peers)) and _port_allows(rule.get("ports"), port,
                                                                                       protocol):
                return True
    return False
