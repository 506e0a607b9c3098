"""The CRDs of the DNS modes that the sandbox derives in code (see ``crds/SOURCES.md``): provider-upjet-azure's
``TrafficManagerProfile`` and ``TrafficManagerExternalEndpoint`` (``network.azure.upbound.io``, v1beta1, the
fields of ``forProvider`` the sandbox writes and reads, with upjet's managed-resource machinery around them), and
ExternalDNS's ``DNSEndpoint`` (``externaldns.k8s.io/v1alpha1``, as its ``config/crd/standard/dnsendpoint.yaml``).
"""

from __future__ import annotations

from typing import Any

from . import dnsmodes

_STRING, _NUMBER, _BOOL = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
_REF = {"type": "object", "required": ["name"], "properties": {
    "name": _STRING, "policy": {"type": "object", "properties": {
        "resolution": {"type": "string", "default": "Required", "enum": ["Required", "Optional"]},
        "resolve": {"type": "string", "enum": ["Always", "IfNotPresent"]}}}}}
_SELECTOR = {"type": "object", "properties": {
    "matchControllerRef": _BOOL, "matchLabels": {"type": "object", "additionalProperties": _STRING}}}


def _blocks(properties: dict[str, Any]) -> dict[str, Any]:
    """An upjet v1beta1 block: a list of (at most) one object."""
    return {"type": "array", "items": {"type": "object", "properties": properties}}


TM_PROFILE_FIELDS: dict[str, Any] = {
    "dnsConfig": _blocks({"relativeName": _STRING, "ttl": _NUMBER}),
    "maxReturn": _NUMBER,
    "monitorConfig": _blocks({"customHeader": _blocks({"name": _STRING, "value": _STRING}),
                              "expectedStatusCodeRanges": {"type": "array", "items": _STRING},
                              "intervalInSeconds": _NUMBER, "path": _STRING, "port": _NUMBER,
                              "protocol": _STRING, "timeoutInSeconds": _NUMBER,
                              "toleratedNumberOfFailures": _NUMBER}),
    "profileStatus": _STRING,
    "resourceGroupName": _STRING, "resourceGroupNameRef": _REF, "resourceGroupNameSelector": _SELECTOR,
    "tags": {"type": "object", "additionalProperties": _STRING},
    "trafficRoutingMethod": _STRING,
    "trafficViewEnabled": _BOOL,
}
TM_ENDPOINT_FIELDS: dict[str, Any] = {
    "alwaysServeEnabled": _BOOL,
    "customHeader": _blocks({"name": _STRING, "value": _STRING}),
    "enabled": _BOOL,
    "endpointLocation": _STRING,
    "geoMappings": {"type": "array", "items": _STRING},
    "priority": _NUMBER,
    "profileId": _STRING, "profileIdRef": _REF, "profileIdSelector": _SELECTOR,
    "subnet": _blocks({"first": _STRING, "last": _STRING, "scope": _NUMBER}),
    "target": _STRING,
    "weight": _NUMBER,
}


def managed_crd(group: str, kind: str, plural: str, cloud: str, fields: dict[str, Any]) -> dict[str, Any]:
    """An upjet managed resource's CRD (cluster-scoped, v1beta1): ``forProvider`` with ``fields``, the rest of
    crossplane-runtime's spec, ``atProvider`` and conditions in the status, upjet's printer columns."""
    condition_column = ".status.conditions[?(@.type=='%s')].status"
    spec = {"type": "object", "required": ["forProvider"], "properties": {
        "deletionPolicy": {"type": "string", "default": "Delete", "enum": ["Orphan", "Delete"]},
        "forProvider": {"type": "object", "properties": fields},
        "initProvider": {"type": "object", "properties": fields},
        "managementPolicies": {"type": "array", "default": ["*"], "items": {"type": "string", "enum": [
            "Observe", "Create", "Update", "Delete", "LateInitialize", "*"]}},
        "providerConfigRef": {**_REF, "default": {"name": "default"}},
        "publishConnectionDetailsTo": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "writeConnectionSecretToRef": {"type": "object", "required": ["name", "namespace"],
                                       "properties": {"name": _STRING, "namespace": _STRING}},
    }}
    status = {"type": "object", "properties": {
        "atProvider": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "conditions": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
                       "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        "observedGeneration": {"type": "integer", "format": "int64"}}}
    schema = {"type": "object", "required": ["spec"], "properties": {
        "apiVersion": _STRING, "kind": _STRING, "metadata": {"type": "object"}, "spec": spec, "status": status}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Cluster",
                 "names": {"categories": ["crossplane", "managed", cloud], "kind": kind, "listKind": f"{kind}List",
                           "plural": plural, "singular": kind.lower()},
                 "versions": [{"name": "v1beta1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": schema},
                               "additionalPrinterColumns": [
                                   {"jsonPath": condition_column % "Synced", "name": "SYNCED", "type": "string"},
                                   {"jsonPath": condition_column % "Ready", "name": "READY", "type": "string"},
                                   {"jsonPath": ".metadata.annotations.crossplane\\.io/external-name",
                                    "name": "EXTERNAL-NAME", "type": "string"},
                                   {"jsonPath": ".metadata.creationTimestamp", "name": "AGE", "type": "date"}]}]},
    }


def traffic_manager_crds() -> list[dict[str, Any]]:
    return [managed_crd(dnsmodes.NETWORK_GROUP, dnsmodes.TM_PROFILE, dnsmodes.TM_PROFILES, "azure",
                        TM_PROFILE_FIELDS),
            managed_crd(dnsmodes.NETWORK_GROUP, dnsmodes.TM_ENDPOINT, dnsmodes.TM_ENDPOINTS, "azure",
                        TM_ENDPOINT_FIELDS)]


def dns_endpoint_crd() -> dict[str, Any]:
    """ExternalDNS's ``dnsendpoints.externaldns.k8s.io`` (namespaced, status subresource)."""
    endpoint = {"type": "object", "properties": {
        "dnsName": _STRING, "labels": {"type": "object", "additionalProperties": _STRING},
        "providerSpecific": {"type": "array", "items": {"type": "object", "properties": {
            "name": _STRING, "value": _STRING}}},
        "recordTTL": {"type": "integer", "format": "int64"}, "recordType": _STRING, "setIdentifier": _STRING,
        "targets": {"type": "array", "items": _STRING}}}
    schema = {"type": "object", "properties": {
        "apiVersion": _STRING, "kind": _STRING, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {"endpoints": {"type": "array", "items": endpoint}}},
        "status": {"type": "object", "properties": {"observedGeneration": {"type": "integer", "format": "int64"}}}}}
    group, plural, kind = dnsmodes.EXTERNALDNS_GROUP, dnsmodes.DNSENDPOINT_PLURAL, dnsmodes.DNSENDPOINT_KIND
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}",
                     "annotations": {"api-approved.kubernetes.io":
                                     "https://github.com/kubernetes-sigs/external-dns/pull/2007"}},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
                 "versions": [{"name": dnsmodes.EXTERNALDNS_VERSION, "served": True, "storage": True,
                               "subresources": {"status": {}}, "schema": {"openAPIV3Schema": schema}}]},
    }
