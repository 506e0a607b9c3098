"""``xpchaos discover`` on real sandboxes, as a user runs it (its own process, the kubeconfig in $KUBECONFIG):
on ``realistic`` it finds exactly the XRs, MRs, ProviderConfigs, credential sources, pods and DNS names of the
ground truth (``platform.json``), its target loads and passes ``xpchaos preflight``, and every request it made was
a GET or a LIST (the sandbox's audit log); on ``seed`` (Crossplane v1 and v2) it finds what the seed's own target
names; ``--tree`` prints the walk; what it cannot follow is refused in one line with exit code 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.support import sandboxes
from tests.support.commands import xpchaos
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.core.target_model import ObjectRef, Target
from xpchaos.run import discover

XR_KIND = "xglobaldatabases.database.example.org"


@dataclass(frozen=True)
class Box:
    sandbox: sandboxes.Sandbox
    audit: Path

    @property
    def truth(self) -> dict[str, Any]:
        return dict(json.loads((self.sandbox.state_dir / "platform.json").read_text()))

    def discover(self, *args: str) -> Any:
        env = {**os.environ, "KUBECONFIG": self.sandbox.kubeconfig}
        return xpchaos("discover", *args, env=env)


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    state_dir = tmp_path_factory.mktemp("realistic")
    audit = state_dir / "audit.jsonl"
    with sandboxes.running(state_dir, *sandboxes.fast("blueprint"), "--platform", "realistic",
                           "--audit-log", str(audit)) as box:
        yield Box(box, audit)


def _ref(doc: dict[str, Any]) -> ObjectRef:
    return ObjectRef(doc["apiVersion"], doc["kind"], doc["plural"], doc["name"], doc.get("namespace"))


def _selected(box: sandboxes.Sandbox, namespace: str, selector: str) -> set[str]:
    api = kube.api_client(box.kubeconfig)
    try:
        core: Any = client.CoreV1Api(api)
        return {p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector=selector).items}
    finally:
        api.close()


@pytest.fixture(scope="module")
def discovered(realistic: Box, tmp_path_factory: pytest.TempPathFactory) -> Target:
    out = tmp_path_factory.mktemp("discovered") / "target.yaml"
    result = realistic.discover("--kind", XR_KIND, "-l", "crossplane.io/composite", "--nameserver",
                                str(realistic.sandbox.dns), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return targets.load(out)


def test_finds_exactly_the_xrs_and_mrs_of_the_platform(realistic: Box, discovered: Target) -> None:
    truth = realistic.truth
    assert set(discovered.composites) == {_ref(xr) for xr in truth["composites"]}
    for cloud, provider in discovered.providers.items():
        expected = {_ref(mr) for xr in truth["composites"] for mr in xr["managedResources"] if mr["cloud"] == cloud}
        assert set(provider.managed) == expected, cloud
    assert set(discovered.providers) == {"aws", "azure"}
    assert discovered.provider("primary").name == "aws"  # the side every record answers now


def test_finds_the_provider_configs_and_their_credential_sources(realistic: Box, discovered: Target) -> None:
    api = kube.api_client(realistic.sandbox.kubeconfig)
    try:
        roots = discover.roots_from_selector(api, XR_KIND, "crossplane.io/composite", None)
        found = discover.walk(api, roots, "xpchaos-sandbox", None)
    finally:
        api.close()
    truth = {(pc["apiVersion"], pc["kind"], pc["name"]): pc["credentials"] for pc in realistic.truth["providerConfigs"]}
    assert {(pc.api_version, pc.kind, pc.name) for pc in found.configs} == set(truth)
    for pc, source in found.configs.items():  # source, Secret, role ARNs, the ServiceAccounts with the identity
        assert source.as_dict() == truth[(pc.api_version, pc.kind, pc.name)], pc.name
        assert f"  #   {pc.kind} {pc.name}: " in discovered.path.read_text()  # every one named in the file
    azure = discovered.provider("azure")
    assert azure.credentials is not None and azure.credentials.name == "azure-creds"
    assert discovered.provider("aws").credentials is None  # IRSA: no Secret to pin


def test_pods_are_every_pod_of_the_providers_serving_the_kinds(realistic: Box, discovered: Target) -> None:
    truth = realistic.truth
    for cloud, provider in discovered.providers.items():
        assert provider.pods_namespace == truth["crossplane"]["namespace"]
        expected = {p["name"] for prov in truth["providers"] if prov["cloud"] == cloud for p in prov["pods"]}
        assert _selected(realistic.sandbox, provider.pods_namespace, provider.pods_selector) == expected, cloud


def test_dns_names_and_sides(realistic: Box, discovered: Target) -> None:
    truth = {xr["dns"]["name"]: xr["dns"] for xr in realistic.truth["composites"]}
    assert {r.name for r in discovered.dns} == set(truth)
    for record in discovered.dns:
        assert (record.primary, record.secondary) == ((truth[record.name]["primary"],),
                                                      (truth[record.name]["secondary"],))
        assert [f"{ns.host}:{ns.port}" for ns in record.nameservers] == [realistic.sandbox.dns]


def test_target_passes_preflight_and_allows_only_the_current_context(discovered: Target) -> None:
    assert discovered.allowed_contexts == ("xpchaos-sandbox",)
    result = xpchaos("preflight", "--target", str(discovered.path), "-o", "json")
    findings = json.loads(result.stdout)
    assert result.returncode == 0, [f for f in findings if f["status"] != "ok"]
    assert {f["check"] for f in findings} >= {"composite", "providerconfig", "managed", "pods", "dns"}


def test_reads_only(realistic: Box, tmp_path: Path) -> None:
    """Every request of one discover run, read from the sandbox's audit log, is a GET or a LIST, but the
    SelfSubjectAccessReviews that ask, before the walk, whether it may read (they change nothing)."""
    before = len(realistic.audit.read_text().splitlines())
    result = realistic.discover("--kind", XR_KIND, "-l", "crossplane.io/composite", "--tree")
    assert result.returncode == 0, result.stderr
    requests = [json.loads(line) for line in realistic.audit.read_text().splitlines()[before:]]
    ours = [r for r in requests if r.get("userAgent", "").startswith("xpchaos/") and "nonResourceURL" not in r]
    walked = {"xglobaldatabases", "globaldatabases", "clusters", "records", "healthchecks", "mssqlservers",
              "providerconfigs", "customresourcedefinitions", "providerrevisions", "pods", "serviceaccounts"}
    reviews = [r for r in ours if r["resource"] == "selfsubjectaccessreviews"]
    assert reviews and {r["verb"] for r in reviews} == {"create"}
    walk = [r for r in ours if r not in reviews]
    assert {r["resource"] for r in walk} == walked  # the audit log holds the whole walk ...
    assert {r["verb"] for r in walk} <= {"get", "list"}  # ... and nothing else


def test_claims_are_followed_and_the_tree_shows_the_walk(realistic: Box) -> None:
    claim = next(xr for xr in realistic.truth["composites"] if xr["claim"])
    result = realistic.discover("--xr", f"globaldatabases.database.example.org/{claim['claim']['name']}",
                                "-n", claim["claim"]["namespace"], "--tree")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SYNCED", "READY"]
    assert lines[1].split() == [f"GlobalDatabase/{claim['claim']['name']}", f"({claim['claim']['namespace']})",
                                "True", "True"]
    assert lines[2].split() == ["└─", f"XGlobalDatabase/{claim['name']}", "True", "True"]
    shown = {line.split()[1] for line in lines[3:]}
    assert shown == {f"{mr['kind']}/{mr['name']}" for mr in claim["managedResources"]}
    assert all(line.startswith("   ") for line in lines[3:])


@pytest.mark.parametrize(("args", "message"), [
    (("--xr", f"{XR_KIND}/no-such-db"), "XGlobalDatabase xglobaldatabases.database.example.org 'no-such-db': "
                                        "not found"),
    (("--xr", "providerconfigs.aws.upbound.io/aws-prod"), "is not a composite resource or claim"),
    (("--xr", "db-01"), "--xr 'db-01': expected PLURAL.GROUP/NAME"),
    (("--kind", XR_KIND), "-l/--kind: give both"),
    (("--kind", XR_KIND, "-l", "team=none"), "selects no"),
    (("--xr", f"{XR_KIND}/db-01", "--nameserver", "ns_1"),
     "--nameserver: 'ns_1' is not IP[:PORT] or HOSTNAME[:PORT]"),
    (("--xr", "globaldatabases.database.example.org/orders-01"), "GlobalDatabase is namespaced; give its namespace"),
    (("--xr", f"{XR_KIND}/db-01", "--context", "elsewhere"), "--context elsewhere"),
])
def test_refusals_are_one_line_and_exit_2(realistic: Box, args: tuple[str, ...], message: str) -> None:
    result = realistic.discover(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr


def test_refuses_a_managed_resource_no_provider_serves(tmp_path: Path) -> None:
    """An MR kind whose CRD has no ProviderRevision owner: its CRD is installed by hand here."""
    with sandboxes.running(tmp_path / "sandbox", *sandboxes.fast("blueprint")) as box:
        api = kube.api_client(box.kubeconfig)
        try:
            ext: Any = client.ApiextensionsV1Api(api)
            crd = api.sanitize_for_serialization(ext.read_custom_resource_definition("clusters.rds.aws.upbound.io"))
            del crd["metadata"]["resourceVersion"], crd["metadata"]["uid"]
            crd["metadata"]["ownerReferences"] = []
            ext.replace_custom_resource_definition("clusters.rds.aws.upbound.io", {**crd, "metadata": {
                **crd["metadata"], "resourceVersion": ext.read_custom_resource_definition(
                    "clusters.rds.aws.upbound.io").metadata.resource_version}})
        finally:
            api.close()
        env = {**os.environ, "KUBECONFIG": box.kubeconfig}
        result = xpchaos("discover", "--xr", f"{XR_KIND}/production-db", env=env)
    assert result.returncode == 2
    assert "CRD clusters.rds.aws.upbound.io: no ProviderRevision owns it" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("crossplane", ["v1", "v2"])
def test_on_seed_finds_what_the_seeds_target_names(tmp_path: Path, crossplane: str) -> None:
    with sandboxes.running(tmp_path / "sandbox", *sandboxes.fast("blueprint"), "--crossplane", crossplane) as box:
        seed = box.target
        xr = seed.composites[0]
        out = tmp_path / "discovered.yaml"
        args = ["--xr", f"{xr.plural}.{xr.group}/{xr.name}", "--nameserver", str(box.dns), "-o", str(out)]
        result = xpchaos("discover", *args, *(["-n", xr.namespace] if xr.namespace else []),
                         env={**os.environ, "KUBECONFIG": box.kubeconfig})
        assert result.returncode == 0, result.stderr
        found = targets.load(out)
        assert found.composites == seed.composites
        for name, provider in seed.providers.items():
            mine = found.providers[name]
            assert (mine.role, mine.provider_config, mine.credentials) == (
                provider.role, provider.provider_config, provider.credentials)
            assert set(mine.managed) == set(provider.managed)
            assert mine.pods_namespace == provider.pods_namespace
            assert _selected(box, mine.pods_namespace, mine.pods_selector) >= \
                _selected(box, provider.pods_namespace, provider.pods_selector)
        assert [(r.name, r.primary, r.secondary, r.nameservers) for r in found.dns] == \
            [(r.name, r.primary, r.secondary, r.nameservers) for r in seed.dns]


def test_dns_names_of_externaldns_endpoints_and_route53_records() -> None:
    """The DNS kinds the sandbox does not compose, in the shapes their CRDs define (plain dicts)."""
    endpoint = {"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint", "spec": {"endpoints": [
        {"dnsName": "api.example.org", "recordType": "A", "recordTTL": 30, "targets": ["192.0.2.10"],
         "setIdentifier": "aws", "providerSpecific": [{"name": "aws/failover", "value": "PRIMARY"}]},
        {"dnsName": "api.example.org", "recordType": "A", "recordTTL": 30, "targets": ["198.51.100.20"],
         "setIdentifier": "azure", "providerSpecific": [{"name": "aws/failover", "value": "SECONDARY"}]}]}}
    records: dict[str, discover.FoundRecord] = {}
    for record in discover.dns_records(endpoint):
        discover._merge(records, record)
    found = records["api.example.org"]
    assert (found.sides, found.clouds, found.ttl) == ({"primary": ["192.0.2.10"], "secondary": ["198.51.100.20"]},
                                                      {"primary": "aws", "secondary": "azure"}, 30)
    found.answer = ("198.51.100.20",)
    assert found.primary_side == "secondary"  # what DNS answers now is primary
    profile = {"apiVersion": "network.azure.upbound.io/v1beta1", "kind": "TrafficManagerProfile",
               "spec": {"forProvider": {"dnsConfig": [{"relativeName": "checkout", "ttl": 30}]}}}
    assert [r.name for r in discover.dns_records(profile)] == ["checkout.trafficmanager.net"]
    cluster = {"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Cluster", "spec": {"forProvider": {}}}
    assert discover.dns_records(cluster) == []


def test_a_denied_read_is_one_line_naming_what_was_denied(realistic: Box, tmp_path: Path) -> None:
    """With a ServiceAccount token that no Role grants anything (the sandbox enforces RBAC for those)."""
    api = kube.api_client(realistic.sandbox.kubeconfig)
    try:
        core: Any = client.CoreV1Api(api)
        core.create_namespaced_service_account("default", {"metadata": {"name": "discover-denied"}})
        token = core.create_namespaced_service_account_token(
            "discover-denied", "default", {"spec": {"expirationSeconds": 600}}).status.token
    finally:
        api.close()
    doc = yaml.safe_load(Path(realistic.sandbox.kubeconfig).read_text())
    doc["users"][0]["user"] = {"token": token}
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(doc))
    result = xpchaos("discover", "--xr", f"{XR_KIND}/db-01", env={**os.environ, "KUBECONFIG": str(kubeconfig)})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "xpchaos discover: denied: get customresourcedefinitions.apiextensions.k8s.io" in result.stderr
    assert "kubectl auth can-i get customresourcedefinitions.apiextensions.k8s.io" in result.stderr
    assert token not in result.stderr
