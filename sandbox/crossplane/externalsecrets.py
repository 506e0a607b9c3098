"""External Secrets Operator's objects (``spec.externalSecrets`` of the platform file): credential Secrets of one
cloud's ProviderConfigs synced from another cloud's secret store, as a platform keeps its credentials in one vault.

Created with their real shapes (``external-secrets.io/v1beta1``): a ``ClusterSecretStore`` (or a ``SecretStore``
in the Crossplane namespace) whose ``spec.provider`` is ``aws`` (AWS Secrets Manager) or ``azurekv`` (Azure Key
Vault), and one ``ExternalSecret`` per synced Secret, ``spec.target.name`` the Secret the ProviderConfig reads,
reported ``Ready`` (``SecretSynced``) as the operator reports a sync. Approximated: no controller runs, so the
Secrets keep the values the sandbox wrote (a revoked store does not empty them); the point is the wiring a
preflight reads. The CRDs are derived in code (``crds/SOURCES.md``): the fields written here, with the upstream
types, the rest of each spec kept open.
"""

from __future__ import annotations

from typing import Any

GROUP, VERSION = "external-secrets.io", "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
STORE_NAMES = {"aws": "aws-secretsmanager", "azure": "azure-keyvault"}
_STRING, _OPEN = {"type": "string"}, {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_STATUS = {"type": "object", "properties": {
    "conditions": {"type": "array", "items": {"type": "object", "properties": {
        "type": _STRING, "status": _STRING, "reason": _STRING, "message": _STRING,
        "lastTransitionTime": {"type": "string", "format": "date-time"}}}},
    "refreshTime": {"type": "string", "format": "date-time"}, "syncedResourceVersion": _STRING,
    "capabilities": _STRING}}
_PROVIDER = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
    "aws": {"type": "object", "required": ["region", "service"], "properties": {
        "service": {"type": "string", "enum": ["SecretsManager", "ParameterStore"]}, "region": _STRING,
        "role": _STRING, "auth": _OPEN}},
    "azurekv": {"type": "object", "required": ["vaultUrl"], "properties": {
        "vaultUrl": _STRING, "tenantId": _STRING, "environmentType": _STRING,
        "authType": {"type": "string", "enum": ["ServicePrincipal", "ManagedIdentity", "WorkloadIdentity"]},
        "authSecretRef": _OPEN, "serviceAccountRef": _OPEN, "identityId": _STRING}}}}
_REF = {"type": "object", "properties": {"name": _STRING, "kind": {
    "type": "string", "enum": ["SecretStore", "ClusterSecretStore"]}}}
_EXTERNAL_SECRET_SPEC = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
    "refreshInterval": {"type": "string", "default": "1h"},
    "secretStoreRef": _REF,
    "target": {"type": "object", "properties": {
        "name": _STRING, "creationPolicy": {"type": "string", "default": "Owner",
                                            "enum": ["Owner", "Orphan", "Merge", "None"]},
        "deletionPolicy": {"type": "string", "default": "Retain", "enum": ["Delete", "Merge", "Retain"]}}},
    "data": {"type": "array", "items": {"type": "object", "required": ["secretKey", "remoteRef"], "properties": {
        "secretKey": _STRING, "remoteRef": {"type": "object", "required": ["key"], "properties": {
            "key": _STRING, "property": _STRING, "version": _STRING}}}}}}}


def _crd(kind: str, plural: str, scope: str, spec: dict[str, Any], short: list[str],
         columns: list[dict[str, str]]) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"apiVersion": _STRING, "kind": _STRING, "metadata": {"type": "object"},
                                               "spec": spec, "status": _STATUS}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {"group": GROUP, "scope": scope,
                 "names": {"categories": ["external-secrets"], "kind": kind, "listKind": f"{kind}List",
                           "plural": plural, "shortNames": short, "singular": kind.lower()},
                 "versions": [{"name": VERSION, "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": schema}, "additionalPrinterColumns": columns}]},
    }


def crds() -> list[dict[str, Any]]:
    """ExternalSecret (namespaced), SecretStore (namespaced) and ClusterSecretStore, with the operator's printer
    columns."""
    ready = {"jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "name": "Ready", "type": "string"}
    age = {"jsonPath": ".metadata.creationTimestamp", "name": "AGE", "type": "date"}
    store_spec = {"type": "object", "required": ["provider"], "properties": {
        "provider": _PROVIDER, "refreshInterval": {"type": "integer"}, "controller": _STRING}}
    store_columns = [age, {"jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason", "name": "Status",
                           "type": "string"}, {"jsonPath": ".status.capabilities", "name": "Capabilities",
                                               "type": "string"}, ready]
    return [
        _crd("ExternalSecret", "externalsecrets", "Namespaced", _EXTERNAL_SECRET_SPEC, ["es"], [
            {"jsonPath": ".spec.secretStoreRef.name", "name": "Store", "type": "string"},
            {"jsonPath": ".spec.refreshInterval", "name": "Refresh Interval", "type": "string"},
            {"jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason", "name": "Status", "type": "string"},
            ready]),
        _crd("SecretStore", "secretstores", "Namespaced", store_spec, ["ss"], store_columns),
        _crd("ClusterSecretStore", "clustersecretstores", "Cluster", store_spec, ["css"], store_columns),
    ]


def store(cloud: str, kind: str, namespace: str) -> dict[str, Any]:
    """The store that reads ``cloud``'s secret service, authenticated as the operator's ServiceAccount."""
    account = {"name": "external-secrets", "namespace": "external-secrets"}
    if cloud == "aws":
        provider: dict[str, Any] = {"aws": {"service": "SecretsManager", "region": "us-east-1",
                                            "auth": {"jwt": {"serviceAccountRef": account}}}}
    else:
        provider = {"azurekv": {"vaultUrl": "https://xpchaos-platform.vault.azure.net",
                                "tenantId": "00000000-0000-4000-8000-000000000001", "authType": "WorkloadIdentity",
                                "serviceAccountRef": account}}
    metadata = {"name": STORE_NAMES[cloud], **({"namespace": namespace} if kind == "SecretStore" else {})}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": {"provider": provider}}


def external_secret(secret: str, namespace: str, store_obj: dict[str, Any]) -> dict[str, Any]:
    """The ExternalSecret that writes the Secret ``secret`` (key ``credentials``) from ``store_obj``."""
    return {"apiVersion": API_VERSION, "kind": "ExternalSecret",
            "metadata": {"name": secret, "namespace": namespace},
            "spec": {"refreshInterval": "1h",
                     "secretStoreRef": {"name": store_obj["metadata"]["name"], "kind": store_obj["kind"]},
                     "target": {"name": secret, "creationPolicy": "Merge"},
                     "data": [{"secretKey": "credentials", "remoteRef": {"key": f"crossplane/{secret}"}}]}}


def synced() -> dict[str, Any]:
    """The status the operator writes after a sync (and a store that validated)."""
    return {"conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                            "message": "secret synced"}]}


def objects(store_cloud: str, store_kind: str, secrets: list[str], namespace: str
            ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The CRDs, the store and an ExternalSecret per Secret in ``secrets``, each with the status to write (``{}``
    for none)."""
    store_obj = store(store_cloud, store_kind, namespace)
    valid = {"conditions": [{"type": "Ready", "status": "True", "reason": "Valid", "message": "store validated"}],
             "capabilities": "ReadWrite"}
    return [*((crd, {}) for crd in crds()), (store_obj, valid),
            *((external_secret(name, namespace, store_obj), synced()) for name in secrets)]
