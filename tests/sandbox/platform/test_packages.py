"""Provider families as Upbound ships them: a family provider and its members, each a Provider with its own
ProviderRevision (labelled with its package, owning its CRDs, listing them in objectRefs) and its own pod; the
ProviderConfig CRD served by the family; a member blocked from its cloud errors for its own kinds only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.sandbox.platform.platforms import Platform, platform_document
from tests.support.waiting import wait_for

PKG = ("pkg.crossplane.io", "v1")


def _crd_owners(platform: Platform, name: str) -> list[dict[str, Any]]:
    crd = client.ApiextensionsV1Api(platform.api).read_custom_resource_definition(name)
    return [platform.api.sanitize_for_serialization(o) for o in crd.metadata.owner_references or []]


def test_providers_and_revisions_as_kubectl_shows_them(realistic: Platform) -> None:
    providers = {r["NAME"]: r for r in realistic.table("providers")}
    assert set(providers) == {"provider-family-aws", "provider-aws-rds", "provider-aws-route53", "provider-azure-sql"}
    assert {(r["INSTALLED"], r["HEALTHY"]) for r in providers.values()} == {("True", "True")}
    assert providers["provider-family-aws"]["PACKAGE"] == "xpkg.upbound.io/upbound/provider-family-aws:v1.23.0"
    revisions = {r["NAME"]: r for r in realistic.table("providerrevisions")}
    truth = {p["revision"]: p for p in realistic.truth["providers"]}
    assert set(revisions) == set(truth)
    for name, row in revisions.items():
        member = truth[name]["familyProvider"] is not None
        assert (row["HEALTHY"], row["STATE"], row["REVISION"]) == ("True", "Active", "1")
        assert (row["DEP-FOUND"], row["DEP-INSTALLED"]) == (("1", "1") if member else ("0", "0"))
    both = realistic.kubectl("get", "providers,providerrevisions", "-o", "name").stdout.split()
    assert len(both) == 8


def test_each_revision_owns_its_crds_and_the_family_serves_the_providerconfig(realistic: Platform) -> None:
    for package in realistic.truth["providers"]:
        revision = realistic.custom.get_cluster_custom_object(*PKG, "providerrevisions", package["revision"])
        labels = revision["metadata"]["labels"]
        assert labels["pkg.crossplane.io/package"] == package["name"] == labels["pkg.crossplane.io/provider"]
        provider = realistic.custom.get_cluster_custom_object(*PKG, "providers", package["name"])
        assert revision["metadata"]["ownerReferences"][0]["uid"] == provider["metadata"]["uid"]
        assert provider["status"]["currentRevision"] == package["revision"]
        listed = {r["name"] for r in revision["status"]["objectRefs"]}
        assert listed == set(package["crds"]) and listed
        for crd in listed:
            owners = _crd_owners(realistic, crd)
            assert owners == [{"apiVersion": "pkg.crossplane.io/v1", "kind": "ProviderRevision",
                               "name": package["revision"], "uid": revision["metadata"]["uid"],
                               "controller": True, "blockOwnerDeletion": True}]
    family = next(p for p in realistic.truth["providers"] if p["family"])
    assert "providerconfigs.aws.upbound.io" in family["crds"]
    rds = next(p for p in realistic.truth["providers"] if p["name"] == "provider-aws-rds")
    assert rds["crds"] == ["clusters.rds.aws.upbound.io"] and rds["familyProvider"] == family["name"]


def test_each_package_runs_its_own_pod(realistic: Platform) -> None:
    for package in realistic.truth["providers"]:
        pods = realistic.provider_pods(package["name"])
        assert [p.metadata.name for p in pods] == [p["name"] for p in package["pods"]]
        assert pods[0].metadata.labels["pkg.crossplane.io/revision"] == package["revision"]
        assert pods[0].spec.service_account_name == package["serviceAccount"]
        assert pods[0].status.phase == "Running"


def test_a_blocked_member_errors_only_for_its_own_kinds(write_platform: Callable[..., Path],
                                                        start_platform: Callable[..., Platform]) -> None:
    doc = platform_document("families", clouds={"aws": {"family": True, "providerConfigs": [{"name": "aws-main"}]},
                                                "azure": {"providerConfigs": [{"name": "azure-main"}]}},
                            composites=[{"namePrefix": "shop", "count": 2}])
    platform = start_platform(write_platform(doc))
    rds, route53 = platform.mrs("provider-aws-rds"), platform.mrs("provider-aws-route53")
    platform.wait_all_synced(rds + route53, "True")
    namespace = platform.truth["crossplane"]["namespace"]
    cloud = platform.truth["clouds"]["aws"]["endpoint"]
    client.NetworkingV1Api(platform.api).create_namespaced_network_policy(namespace, {
        "metadata": {"name": "block-rds-cloud"},
        "spec": {"podSelector": {"matchLabels": {"pkg.crossplane.io/provider": "provider-aws-rds"}},
                 "policyTypes": ["Egress"],
                 "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [f"{cloud}/32"]}}]}]}})
    platform.wait_all_synced(rds, "False")
    for mr in rds:
        assert platform.condition(mr, "Synced")["message"] == \
            f"observe failed: cannot run refresh: refresh failed: dial tcp {cloud}:443: i/o timeout"
    assert all(platform.synced(m) == "True" for m in route53)  # the same family, the same ProviderConfig
    client.NetworkingV1Api(platform.api).delete_namespaced_network_policy("block-rds-cloud", namespace)
    platform.wait_all_synced(rds, "True")


def test_a_deleted_provider_pod_is_replaced(write_platform: Callable[..., Path],
                                             start_platform: Callable[..., Platform]) -> None:
    platform = start_platform(write_platform(platform_document("replaced")))
    before = platform.provider_pods("provider-azure-sql")[0]
    platform.core.delete_namespaced_pod(before.metadata.name, before.metadata.namespace)

    def replaced() -> Any:
        pods = platform.provider_pods("provider-azure-sql")
        return pods if pods and pods[0].metadata.name != before.metadata.name else None

    after = wait_for(replaced, 10, what="a new provider-azure-sql pod")[0]
    assert after.metadata.labels["pkg.crossplane.io/revision"] == before.metadata.labels["pkg.crossplane.io/revision"]
    assert after.status.phase == "Running" and after.status.pod_ip != before.status.pod_ip
