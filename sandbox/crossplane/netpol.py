"""Does a NetworkPolicy let a pod reach an address? (networking.k8s.io/v1 egress semantics)

A pod is isolated for egress when any policy in its namespace selects it and has ``Egress`` in its
policyTypes (defaulted as the API does: Egress when the policy has egress rules). An isolated pod may reach a
destination only if some egress rule of those policies allows it. Addresses outside the cluster (the clouds, the
API server's endpoints) match only ``ipBlock`` peers (or rules without ``to``); a pod (CoreDNS) also matches
``podSelector`` / ``namespaceSelector`` peers. Which address a rule sees, before or after Service translation,
is the CNI's business (``network.py``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PeerPod:
    """A destination that is a pod: its labels, its namespace and that namespace's labels."""

    labels: dict[str, str]
    namespace: str
    namespace_labels: dict[str, str]


def _selector_peer_allows(peer: dict[str, Any], policy_namespace: str, pod: PeerPod | None) -> bool:
    if pod is None:
        return False  # pod/namespace selectors name pods in the cluster, never an address outside it
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], pod.namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], pod.labels)


def _peer_allows(peer: dict[str, Any], address: ipaddress.IPv4Address | ipaddress.IPv6Address,
                 policy_namespace: str = "", pod: PeerPod | None = None) -> bool:
    block = peer.get("ipBlock")
    if not block:
        return _selector_peer_allows(peer, policy_namespace, pod)
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
                   protocol: str = "TCP", peer: PeerPod | None = None) -> bool:
    """May a pod with ``pod_labels`` open ``address:port`` (a pod itself when ``peer`` is given)?"""
    ip = ipaddress.ip_address(address)
    isolating = [((p.get("spec") or {}), p["metadata"].get("namespace", "")) for p in policies
                 if _selects((p.get("spec") or {}).get("podSelector"), pod_labels)
                 and "Egress" in _policy_types(p.get("spec") or {})]
    if not isolating:
        return True
    for spec, namespace in isolating:
        for rule in spec.get("egress") or []:
            peers = rule.get("to")
            if (not peers or any(_peer_allows(p, ip, namespace, peer) for p in peers)) and _port_allows(
                    rule.get("ports"), port, protocol):
                return True
    return False
