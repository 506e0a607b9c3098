"""The platform walk: claims to XRs, XRs to their managed resources, MRs to ProviderConfigs and credential sources,
CRDs to the providers and pods that serve them; read from a real ``realistic`` sandbox over HTTP and compared with
the ground truth it writes (``platform.json``). The ProviderConfig and credential rules are also checked on the
object shapes of Crossplane v2 and of sources the sandbox does not simulate (written here as plain dicts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.support import sandboxes
from xpchaos.core import kube
from xpchaos.core import platform_graph as graph
from xpchaos.core.target_model import ObjectRef, SecretRef

XR_VERSION = "database.example.org/v1alpha1"


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[client.ApiClient, dict[str, Any]]]:
    state_dir = tmp_path_factory.mktemp("realistic")
    box = sandboxes.start(state_dir, *sandboxes.fast("blueprint"), "--platform", "realistic")
    api = kube.api_client(box.kubeconfig)
    try:
        yield api, json.loads((state_dir / "platform.json").read_text())
    finally:
        api.close()
        sandboxes.stop(state_dir)


def _ref(doc: dict[str, Any]) -> ObjectRef:
    return ObjectRef(doc["apiVersion"], doc["kind"], doc["plural"], doc["name"], doc.get("namespace"))


def test_composed_finds_every_mr_of_every_xr_and_follows_claims(realistic: tuple[client.ApiClient, Any]) -> None:
    api, truth = realistic
    for xr in truth["composites"]:
        expected = {_ref(mr) for mr in xr["managedResources"]}
        assert set(graph.composed(api, _ref(xr))) == expected, xr["name"]
        if xr["claim"]:
            assert set(graph.composed(api, _ref(xr["claim"]))) == expected, xr["claim"]["name"]
            assert graph.composite(api, _ref(xr["claim"]))[0] == _ref(xr)


def test_provider_config_and_credentials_of_each_mr(realistic: tuple[client.ApiClient, Any]) -> None:
    api, truth = realistic
    configs = {(pc["apiVersion"], pc["name"]): pc for pc in truth["providerConfigs"]}
    for xr in truth["composites"]:
        for mr in xr["managedResources"]:
            pc_ref = graph.provider_config_of(graph.get(api, _ref(mr)))
            want = mr["providerConfig"]
            assert (pc_ref.api_version, pc_ref.kind, pc_ref.name) == (want["apiVersion"], want["kind"], want["name"])
            source = graph.credential_source(graph.get(api, pc_ref))
            known = configs[(pc_ref.api_version, pc_ref.name)]["credentials"]
            assert source.source == known["source"]
            assert source.secret == (SecretRef(**known["secret"]) if "secret" in known else None)
            assert source.details.get("assumeRoleArn") == known.get("assumeRoleArn")


def test_serving_pods_of_each_kind(realistic: tuple[client.ApiClient, Any]) -> None:
    api, truth = realistic
    namespace = truth["crossplane"]["namespace"]
    core: Any = client.CoreV1Api(api)
    for provider in truth["providers"]:
        for crd in provider["crds"]:
            assert graph.serving_provider(api, crd) == provider["name"]
            ns, selector = graph.serving_pods(api, crd)
            assert ns == namespace
            names = {p.metadata.name for p in core.list_namespaced_pod(ns, label_selector=selector).items}
            assert names == {p["name"] for p in provider["pods"]}, crd


def test_refusals_name_what_cannot_be_followed(realistic: tuple[client.ApiClient, Any]) -> None:
    api, _truth = realistic
    with pytest.raises(graph.WalkError, match=r"'no-such-db'.*not found"):
        graph.composed(api, ObjectRef(XR_VERSION, "XGlobalDatabase", "xglobaldatabases", "no-such-db"))
    with pytest.raises(graph.WalkError, match=re.escape("providerconfigs.aws.upbound.io is not a composite")):
        graph.composed(api, ObjectRef("aws.upbound.io/v1beta1", "ProviderConfig", "providerconfigs", "aws-prod"))
    no_owner = re.escape("CRD xglobaldatabases.database.example.org: no ProviderRevision")
    with pytest.raises(graph.WalkError, match=no_owner):
        graph.serving_provider(api, "xglobaldatabases.database.example.org")
    with pytest.raises(graph.WalkError, match="no kind Bucket"):
        graph.ref_to(api, "rds.aws.upbound.io/v1beta1", "Bucket", "b")


@pytest.mark.parametrize(("group", "family", "cloud"), [
    ("rds.aws.upbound.io", "aws.upbound.io", "aws"),
    ("rds.aws.m.upbound.io", "aws.m.upbound.io", "aws"),
    ("aws.upbound.io", "aws.upbound.io", "aws"),
    ("aws.m.upbound.io", "aws.m.upbound.io", "aws"),
    ("sql.azure.upbound.io", "azure.upbound.io", "azure"),
    ("dns.gcp.m.upbound.io", "gcp.m.upbound.io", "gcp"),
])
def test_family_group_and_cloud(group: str, family: str, cloud: str) -> None:
    assert graph.family_group(group) == family
    assert graph.cloud_of(group) == cloud


def test_provider_config_of_v1_and_v2_shapes() -> None:
    v1 = {"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Cluster", "metadata": {"name": "a"},
          "spec": {"providerConfigRef": {"name": "aws-prod"}}}
    assert graph.provider_config_of(v1) == ObjectRef("aws.upbound.io/v1beta1", "ProviderConfig", "providerconfigs",
                                                     "aws-prod")
    v2 = {"apiVersion": "rds.aws.m.upbound.io/v1beta1", "kind": "Cluster",
          "metadata": {"name": "a", "namespace": "team-a"}, "spec": {"providerConfigRef": {"name": "shared"}}}
    assert graph.provider_config_of(v2) == ObjectRef("aws.m.upbound.io/v1beta1", "ClusterProviderConfig",
                                                     "clusterproviderconfigs", "shared")
    v2["spec"] = {"providerConfigRef": {"name": "team", "kind": "ProviderConfig"}}
    assert graph.provider_config_of(v2) == ObjectRef("aws.m.upbound.io/v1beta1", "ProviderConfig", "providerconfigs",
                                                     "team", "team-a")
    v1["spec"] = {}
    assert graph.provider_config_of(v1).name == "default"


def test_credential_sources_beyond_secrets() -> None:
    web = {"spec": {"credentials": {"source": "WebIdentity", "webIdentity": {
        "roleARN": "arn:aws:iam::111122223333:role/ci", "tokenConfig": {"source": "Filesystem",
                                                                       "fs": {"path": "/var/run/token"}}}}}}
    assert graph.credential_source(web) == graph.CredentialSource(
        "WebIdentity", None, {"roleArn": "arn:aws:iam::111122223333:role/ci", "tokenFile": "/var/run/token"})
    azure = {"spec": {"clientID": "6f1c2a4e", "tenantID": "t-1", "credentials": {"source": "OIDCWorkloadIdentity"}}}
    assert graph.credential_source(azure).details == {"clientId": "6f1c2a4e", "tenantId": "t-1"}
    gcp = {"spec": {"credentials": {"source": "ImpersonateServiceAccount",
                                    "impersonateServiceAccount": {"name": "sa@p.iam.gserviceaccount.com"}}}}
    assert graph.credential_source(gcp).details == {"serviceAccount": "sa@p.iam.gserviceaccount.com"}
    pod_identity = {"spec": {"credentials": {"source": "PodIdentity"}}}
    assert graph.credential_source(pod_identity) == graph.CredentialSource("PodIdentity")


def test_selector_for_one_or_several_providers() -> None:
    assert graph.selector_for(["provider-aws-rds"]) == "pkg.crossplane.io/provider=provider-aws-rds"
    assert graph.selector_for(["b", "a", "b"]) == "pkg.crossplane.io/provider in (a,b)"



def test_pod_identity_completes_identity_sources_only() -> None:
    sa = {"metadata": {"namespace": "upbound-system", "name": "provider-aws-rds-1",
                       "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/p"}}}
    irsa = graph.with_pod_identity(graph.CredentialSource("IRSA", None, {"assumeRoleArn": "arn:x"}), [sa])
    assert irsa.as_dict() == {"source": "IRSA", "assumeRoleArn": "arn:x", "roleArn": "arn:aws:iam::111122223333:role/p",
                              "serviceAccounts": ["upbound-system/provider-aws-rds-1"]}
    web = graph.with_pod_identity(graph.CredentialSource("WebIdentity", None, {"roleArn": "arn:own"}), [sa])
    assert web.details["roleArn"] == "arn:own"  # the ProviderConfig's own role wins over the annotation
    secret = graph.CredentialSource("Secret", SecretRef("ns", "creds", "credentials"))
    assert graph.with_pod_identity(secret, [sa]) is secret
