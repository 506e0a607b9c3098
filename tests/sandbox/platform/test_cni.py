"""NetworkPolicy semantics per CNI, seen as the harness would see them.

``post-dnat`` (Calico, Cilium): a policy that keeps only the ClusterIPs (the target's ``egressKeep``, as users write
it) cuts the provider off the API server as well, so the fault is never reported: its conditions stop changing and
no Event is written (the trap). Keeping the API server's real endpoint and the CoreDNS pods reports the fault.
``pre-dnat``: the same ClusterIP keep reports the fault. ``none``: policies are stored and nothing happens. Each
"nothing happened" is shown against a control that did happen in the same time, never by waiting a fixed time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.sandbox.platform.platforms import Platform, platform_document

RDS, ROUTE53 = "provider-aws-rds", "provider-aws-route53"


def _start(write_platform: Callable[..., Path], start_platform: Callable[..., Platform], cni: str,
           **cluster: Any) -> Platform:
    doc = platform_document(f"cni-{cni}", cluster={"cni": cni, "nodes": 2, **cluster},
                            composites=[{"namePrefix": "pay", "count": 2}])
    platform = start_platform(write_platform(doc))
    platform.wait_all_synced(platform.mrs(), "True")
    return platform


def _policy(platform: Platform, name: str, provider: str, egress: list[dict[str, Any]]) -> None:
    client.NetworkingV1Api(platform.api).create_namespaced_network_policy(
        platform.truth["crossplane"]["namespace"],
        {"metadata": {"name": name},
         "spec": {"podSelector": {"matchLabels": {"pkg.crossplane.io/provider": provider}}, "policyTypes": ["Egress"],
                  "egress": egress}})


def _keep_by_cluster_ip(platform: Platform) -> list[dict[str, Any]]:
    """The target's egressKeep as a policy (what the harness's block fault writes)."""
    return [{"to": [{"ipBlock": {"cidr": k.cidr}}], "ports": [{"port": k.port, "protocol": k.protocol}]}
            for k in platform.box.target.egress_keep]


def _keep_by_endpoint(platform: Platform) -> list[dict[str, Any]]:
    """What works after DNAT: the API server's endpoints and the CoreDNS pods, by their real addresses."""
    api = platform.truth["endpoints"]["apiServer"]["endpoints"]
    return [*({"to": [{"ipBlock": {"cidr": f"{e['ip']}/32"}}], "ports": [{"port": e["port"], "protocol": "TCP"}]}
              for e in api),
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                     "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
             "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]


def _warnings_about(platform: Platform, refs: list[dict[str, Any]]) -> list[str]:
    names = {m["name"] for m in refs}
    events = platform.core.list_namespaced_event("default").items
    return [e.reason for e in events if e.type == "Warning" and e.involved_object.name in names]


def _unchanged(platform: Platform, before: dict[str, str]) -> bool:
    return all(platform.managed(m)["metadata"]["resourceVersion"] == rv
               for m in platform.mrs(RDS) for rv in [before[m["name"]]])


def test_post_dnat_keeping_cluster_ips_hides_the_fault_and_endpoints_report_it(
        write_platform: Callable[..., Path], start_platform: Callable[..., Platform]) -> None:
    p = _start(write_platform, start_platform, "post-dnat")
    api_endpoint = p.truth["endpoints"]["apiServer"]["endpoints"][0]
    assert (api_endpoint["ip"], api_endpoint["port"]) == ("172.18.0.2", 6443)  # not the ClusterIP 10.96.0.1:443
    before = {m["name"]: p.managed(m)["metadata"]["resourceVersion"] for m in p.mrs(RDS)}
    _policy(p, "keep-cluster-ips", RDS, _keep_by_cluster_ip(p))  # blocks the cloud, and (post-DNAT) the API
    _policy(p, "keep-endpoints", ROUTE53, _keep_by_endpoint(p))  # the control: blocks the cloud only
    p.wait_all_synced(p.mrs(ROUTE53), "False")
    assert "dial tcp 203.0.113.10:443: i/o timeout" in p.condition(p.mrs(ROUTE53)[0], "Synced")["message"]
    assert "CannotObserveExternalResource" in _warnings_about(p, p.mrs(ROUTE53))
    # the provider cut off the API server has reported nothing in the same time: not a condition, not an Event
    assert all(p.synced(m) == "True" for m in p.mrs(RDS))
    assert _unchanged(p, before)
    assert _warnings_about(p, p.mrs(RDS)) == []
    client.NetworkingV1Api(p.api).delete_namespaced_network_policy("keep-cluster-ips",
                                                                   p.truth["crossplane"]["namespace"])
    p.wait_all_synced(p.mrs(RDS), "True")
    _policy(p, "rds-keep-endpoints", RDS, _keep_by_endpoint(p))
    p.wait_all_synced(p.mrs(RDS), "False")


def test_pre_dnat_keeping_cluster_ips_reports_the_fault(write_platform: Callable[..., Path],
                                                         start_platform: Callable[..., Platform]) -> None:
    p = _start(write_platform, start_platform, "pre-dnat")
    _policy(p, "keep-cluster-ips", RDS, _keep_by_cluster_ip(p))
    p.wait_all_synced(p.mrs(RDS), "False")
    assert p.condition(p.mrs(RDS)[0], "Synced")["message"] == \
        "observe failed: cannot run refresh: refresh failed: dial tcp 203.0.113.10:443: i/o timeout"
    assert all(p.synced(m) == "True" for m in p.mrs(ROUTE53))
    client.NetworkingV1Api(p.api).delete_namespaced_network_policy("keep-cluster-ips",
                                                                   p.truth["crossplane"]["namespace"])
    p.wait_all_synced(p.mrs(RDS), "True")


def test_none_stores_policies_and_enforces_nothing(write_platform: Callable[..., Path],
                                                   start_platform: Callable[..., Platform]) -> None:
    p = _start(write_platform, start_platform, "none")
    before = {m["name"]: p.managed(m)["metadata"]["resourceVersion"] for m in p.mrs(RDS)}
    _policy(p, "deny-all", RDS, [])
    namespace = p.truth["crossplane"]["namespace"]
    assert [r["NAME"] for r in p.table("networkpolicies", "-n", namespace)] == ["deny-all"]
    # the control: a credential the cloud rejects is reported in the time the policy changed nothing
    azure = p.mrs("provider-azure-sql")
    p.core.patch_namespaced_secret("azure-main-creds", namespace, {"stringData": {"credentials": "{}"}})
    p.wait_all_synced(azure, "False")
    assert _unchanged(p, before) and all(p.synced(m) == "True" for m in p.mrs(RDS))


def test_node_local_dns_must_be_allowed_for_the_cloud_to_resolve(write_platform: Callable[..., Path],
                                                                 start_platform: Callable[..., Platform]) -> None:
    p = _start(write_platform, start_platform, "post-dnat", nodeLocalDNS=True)
    assert p.truth["endpoints"]["dns"]["nameserver"] == "169.254.20.10"
    api = [r for r in _keep_by_endpoint(p) if "ipBlock" in r["to"][0]]
    cloud = [{"to": [{"ipBlock": {"cidr": "203.0.113.10/32"}}], "ports": [{"port": 443, "protocol": "TCP"}]}]
    _policy(p, "no-dns", RDS, [*api, *cloud, *_keep_by_cluster_ip(p)])  # kube-dns's ClusterIP: not what pods ask
    p.wait_all_synced(p.mrs(RDS), "False")
    message = p.condition(p.mrs(RDS)[0], "Synced")["message"]
    assert "dial tcp: lookup rds.us-east-1.amazonaws.com on 169.254.20.10:53: read udp " in message
    _policy(p, "node-local-dns", RDS, [{"to": [{"ipBlock": {"cidr": "169.254.20.10/32"}}],
                                        "ports": [{"port": 53, "protocol": "UDP"}]}])
    p.wait_all_synced(p.mrs(RDS), "True")
