"""CustomResourceDefinitions: validation of the definition and the resource types it makes the API serve."""

from __future__ import annotations

from typing import Any

from .errors import invalid
from .lifecycle import now
from .registry import PrinterColumn, ResourceType

CRD_KIND = "CustomResourceDefinition"


def check_crd(crd: dict[str, Any]) -> None:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    name = crd["metadata"]["name"]
    causes: list[tuple[str, str]] = []
    for field, value in (("spec.group", spec.get("group")), ("spec.names.plural", names.get("plural")),
                         ("spec.names.kind", names.get("kind"))):
        if not value:
            causes.append((field, "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", '
                                     '"Namespaced"'))
    versions = spec.get("versions") or []
    if not versions or sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(("spec.versions", "Invalid value: must have exactly one version marked as storage version"))
    for i, version in enumerate(versions if isinstance(versions, list) else []):
        causes += _check_version_schema(version, f"spec.versions[{i}].schema.openAPIV3Schema")
    if names.get("plural") and spec.get("group") and name != f'{names["plural"]}.{spec["group"]}':
        causes.append(("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    if causes:
        raise invalid(CRD_KIND, name, causes, "apiextensions.k8s.io")


def _check_version_schema(version: Any, path: str) -> list[tuple[str, str]]:
    """apiextensions.k8s.io/v1 wants a schema per version, an object at its root (the cheap part of the checks)."""
    schema = (version.get("schema") or {}).get("openAPIV3Schema") if isinstance(version, dict) else None
    if not isinstance(schema, dict):
        return [(path, "Required value")]
    kind = schema.get("type")
    if not kind and not schema.get("x-kubernetes-preserve-unknown-fields"):
        return [(f"{path}.type", "Required value: must not be empty at the root")]
    if kind and kind != "object":
        return [(f"{path}.type", f'Invalid value: "{kind}": must be object at the root')]
    return []


def resource_types(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version, the storage version last so it becomes the preferred one."""
    spec = crd["spec"]
    names = spec["names"]
    out = []
    versions = sorted(spec["versions"], key=lambda v: bool(v.get("storage")))
    for version in versions:
        if not version.get("served", True):
            continue
        columns = tuple(
            PrinterColumn(c["name"], c.get("type", "string"), c["jsonPath"], c.get("priority", 0),
                          c.get("description", ""), c.get("format", ""))
            for c in version.get("additionalPrinterColumns") or []
        )
        out.append(ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec["scope"] == "Namespaced",
            singular=names.get("singular") or names["kind"].lower(),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            has_status="status" in (version.get("subresources") or {}),
            custom=True,
            printer_columns=columns,
            selectable_fields=tuple(f["jsonPath"].lstrip(".") for f in version.get("selectableFields") or ()),
            schema=_schema(spec, version),
        ))
    return out


def _schema(spec: dict[str, Any], version: dict[str, Any]) -> dict[str, Any] | None:
    """The version's openAPIV3Schema; ``spec.preserveUnknownFields`` (legacy CRDs) turns pruning off."""
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    if isinstance(schema, dict) and spec.get("preserveUnknownFields"):
        schema = {**schema, "x-kubernetes-preserve-unknown-fields": True}
    return schema if isinstance(schema, dict) else None


def accepted_status(crd: dict[str, Any]) -> dict[str, Any]:
    """What the apiextensions controllers write once they have taken the CRD in (done at once here)."""
    stamp = now()
    names = dict(crd["spec"]["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    return {
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": stamp, "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": stamp, "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"},
        ],
        "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
    }
