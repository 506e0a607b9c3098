"""The cluster's own objects, as a real cluster publishes them: Nodes (with ``spec.providerID``), the
``default/kubernetes`` Service and EndpointSlice (the API server's real address and port, not the ClusterIP's),
``kube-system/kube-dns`` with its EndpointSlice and CoreDNS pods (``k8s-app=kube-dns``), and optionally NodeLocal
DNS (``169.254.20.10`` on every node, its pods on the host network, ``kube-dns-upstream``).

The addresses come from ``network.py``, which is also what decides whether a provider pod's traffic gets through.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from ..cluster import Cluster
from ..patching import MERGE_PATCH
from .kinds import rtype
from .layout import suffix
from .network import API_CLUSTER_IP, COREDNS_IPS, DNS_CLUSTER_IP, NODE_LOCAL_DNS, Network

KUBELET = "v1.31.4"
_NODE_IMAGES = {"kind": ("Debian GNU/Linux 12 (bookworm)", "6.8.0-1017-aws", "containerd://1.7.24"),
                "aws": ("Amazon Linux 2023.6.20241212", "6.1.119-129.201.amzn2023.x86_64", "containerd://1.7.23"),
                "azure": ("Ubuntu 22.04.5 LTS", "5.15.0-1074-azure", "containerd://1.7.23-1")}


def _create(cluster: Cluster, group: str, plural: str, obj: dict[str, Any], status: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    kind = rtype(cluster, group, "v1", plural)
    namespace = obj["metadata"].get("namespace", "")
    created = cluster.create(kind, namespace, obj)
    if status is not None:
        created = cluster.patch(kind, namespace, created["metadata"]["name"], MERGE_PATCH, {"status": status},
                                subresource="status")
    return created


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def node_identity(provider: str, index: int) -> tuple[str, str, str]:
    """(name, spec.providerID, InternalIP) of node ``index`` as each kind of cluster names its nodes."""
    if provider == "aws":
        ip = f"10.0.{(index * 37 + 16) % 224 + 16}.{(index * 53 + 23) % 250 + 2}"
        instance = "i-0" + hashlib.sha256(f"node-{index}".encode()).hexdigest()[:16]
        zone = "us-east-1" + "abc"[index % 3]
        return f"ip-{ip.replace('.', '-')}.ec2.internal", f"aws:///{zone}/{instance}", ip
    if provider == "azure":
        name = f"aks-nodepool1-31415926-vmss{index:06d}"
        return (name, "azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_platform_aks_"
                      "eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-31415926-vmss/"
                      f"virtualMachines/{index}", f"10.224.0.{index + 4}")
    name = "kind-control-plane" if index == 0 else f"kind-worker{index if index > 1 else ''}"
    return name, f"kind://docker/kind/{name}", f"172.18.0.{index + 2}"


def _node(network: Network, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    name, provider_id, ip = node_identity(network.node_provider, index)
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    if network.node_provider == "kind" and index == 0:
        labels["node-role.kubernetes.io/control-plane"] = ""
    os_image, kernel, runtime = _NODE_IMAGES[network.node_provider]
    status = {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
              "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                              "message": "kubelet is posting ready status"}],
              "capacity": {"cpu": "4", "memory": "16305348Ki", "pods": "110"},
              "allocatable": {"cpu": "4", "memory": "16202948Ki", "pods": "110"},
              "nodeInfo": {"kubeletVersion": KUBELET, "kubeProxyVersion": KUBELET, "osImage": os_image,
                           "kernelVersion": kernel, "containerRuntimeVersion": runtime, "architecture": "amd64",
                           "operatingSystem": "linux", "machineID": _digest(f"machine-{name}")[:32],
                           "systemUUID": str(uuid.UUID(_digest(f"system-{name}")[:32])), "bootID": str(uuid.uuid4())},
              "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"providerID": provider_id, "podCIDR": f"10.244.{index}.0/24"}}, status


def _running_pod(name: str, labels: dict[str, str], container: dict[str, Any], node: dict[str, Any], ip: str,
                 host_network: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    image = container["image"]
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
        "spec": {"nodeName": node["metadata"]["name"], "hostNetwork": host_network, "containers": [container]}}
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": node_ip,
              "conditions": [{"type": "Ready", "status": "True"}],
              "containerStatuses": [{"name": container["name"], "ready": True, "restartCount": 0,
                                     "started": True, "image": image, "imageID": image + "@sha256:" + "0" * 64,
                                     "containerID": "containerd://" + secrets.token_hex(32),
                                     "state": {"running": {}}}]}
    return body, status


def _slice(name: str, namespace: str, service: str, endpoints: list[dict[str, Any]], ports: list[dict[str, Any]],
           managed_by: str | None) -> dict[str, Any]:
    labels = {"kubernetes.io/service-name": service}
    if managed_by:
        labels["endpointslice.kubernetes.io/managed-by"] = managed_by
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def publish(cluster: Cluster, network: Network, node_count: int) -> dict[str, Any]:
    """Create the nodes, the API server's and DNS's Services and EndpointSlices and the DNS pods; returns what
    was published (for ``platform.json``) with the node objects under ``nodes``."""
    nodes = [_create(cluster, "", "nodes", *_node(network, i)) for i in range(node_count)]
    api_endpoints = [{"addresses": [e.address], "conditions": {"ready": True}} for e in network.api.endpoints]
    _create(cluster, "", "services", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": API_CLUSTER_IP, "clusterIPs": [API_CLUSTER_IP],
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": network.api.endpoints[0].port}]}}, {"loadBalancer": {}})
    _create(cluster, "discovery.k8s.io", "endpointslices", _slice(
        "kubernetes", "default", "kubernetes", api_endpoints,
        [{"name": "https", "port": network.api.endpoints[0].port, "protocol": "TCP"}], None))
    dns_pods = _dns(cluster, network, nodes)
    local = _node_local_dns(cluster, nodes) if network.node_local_dns else []
    return {"nodes": nodes, "dns_pods": dns_pods, "node_local_pods": local}


def _dns(cluster: Cluster, network: Network, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ports = [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
             {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
             {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]
    _create(cluster, "", "services", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
                     "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
        "spec": {"type": "ClusterIP", "clusterIP": DNS_CLUSTER_IP, "clusterIPs": [DNS_CLUSTER_IP],
                 "selector": {"k8s-app": "kube-dns"}, "ports": ports}}, {"loadBalancer": {}})
    template_hash = "668d6bf9bc"
    pods = []
    for i, ip in enumerate(COREDNS_IPS):
        body, status = _running_pod(f"coredns-{template_hash}-{suffix()}",
                                    {"k8s-app": "kube-dns", "pod-template-hash": template_hash},
                                    {"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                                     "args": ["-conf", "/etc/coredns/Corefile"]}, nodes[i % len(nodes)], ip)
        pods.append(_create(cluster, "", "pods", body, status))
    endpoints = [{"addresses": [p["status"]["podIP"]], "conditions": {"ready": True, "serving": True,
                                                                     "terminating": False},
                  "nodeName": p["spec"]["nodeName"],
                  "targetRef": {"kind": "Pod", "namespace": "kube-system", "name": p["metadata"]["name"],
                                "uid": p["metadata"]["uid"]}} for p in pods]
    _create(cluster, "discovery.k8s.io", "endpointslices", _slice(
        f"kube-dns-{suffix()}", "kube-system", "kube-dns", endpoints,
        [{"name": p["name"], "port": p["port"], "protocol": p["protocol"]} for p in ports],
        "endpointslice-controller.k8s.io"))
    return pods


def _node_local_dns(cluster: Cluster, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NodeLocal DNSCache: a DaemonSet's pod on every node's host network, listening on 169.254.20.10, and
    ``kube-dns-upstream`` (the same CoreDNS pods, for the cache's misses)."""
    _create(cluster, "", "services", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns-upstream", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNSUpstream"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.11", "clusterIPs": ["10.96.0.11"],
                 "selector": {"k8s-app": "kube-dns"},
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}},
        {"loadBalancer": {}})
    pods = []
    for node in nodes:
        node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        container = {"name": "node-cache", "image": "registry.k8s.io/dns/k8s-dns-node-cache:1.23.1",
                     "args": ["-localip", NODE_LOCAL_DNS, "-conf", "/etc/Corefile",
                              "-upstreamsvc", "kube-dns-upstream"]}
        body, status = _running_pod(f"node-local-dns-{suffix()}", {"k8s-app": "node-local-dns"}, container, node,
                                    node_ip, host_network=True)
        pods.append(_create(cluster, "", "pods", body, status))
    return pods
