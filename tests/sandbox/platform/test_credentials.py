"""Each credential source fails when broken, with the real provider's error text, and recovers when restored;
only the managed resources whose ProviderConfig uses the broken credential are affected.

- ``Secret``: a well-formed key the cloud never issued (InvalidClientTokenId);
- ``IRSA``: the provider pods' ServiceAccount annotated with a role the cloud does not trust, taking effect when the
  pods are replaced (the identity webhook injects the role at pod creation): STS AssumeRoleWithWebIdentity denied;
- ``WebIdentity``: the ProviderConfig's role; ``assumeRoleChain``: the second account's role (STS AssumeRole);
- ``OIDCWorkloadIdentity``: a client ID with no app registration (AADSTS700016).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.platform.platforms import Platform, platform_document
from tests.support.waiting import wait_for

ROLE = "arn:aws:iam::111122223333:role/crossplane-provider-aws"
UNTRUSTED = "arn:aws:iam::111122223333:role/not-trusted"
CLIENT = "6f1c2a4e-8b3d-4c5e-9f7a-0b1c2d3e4f5a"
AWS_MEMBERS = ("provider-aws-rds", "provider-aws-route53")


@pytest.fixture
def identities(write_platform: Callable[..., Path], start_platform: Callable[..., Platform]) -> Iterator[Platform]:
    doc = platform_document("identities", clouds={
        "aws": {"family": True, "serviceAccountRoleArn": ROLE, "providerConfigs": [
            {"name": "aws-irsa", "credentials": {"source": "IRSA"}},
            {"name": "aws-web", "credentials": {"source": "WebIdentity",
                                                "roleArn": "arn:aws:iam::111122223333:role/crossplane-web"}},
            {"name": "aws-chain", "credentials": {"source": "IRSA",
                                                  "assumeRoleArn": "arn:aws:iam::444455556666:role/shared"}},
            {"name": "aws-secret"}]},
        "azure": {"workloadIdentityClientId": CLIENT, "providerConfigs": [
            {"name": "azure-oidc", "credentials": {"source": "OIDCWorkloadIdentity"}}, {"name": "azure-secret"}]}},
        composites=[{"name": "c-irsa", "providerConfigs": {"aws": "aws-irsa", "azure": "azure-oidc"}},
                    {"name": "c-web", "providerConfigs": {"aws": "aws-web", "azure": "azure-secret"}},
                    {"name": "c-chain", "providerConfigs": {"aws": "aws-chain", "azure": "azure-oidc"}},
                    {"name": "c-secret", "providerConfigs": {"aws": "aws-secret", "azure": "azure-secret"}}])
    platform = start_platform(write_platform(doc))
    platform.wait_all_synced(platform.mrs(), "True")
    yield platform


def _by_config(platform: Platform, *names: str) -> list[dict[str, Any]]:
    return [m for name in names for m in platform.mrs(config_name=name)]


def _broken(platform: Platform, refs: list[dict[str, Any]], text: str) -> None:
    wait_for(lambda: all(platform.synced(m) == "False" and text in platform.condition(m, "Synced")["message"]
                         for m in refs), 30, what=f"{len(refs)} MRs Synced=False with {text!r}")


def _patch_pc(platform: Platform, cloud: str, name: str, patch: dict[str, Any]) -> None:
    platform.custom.patch_cluster_custom_object(f"{cloud}.upbound.io", "v1beta1", "providerconfigs", name, patch)


def _replace_pods(platform: Platform, providers: tuple[str, ...]) -> None:
    """Delete the providers' pods and wait for their replacements (as a rollout restart would)."""
    old = {p.metadata.name for name in providers for p in platform.provider_pods(name)}
    for name in old:
        platform.core.delete_namespaced_pod(name, platform.truth["crossplane"]["namespace"])
    wait_for(lambda: all(platform.provider_pods(n) and not {p.metadata.name for p in platform.provider_pods(n)} & old
                         for n in providers), 10, what="replaced provider pods")


def _annotate_role(platform: Platform, role: str) -> None:
    namespace = platform.truth["crossplane"]["namespace"]
    for package in platform.truth["providers"]:
        if package["name"] in AWS_MEMBERS:
            platform.core.patch_namespaced_service_account(package["serviceAccount"], namespace, {
                "metadata": {"annotations": {"eks.amazonaws.com/role-arn": role}}})


def test_irsa_fails_with_the_sts_error_once_pods_take_an_untrusted_role_and_recovers(identities: Platform) -> None:
    p = identities
    namespace = p.truth["crossplane"]["namespace"]
    secrets = [s.metadata.name for s in p.core.list_namespaced_secret(namespace).items]
    assert secrets == ["aws-secret-creds", "azure-secret-creds"]  # no Secret behind the identity sources
    env = {e.name: e.value for e in p.provider_pods("provider-aws-rds")[0].spec.containers[0].env}
    assert env["AWS_ROLE_ARN"] == ROLE and env["AWS_WEB_IDENTITY_TOKEN_FILE"].endswith("/token")
    irsa, chain = _by_config(p, "aws-irsa"), _by_config(p, "aws-chain")
    untouched = _by_config(p, "aws-web", "aws-secret")

    _annotate_role(p, UNTRUSTED)
    assert all(p.synced(m) == "True" for m in irsa)  # running pods keep the role they were started with
    _replace_pods(p, AWS_MEMBERS)
    _broken(p, irsa + chain, "operation error STS: AssumeRoleWithWebIdentity, https response error StatusCode: 403")
    message = p.condition(irsa[0], "Synced")["message"]
    assert message.startswith("connect failed: cannot initialize the Terraform plugin SDK async external client: "
                              "cannot get terraform setup: failed to get the caller identity: ")
    assert message.endswith("api error AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity")
    assert all(p.synced(m) == "True" for m in untouched)

    _annotate_role(p, ROLE)
    _replace_pods(p, AWS_MEMBERS)
    p.wait_all_synced(irsa + chain, "True")


def test_web_identity_fails_for_an_untrusted_role_and_recovers(identities: Platform) -> None:
    p = identities
    web = _by_config(p, "aws-web")
    _patch_pc(p, "aws", "aws-web", {"spec": {"credentials": {"webIdentity": {"roleARN": UNTRUSTED}}}})
    _broken(p, web, "api error AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity")
    assert all(p.synced(m) == "True" for m in _by_config(p, "aws-irsa", "aws-chain", "aws-secret"))
    _patch_pc(p, "aws", "aws-web", {"spec": {"credentials": {"webIdentity": {
        "roleARN": "arn:aws:iam::111122223333:role/crossplane-web"}}}})
    p.wait_all_synced(web, "True")


def test_assume_role_chain_fails_for_an_untrusted_account_role_and_recovers(identities: Platform) -> None:
    p = identities
    chain = _by_config(p, "aws-chain")
    other = "arn:aws:iam::999988887777:role/shared"
    _patch_pc(p, "aws", "aws-chain", {"spec": {"assumeRoleChain": [{"roleARN": other}]}})
    _broken(p, chain, "operation error STS: AssumeRole, https response error StatusCode: 403")
    assert f"is not authorized to perform: sts:AssumeRole on resource: {other}" in \
        p.condition(chain[0], "Synced")["message"]
    assert all(p.synced(m) == "True" for m in _by_config(p, "aws-irsa"))
    _patch_pc(p, "aws", "aws-chain", {"spec": {"assumeRoleChain": [
        {"roleARN": "arn:aws:iam::444455556666:role/shared"}]}})
    p.wait_all_synced(chain, "True")


def test_azure_workload_identity_fails_for_an_unknown_client_and_recovers(identities: Platform) -> None:
    p = identities
    oidc = _by_config(p, "azure-oidc")
    pc = p.custom.get_cluster_custom_object("azure.upbound.io", "v1beta1", "providerconfigs", "azure-oidc")
    assert pc["spec"]["credentials"] == {"source": "OIDCTokenFile"} and pc["spec"]["clientID"] == CLIENT
    unknown = "00000000-1111-2222-3333-444444444444"
    _patch_pc(p, "azure", "azure-oidc", {"spec": {"clientID": unknown}})
    _broken(p, oidc, f"AADSTS700016: Application with identifier '{unknown}' was not found in the directory")
    assert all(p.synced(m) == "True" for m in _by_config(p, "azure-secret"))
    _patch_pc(p, "azure", "azure-oidc", {"spec": {"clientID": CLIENT}})
    p.wait_all_synced(oidc, "True")


def test_a_secret_with_a_key_the_cloud_never_issued_fails_and_recovers(identities: Platform) -> None:
    p = identities
    namespace = p.truth["crossplane"]["namespace"]
    original = p.core.read_namespaced_secret("aws-secret-creds", namespace).data["credentials"]
    forged = "[default]\naws_access_key_id = AKIAFORGEDFORGED0000\naws_secret_access_key = forged\n"
    p.core.patch_namespaced_secret("aws-secret-creds", namespace,
                                   {"data": {"credentials": base64.b64encode(forged.encode()).decode()}})
    secret_mrs = _by_config(p, "aws-secret")
    _broken(p, secret_mrs, "api error InvalidClientTokenId: The security token included in the request is invalid.")
    assert all(p.synced(m) == "True" for m in _by_config(p, "aws-irsa", "aws-web"))
    p.core.patch_namespaced_secret("aws-secret-creds", namespace, {"data": {"credentials": original}})
    p.wait_all_synced(secret_mrs, "True")
