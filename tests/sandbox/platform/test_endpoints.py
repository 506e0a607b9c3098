"""The cluster's own endpoints as a real cluster publishes them, through kubectl and the official client, and as the
ground truth states them: ``default/kubernetes`` (its endpoint is not its ClusterIP), ``kube-system/kube-dns`` with
the CoreDNS pods behind it, NodeLocal DNS, and nodes with a ``spec.providerID``."""

from __future__ import annotations

from kubernetes import client

from tests.sandbox.platform.platforms import Platform


def test_kubectl_get_endpointslices_all_namespaces(realistic: Platform) -> None:
    rows = {(r["NAMESPACE"], r["NAME"].rsplit("-", 1)[0] if r["NAME"].startswith("kube-dns-") else r["NAME"]): r
            for r in realistic.table("endpointslices", "-A")}
    truth = realistic.truth["endpoints"]
    api = rows[("default", "kubernetes")]
    assert api["ADDRESSTYPE"] == "IPv4"
    assert api["ENDPOINTS"] == ",".join(e["ip"] for e in truth["apiServer"]["endpoints"])
    assert truth["apiServer"]["clusterIP"] not in api["ENDPOINTS"]
    dns = rows[("kube-system", "kube-dns")]
    assert dns["PORTS"] == "53,53,9153"
    assert dns["ENDPOINTS"] == ",".join(p["ip"] for p in truth["dns"]["pods"])


def test_services_and_slices_through_the_official_client(realistic: Platform) -> None:
    core, discovery = realistic.core, client.DiscoveryV1Api(realistic.api)
    truth = realistic.truth["endpoints"]
    kubernetes = core.read_namespaced_service("kubernetes", "default")
    assert kubernetes.spec.cluster_ip == truth["apiServer"]["clusterIP"] == "10.96.0.1"
    assert [(p.port, p.target_port) for p in kubernetes.spec.ports] == [
        (443, truth["apiServer"]["endpoints"][0]["port"])]
    slices = discovery.list_namespaced_endpoint_slice("default",
                                                      label_selector="kubernetes.io/service-name=kubernetes").items
    assert [a for e in slices[0].endpoints for a in e.addresses] == [e["ip"] for e in truth["apiServer"]["endpoints"]]
    kube_dns = core.read_namespaced_service("kube-dns", "kube-system")
    assert kube_dns.spec.cluster_ip == truth["dns"]["clusterIP"] and kube_dns.spec.selector == {"k8s-app": "kube-dns"}
    coredns = core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items
    assert sorted(p.status.pod_ip for p in coredns) == sorted(p["ip"] for p in truth["dns"]["pods"])
    dns_slice = discovery.list_namespaced_endpoint_slice("kube-system",
                                                         label_selector="kubernetes.io/service-name=kube-dns").items[0]
    assert {e.target_ref.name for e in dns_slice.endpoints} == {p.metadata.name for p in coredns}
    assert dns_slice.metadata.labels["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"


def test_node_local_dns_runs_on_every_node(realistic: Platform) -> None:
    truth = realistic.truth
    assert truth["endpoints"]["dns"]["nodeLocal"] == truth["endpoints"]["dns"]["nameserver"] == "169.254.20.10"
    pods = realistic.core.list_namespaced_pod("kube-system", label_selector="k8s-app=node-local-dns").items
    assert sorted(p.spec.node_name for p in pods) == sorted(n["name"] for n in truth["nodes"])
    assert all(p.spec.host_network and "169.254.20.10" in p.spec.containers[0].args for p in pods)


def test_nodes_have_provider_ids(realistic: Platform) -> None:
    rows = realistic.table("nodes", "-o", "wide")
    truth = {n["name"]: n for n in realistic.truth["nodes"]}
    assert sorted(r["NAME"] for r in rows) == sorted(truth) and len(rows) == 3
    assert {r["STATUS"] for r in rows} == {"Ready"}
    assert all(r["INTERNAL-IP"] == truth[r["NAME"]]["internalIP"] for r in rows)
    for node in realistic.core.list_node().items:
        assert node.spec.provider_id == truth[node.metadata.name]["providerID"]
        assert node.spec.provider_id.startswith("aws:///us-east-1")
    provider_nodes = {p.spec.node_name for p in realistic.provider_pods("provider-aws-rds")}
    assert provider_nodes <= set(truth)


def test_kubectl_get_services_all_namespaces(realistic: Platform) -> None:
    rows = {(r["NAMESPACE"], r["NAME"]): r for r in realistic.table("services", "-A")}
    assert set(rows) == {("default", "kubernetes"), ("kube-system", "kube-dns"), ("kube-system", "kube-dns-upstream")}
    api, dns = rows[("default", "kubernetes")], rows[("kube-system", "kube-dns")]
    assert (api["TYPE"], api["CLUSTER-IP"], api["EXTERNAL-IP"], api["PORT(S)"]) == ("ClusterIP", "10.96.0.1",
                                                                                    "<none>", "443/TCP")
    assert (dns["CLUSTER-IP"], dns["PORT(S)"]) == ("10.96.0.10", "53/UDP,53/TCP,9153/TCP")
    wide = {r["NAME"]: r for r in realistic.table("services", "-n", "kube-system", "-o", "wide")}
    assert wide["kube-dns"]["SELECTOR"] == "k8s-app=kube-dns"
