"""The platform walk, as ``crossplane beta trace`` makes it: a claim to its XR, an XR to the managed resources it
composes, a managed resource to its ProviderConfig and that to its credential source, a kind's CRD to the
ProviderRevision and Provider that serve it and to their pods.

Small functions over a ``kubernetes.client.ApiClient`` and the objects as plain dicts; GET and LIST only. What the
walk cannot follow (an object that does not exist, a kind that is not a composite, a CRD no ProviderRevision owns)
is a ``WalkError``: one line naming the object and what to check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core.errors import InputError
from xpchaos.core.target_model import ObjectRef, SecretRef

PROVIDER_LABEL = "pkg.crossplane.io/provider"  # on ProviderRevisions and provider pods: the Provider's name
PC_VERSION = "v1beta1"  # the served version of every provider family's ProviderConfig kinds
CLOUDS = ("aws", "azure", "gcp")
POD_IDENTITY_SOURCES = ("IRSA", "WebIdentity", "PodIdentity", "OIDCWorkloadIdentity", "ImpersonateServiceAccount")
# what a ServiceAccount's annotations say about the cloud identity of its pods
IDENTITY_ANNOTATIONS = {"eks.amazonaws.com/role-arn": "roleArn", "azure.workload.identity/client-id": "clientId",
                        "iam.gke.io/gcp-service-account": "serviceAccount"}

# kind -> (plural, namespaced), per (API server, apiVersion): discovery answers are the same for a whole walk
_DISCOVERY: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}


class WalkError(InputError):
    """Something the walk cannot follow: an object that does not exist, a kind that is not a composite, a CRD that
    no ProviderRevision serves."""


@dataclass(frozen=True)
class CredentialSource:
    """Where a ProviderConfig's provider gets its cloud identity from, as its ``spec.credentials`` says."""

    source: str  # Secret, IRSA, WebIdentity, PodIdentity, OIDCWorkloadIdentity, ImpersonateServiceAccount, ...
    secret: SecretRef | None = None
    details: dict[str, str] = field(default_factory=dict)  # roleArn, assumeRoleArn, clientId, tenantId, tokenFile
    service_accounts: tuple[str, ...] = ()  # NAMESPACE/NAME of the provider pods whose identity it uses

    @property
    def uses_pod_identity(self) -> bool:
        """The identity comes from the provider pods' ServiceAccounts (IRSA, workload identity, ...)."""
        return self.source in POD_IDENTITY_SOURCES

    def as_dict(self) -> dict[str, Any]:
        """The source as plain data: ``source``, ``secret`` or the identity's ARNs and IDs, ``serviceAccounts``."""
        out: dict[str, Any] = {"source": self.source}
        if self.secret:
            out["secret"] = {"namespace": self.secret.namespace, "name": self.secret.name, "key": self.secret.key}
        out.update(self.details)
        if self.service_accounts:
            out["serviceAccounts"] = list(self.service_accounts)
        return out


# -- reading objects ---------------------------------------------------------------------------------------------
def kinds(api: client.ApiClient, api_version: str, refresh: bool = False) -> dict[str, tuple[str, bool]]:
    """The kinds ``api_version`` serves: kind -> (plural, namespaced), from the API server's discovery."""
    key = (api.configuration.host, api_version)
    if refresh or key not in _DISCOVERY:
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        method, url, headers, body, _ = api.param_serialize("GET", path, auth_settings=["BearerToken"])
        response = api.call_api(method, url, header_params=headers, body=body)
        response.read()
        doc: dict[str, Any] = json.loads(response.data) if response.status == 200 and response.data else {}
        _DISCOVERY[key] = {r["kind"]: (r["name"], bool(r.get("namespaced")))
                           for r in (doc or {}).get("resources", []) if "/" not in r["name"]}
    return _DISCOVERY[key]


def ref_to(api: client.ApiClient, api_version: str, kind: str, name: str, namespace: str | None = None) -> ObjectRef:
    """An ObjectRef for an object known by apiVersion, kind and name (its plural and scope from discovery)."""
    served = kinds(api, api_version)
    if kind not in served:
        served = kinds(api, api_version, refresh=True)  # a CRD installed since the last look
    if kind not in served:
        raise WalkError(f"{kind} {name!r}: the API server serves no kind {kind} in {api_version} (is its CRD "
                        "installed? `kubectl api-resources --api-group=...`)")
    plural, namespaced = served[kind]
    return ObjectRef(api_version, kind, plural, name, namespace if namespaced else None)


def read(api: client.ApiClient, ref: ObjectRef) -> dict[str, Any] | None:
    """The custom object ``ref`` names, as a dict; None when it does not exist (any other answer raises)."""
    custom: Any = client.CustomObjectsApi(api)
    try:
        if ref.namespace:
            obj = custom.get_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural, ref.name)
        else:
            obj = custom.get_cluster_custom_object(ref.group, ref.version, ref.plural, ref.name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(obj)


def patch(api: client.ApiClient, ref: ObjectRef, body: dict[str, Any]) -> None:
    """Merge-patch the custom object ``ref`` names, namespaced or cluster-scoped (API errors raise)."""
    custom: Any = client.CustomObjectsApi(api)
    if ref.namespace:
        custom.patch_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural, ref.name, body)
    else:
        custom.patch_cluster_custom_object(ref.group, ref.version, ref.plural, ref.name, body)


def get(api: client.ApiClient, ref: ObjectRef) -> dict[str, Any]:
    """The object ``ref`` names, as a dict; a ``WalkError`` when it does not exist."""
    obj = read(api, ref)
    if obj is None:
        raise WalkError(f"{ref.describe()}: not found (check the name, the namespace and the current context)")
    return obj


# -- composites ----------------------------------------------------------------------------------------------------
def composite(api: client.ApiClient, ref: ObjectRef, check_kind: bool = True) -> tuple[ObjectRef, dict[str, Any]]:
    """The XR ``ref`` names, or the XR a claim is bound to (``spec.resourceRef``), with its object; ``check_kind``
    False when the caller has checked the kind already (one CRD read per kind, not per object)."""
    if check_kind:
        check_composite_kind(api, ref)
    obj = get(api, ref)
    bound = (obj.get("spec") or {}).get("resourceRef")
    if bound and not resource_refs(obj):  # a claim: follow it to its XR
        xr = ref_to(api, bound["apiVersion"], bound["kind"], bound["name"], bound.get("namespace") or ref.namespace)
        return xr, get(api, xr)
    return ref, obj


def check_composite_kind(api: client.ApiClient, ref: ObjectRef) -> None:
    """Refuse a kind that is not an XR or claim: its CRD must be owned by a CompositeResourceDefinition."""
    crd = crd_of(api, f"{ref.plural}.{ref.group}")
    owners = [o.get("kind") for o in crd["metadata"].get("ownerReferences") or []]
    if "CompositeResourceDefinition" not in owners:
        raise WalkError(f"{ref.describe()}: {ref.plural}.{ref.group} is not a composite resource or claim (no "
                        "CompositeResourceDefinition defines it); give an XR or a claim")


def resource_refs(xr: dict[str, Any]) -> list[dict[str, Any]]:
    """The composed resources an XR records: ``spec.resourceRefs`` (v1), ``spec.crossplane.resourceRefs`` (v2)."""
    spec = xr.get("spec") or {}
    return list(spec.get("resourceRefs") or (spec.get("crossplane") or {}).get("resourceRefs") or [])


def composed(api: client.ApiClient, xr_ref: ObjectRef) -> list[ObjectRef]:
    """The resources the XR (or the claim's XR) composes now, as ObjectRefs; a composed resource of a namespaced
    XR that names no namespace is in the XR's own."""
    xr, obj = composite(api, xr_ref)
    return [ref_to(api, r["apiVersion"], r["kind"], r["name"], r.get("namespace") or xr.namespace)
            for r in resource_refs(obj)]


def conditions(obj: dict[str, Any]) -> dict[str, str]:
    """type -> status of the object's conditions (``Synced``, ``Ready``)."""
    return {c.get("type", ""): c.get("status", "Unknown") for c in (obj.get("status") or {}).get("conditions") or []}


# -- managed resources and their ProviderConfigs -------------------------------------------------------------------
def family_group(group: str) -> str:
    """The provider family's API group of a managed resource group: ``rds.aws.upbound.io`` -> ``aws.upbound.io``,
    ``rds.aws.m.upbound.io`` -> ``aws.m.upbound.io``; a family group stays as it is."""
    labels = group.split(".")
    core = [label for i, label in enumerate(labels) if not (label == "m" and i == len(labels) - 3)]
    return ".".join(labels[1:]) if len(core) > 3 else group


def cloud_of(group: str) -> str:
    """The cloud a managed resource group belongs to (``aws``, ``azure``, ``gcp``), from its family group."""
    return family_group(group).split(".")[0]


def is_v2_group(group: str) -> bool:
    """A Crossplane v2 namespaced group (``*.m.upbound.io``)."""
    return ".m." in f".{group}"


def provider_config_of(mr: dict[str, Any]) -> ObjectRef:
    """The ProviderConfig a managed resource uses: ``spec.providerConfigRef`` (name, and kind in v2: default
    ClusterProviderConfig; a namespaced ProviderConfig is in the MR's namespace), in the family's group."""
    group = mr["apiVersion"].rpartition("/")[0]
    pc_ref = (mr.get("spec") or {}).get("providerConfigRef") or {"name": "default"}
    v2 = is_v2_group(group)
    kind = pc_ref.get("kind") or ("ClusterProviderConfig" if v2 else "ProviderConfig")
    namespace = mr.get("metadata", {}).get("namespace") if v2 and kind == "ProviderConfig" else None
    return ObjectRef(f"{family_group(group)}/{PC_VERSION}", kind, f"{kind.lower()}s", pc_ref["name"], namespace)


def credential_source(pc: dict[str, Any]) -> CredentialSource:
    """What ``spec.credentials`` of a ProviderConfig says about its identity (never a credential's value)."""
    spec = pc.get("spec") or {}
    creds = spec.get("credentials") or {}
    source = str(creds.get("source") or "Secret")
    details: dict[str, str] = {}
    secret = None
    if source == "Secret":
        ref = creds.get("secretRef") or {}
        if ref.get("namespace") and ref.get("name"):
            secret = SecretRef(ref["namespace"], ref["name"], ref.get("key") or "credentials")
    web = creds.get("webIdentity") or {}
    optional = {"roleArn": web.get("roleARN"), "tokenFile": (web.get("tokenConfig") or {}).get("fs", {}).get("path"),
                "assumeRoleArn": ((spec.get("assumeRoleChain") or [{}])[0]).get("roleARN"),
                "clientId": spec.get("clientID"), "tenantId": spec.get("tenantID"),
                "serviceAccount": (creds.get("impersonateServiceAccount") or {}).get("name")}
    details.update({k: str(v) for k, v in optional.items() if v})
    return CredentialSource(source, secret, details)


# -- who serves a kind ---------------------------------------------------------------------------------------------
def crd_of(api: client.ApiClient, crd_name: str) -> dict[str, Any]:
    """The CustomResourceDefinition ``PLURAL.GROUP``, as a dict."""
    ext: Any = client.ApiextensionsV1Api(api)
    try:
        crd = ext.read_custom_resource_definition(crd_name)
    except ApiException as exc:
        if exc.status == 404:
            raise WalkError(f"CRD {crd_name}: not found (is the provider or XRD that defines it installed?)") from None
        raise
    return dict(api.sanitize_for_serialization(crd))


def serving_provider(api: client.ApiClient, crd_name: str) -> str:
    """The Provider whose active revision serves ``crd_name``: CRD owner -> ProviderRevision -> its provider label."""
    crd = crd_of(api, crd_name)
    owner = next((o for o in crd["metadata"].get("ownerReferences") or [] if o.get("kind") == "ProviderRevision"),
                 None)
    if owner is None:
        raise WalkError(f"CRD {crd_name}: no ProviderRevision owns it, so no provider's pods can be found for it "
                        "(install it with a Crossplane Provider package)")
    revision = get(api, ObjectRef(owner["apiVersion"], "ProviderRevision", "providerrevisions", owner["name"]))
    labels = revision["metadata"].get("labels") or {}
    provider = labels.get(PROVIDER_LABEL) or next(
        (o["name"] for o in revision["metadata"].get("ownerReferences") or [] if o.get("kind") == "Provider"), None)
    if not provider:
        raise WalkError(f"ProviderRevision {owner['name']}: neither label {PROVIDER_LABEL} nor a Provider owner")
    return str(provider)


def provider_pods(api: client.ApiClient, provider: str) -> list[dict[str, Any]]:
    """The pods of ``provider`` in any namespace (label ``pkg.crossplane.io/provider``), as dicts."""
    core: Any = client.CoreV1Api(api)
    pods = core.list_pod_for_all_namespaces(label_selector=f"{PROVIDER_LABEL}={provider}").items
    return [dict(api.sanitize_for_serialization(p)) for p in pods]


def serving_pods(api: client.ApiClient, crd_name: str) -> tuple[str, str]:
    """(namespace, label selector) of the pods serving ``crd_name``; the namespace is empty when none runs."""
    provider = serving_provider(api, crd_name)
    pods = provider_pods(api, provider)
    namespace = pods[0]["metadata"]["namespace"] if pods else ""
    return namespace, f"{PROVIDER_LABEL}={provider}"


def selector_for(providers: list[str] | set[str]) -> str:
    """One label selector for the pods of several providers (``pkg.crossplane.io/provider in (a,b)``)."""
    names = sorted(set(providers))
    if len(names) == 1:
        return f"{PROVIDER_LABEL}={names[0]}"
    return f"{PROVIDER_LABEL} in ({','.join(names)})"


def service_account_identity(sa: dict[str, Any]) -> dict[str, str]:
    """The cloud identity a ServiceAccount's annotations give its pods (IRSA role, workload identity client)."""
    annotations = (sa.get("metadata") or {}).get("annotations") or {}
    return {key: str(annotations[name]) for name, key in IDENTITY_ANNOTATIONS.items() if annotations.get(name)}


def with_pod_identity(source: CredentialSource, service_accounts: list[dict[str, Any]]) -> CredentialSource:
    """``source`` completed from the ServiceAccounts of the pods that use it, when its identity is theirs: which
    ones, and the role or client their annotations name where the ProviderConfig names none."""
    if not source.uses_pod_identity or not service_accounts:
        return source
    details = dict(source.details)
    for sa in service_accounts:
        for key, value in service_account_identity(sa).items():
            details.setdefault(key, value)
    names = tuple(sorted(f"{sa['metadata']['namespace']}/{sa['metadata']['name']}" for sa in service_accounts))
    return CredentialSource(source.source, source.secret, details, names)
