"""``spec.externalSecrets``: External Secrets Operator's objects with their real shapes (the preflight loop tests
read them through the API: tests/run/preflight/test_loops.py); here what the file accepts and what is created."""

from __future__ import annotations

import pytest

from tests.sandbox.platform.platforms import platform_document
from xpchaos.sandbox.crossplane import externalsecrets, spec


def test_the_synced_cloud_defaults_to_the_other_one_and_must_read_a_secret() -> None:
    parsed = spec.parse(platform_document("es", externalSecrets={"store": "aws"}), "test")
    assert parsed.spec.external_secrets is not None and parsed.spec.external_secrets.syncs is None
    oidc = {"providerConfigs": [{"name": "azure-main", "credentials": {
        "source": "OIDCWorkloadIdentity", "clientId": "00000000-0000-4000-8000-000000000002"}}]}
    doc = platform_document("es", externalSecrets={"store": "aws"},
                            clouds={"aws": {"providerConfigs": [{"name": "aws-main"}]}, "azure": oidc})
    with pytest.raises(spec.PlatformError, match=r"spec.externalSecrets.syncs: no ProviderConfig of azure reads a "
                                                 r"Secret"):
        spec.parse(doc, "test")


def test_a_store_kind_that_does_not_exist_is_refused_in_one_line() -> None:
    with pytest.raises(spec.PlatformError, match=r"spec.externalSecrets.storeKind: 'Vault'"):
        spec.parse(platform_document("es", externalSecrets={"store": "aws", "storeKind": "Vault"}), "test")


def test_an_external_secret_writes_the_providerconfigs_secret_from_the_store() -> None:
    created = [obj for obj, _status in externalsecrets.objects("aws", "SecretStore", ["azure-creds"],
                                                                "crossplane-system")]
    crds, (store, external) = created[:3], created[3:]
    assert [c["metadata"]["name"] for c in crds] == ["externalsecrets.external-secrets.io",
                                                     "secretstores.external-secrets.io",
                                                     "clustersecretstores.external-secrets.io"]
    assert store["kind"] == "SecretStore" and store["metadata"]["namespace"] == "crossplane-system"
    assert store["spec"]["provider"]["aws"]["service"] == "SecretsManager"
    assert external["apiVersion"] == "external-secrets.io/v1beta1"
    assert external["spec"]["secretStoreRef"] == {"name": "aws-secretsmanager", "kind": "SecretStore"}
    assert external["spec"]["target"]["name"] == "azure-creds"
    azure = externalsecrets.store("azure", "ClusterSecretStore", "crossplane-system")
    assert "namespace" not in azure["metadata"] and "vaultUrl" in azure["spec"]["provider"]["azurekv"]
