"""The cluster network as a provider pod meets it: Services, their endpoints, and the CNI's NetworkPolicy semantics.

A pod dials a Service's ClusterIP; kube-proxy translates it (DNAT) to one of the Service's endpoints. Whether an
egress rule is matched against the address dialled or the one after translation depends on the CNI:

- ``pre-dnat``: rules see the ClusterIP (allowing ``10.96.0.1/32:443`` keeps the API server reachable);
- ``post-dnat`` (Calico, Cilium): rules see the endpoint (the API server at ``172.18.0.2:6443``, the CoreDNS pods
  on ``:53``), so a policy that allows only ClusterIPs cuts the pod off the API server and DNS;
- ``none``: NetworkPolicies are stored and never enforced (a CNI without policy support, e.g. flannel).

NodeLocal DNS answers on the link-local ``169.254.20.10`` of every node: nothing is translated there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..cluster import Cluster
from .netpol import PeerPod, egress_allowed

SERVICE_CIDR = "10.96.0.0/12"
API_CLUSTER_IP, DNS_CLUSTER_IP, NODE_LOCAL_DNS = "10.96.0.1", "10.96.0.10", "169.254.20.10"
COREDNS_IPS = ("10.244.0.2", "10.244.0.3")
# where the API server listens, as each kind of cluster publishes it in default/kubernetes
API_ENDPOINTS = {"kind": (("172.18.0.2", 6443),), "aws": (("10.0.113.21", 443), ("10.0.145.88", 443)),
                 "azure": (("10.224.0.4", 443),)}
POLICY_KEY = ("networking.k8s.io", "networkpolicies")


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int
    pod: PeerPod | None = None  # set when the endpoint is a pod (CoreDNS), which selector peers can match


@dataclass(frozen=True)
class Service:
    cluster_ip: str
    port: int
    protocol: str
    endpoints: tuple[Endpoint, ...]


def _kube_dns_pod() -> PeerPod:
    return PeerPod({"k8s-app": "kube-dns"}, "kube-system", {"kubernetes.io/metadata.name": "kube-system"})


@dataclass
class Network:
    cni: str = "pre-dnat"
    node_provider: str = "kind"
    node_local_dns: bool = False
    api: Service = field(init=False)
    dns: Service = field(init=False)

    def __post_init__(self) -> None:
        self.api = Service(API_CLUSTER_IP, 443, "TCP",
                           tuple(Endpoint(a, p) for a, p in API_ENDPOINTS[self.node_provider]))
        self.dns = Service(DNS_CLUSTER_IP, 53, "UDP", tuple(Endpoint(ip, 53, _kube_dns_pod()) for ip in COREDNS_IPS))

    @property
    def nameserver(self) -> str:
        """The address in the pods' resolv.conf."""
        return NODE_LOCAL_DNS if self.node_local_dns else DNS_CLUSTER_IP

    def _allowed(self, cluster: Cluster, pod: dict[str, Any], address: str, port: int, protocol: str,
                 peer: PeerPod | None = None) -> bool:
        policies = cluster.store.items(POLICY_KEY, pod["metadata"]["namespace"])
        return egress_allowed(policies, pod["metadata"].get("labels") or {}, address, port, protocol, peer)

    def _service(self, cluster: Cluster, pod: dict[str, Any], service: Service) -> bool:
        if self.cni == "none":
            return True
        if self.cni == "pre-dnat":
            return self._allowed(cluster, pod, service.cluster_ip, service.port, service.protocol)
        # kube-proxy picks an endpoint per connection; client retries get through if any of them is allowed
        return any(self._allowed(cluster, pod, e.address, e.port, service.protocol, e.pod) for e in service.endpoints)

    def api_reachable(self, cluster: Cluster, pod: dict[str, Any]) -> bool:
        """Can this pod's controller read and write through the API server?"""
        return self._service(cluster, pod, self.api)

    def dns_reachable(self, cluster: Cluster, pod: dict[str, Any]) -> bool:
        if self.node_local_dns:
            return self.cni == "none" or self._allowed(cluster, pod, NODE_LOCAL_DNS, 53, "UDP")
        return self._service(cluster, pod, self.dns)

    def address_reachable(self, cluster: Cluster, pod: dict[str, Any], address: str, port: int = 443) -> bool:
        """An address outside the cluster (a cloud API): never translated, matched by ipBlock only."""
        return self.cni == "none" or self._allowed(cluster, pod, address, port, "TCP")
