"""Which resources the API serves: the built-in kinds, plus those that CRDs add while the server runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    priority: int = 0
    description: str = ""
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One served resource in one group/version (``secrets`` in ``v1``, ``records`` in ``route53...``)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False
    custom: bool = False
    printer_columns: tuple[PrinterColumn, ...] = ()
    # fields a field selector may use, besides metadata.name and metadata.namespace
    selectable_fields: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(VERBS)
    # False for review kinds (SelfSubjectAccessReview): create-only, answered and never stored
    stored: bool = True
    # a CRD version's openAPIV3Schema (sandbox/schema.py applies it); not part of the type's identity
    schema: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects are stored per group and plural, whatever version they are served in."""
        return (self.group, self.plural)

    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
_NEW_EVENT_FIELDS = (
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "reason",
    "reportingController",
    "type",
)

BUILTINS: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", False, "namespace", ("ns",), has_status=True,
                 selectable_fields=("status.phase",)),
    ResourceType("", "v1", "secrets", "Secret", True, "secret", selectable_fields=("type",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, "configmap", ("cm",)),
    ResourceType("", "v1", "events", "Event", True, "event", ("ev",), selectable_fields=_EVENT_FIELDS),
    ResourceType("", "v1", "pods", "Pod", True, "pod", ("po",), ("all",), has_status=True,
                 selectable_fields=("status.phase", "spec.nodeName", "spec.restartPolicy")),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, "serviceaccount", ("sa",)),
    ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "persistentvolumeclaim", ("pvc",),
                 has_status=True),
    ResourceType("", "v1", "services", "Service", True, "service", ("svc",), ("all",), has_status=True),
    ResourceType("", "v1", "nodes", "Node", False, "node", ("no",), has_status=True,
                 selectable_fields=("spec.unschedulable",)),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, "endpointslice"),
    ResourceType("events.k8s.io", "v1", "events", "Event", True, "event", ("ev",),
                 selectable_fields=_NEW_EVENT_FIELDS),
    ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, "networkpolicy",
                 ("netpol",)),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True, "lease"),
    ResourceType("apps", "v1", "deployments", "Deployment", True, "deployment", ("deploy",), ("all",),
                 has_status=True),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, "cronjob", ("cj",), ("all",), has_status=True),
    ResourceType("batch", "v1", "jobs", "Job", True, "job", categories=("all",), has_status=True,
                 selectable_fields=("status.successful",)),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True, "role"),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, "rolebinding"),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, "clusterrole"),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
                 "clusterrolebinding"),
    # answered at once by the authorizer and not stored, as the real review APIs are (reviews.py)
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
                 "selfsubjectaccessreview", verbs=("create",), stored=False),
    ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                 "customresourcedefinition", ("crd", "crds"), has_status=True),
)


@dataclass
class Registry:
    """Served resource types keyed by (group, version, plural); CRDs add and remove entries live."""

    types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    preferred: dict[str, str] = field(default_factory=dict)  # group -> preferred version

    @classmethod
    def with_builtins(cls) -> Registry:
        registry = cls()
        for rtype in BUILTINS:
            registry.add(rtype)
        return registry

    def add(self, rtype: ResourceType, preferred: bool = True) -> None:
        self.types[(rtype.group, rtype.version, rtype.plural)] = rtype
        if preferred or rtype.group not in self.preferred:
            self.preferred[rtype.group] = rtype.version

    def remove_group_resource(self, group: str, plural: str) -> None:
        for key in [k for k in self.types if k[0] == group and k[2] == plural]:
            del self.types[key]
        if not any(k[0] == group for k in self.types):
            self.preferred.pop(group, None)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.types.get((group, version, plural))

    def groups(self) -> dict[str, list[str]]:
        """group -> versions, preferred version first, in a stable order."""
        out: dict[str, list[str]] = {}
        for group, version, _ in sorted(self.types):
            out.setdefault(group, [])
            if version not in out[group]:
                out[group].append(version)
        for group, versions in out.items():
            pref = self.preferred.get(group)
            if pref in versions:
                versions.remove(pref)
                versions.insert(0, pref)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for (g, v, _), t in sorted(self.types.items()) if g == group and v == version]

    def kinds_for(self, group: str, plural: str) -> list[ResourceType]:
        return [t for (g, _, p), t in self.types.items() if g == group and p == plural]
