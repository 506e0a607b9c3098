"""Discovery documents: /version, /api, /apis, group and group/version resource lists, OpenAPI v3 index."""

from __future__ import annotations

from typing import Any

from .registry import Registry

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-xpchaos-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def core_versions() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def group_list(registry: Registry) -> dict[str, Any]:
    groups = [_group_entry(g, v) for g, v in registry.groups().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    versions = registry.groups().get(name)
    if not versions or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(name, versions)}


def resource_list(registry: Registry, group_name: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    resources = []
    for rtype in types:
        resources.append(rtype.discovery_entry())
        if rtype.has_status:
            resources.append({"name": f"{rtype.plural}/status", "singularName": "", "namespaced": rtype.namespaced,
                              "kind": rtype.kind, "verbs": ["get", "patch", "update"]})
    gv = f"{group_name}/{version}" if group_name else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def openapi_v3_index(registry: Registry) -> dict[str, Any]:
    paths: dict[str, Any] = {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1"}}
    for group_name, versions in registry.groups().items():
        for version in versions:
            if group_name:
                path = f"apis/{group_name}/{version}"
                paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}"}
    return {"paths": paths}


def openapi_v3_document(registry: Registry, group_name: str, version: str) -> dict[str, Any] | None:
    """A minimal document: an open schema per kind and its create path, tagged with its GVK.

    kubectl looks up each kind's PATCH operation here to learn that the server takes ``fieldValidation``;
    the schemas themselves are open (validation against CRD schemas is the CRD's business, not OpenAPI's).
    """
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    prefix = f"/apis/{group_name}/{version}" if group_name else f"/api/{version}"
    params = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
              for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")]
    for rtype in types:
        gvk = [{"group": group_name, "version": version, "kind": rtype.kind}]
        # a CRD's own schema, so `kubectl explain` can walk it; built-in kinds stay open
        schema = dict(rtype.schema) if isinstance(rtype.schema, dict) else {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}
        schemas[f"{group_name or 'core'}.{version}.{rtype.kind}"] = {**schema, "x-kubernetes-group-version-kind": gvk}
        collection = f"{prefix}/namespaces/{{namespace}}/{rtype.plural}" if rtype.namespaced else \
            f"{prefix}/{rtype.plural}"
        operations = [(collection, "post", "post")]
        if "patch" in rtype.verbs:
            operations.append((collection + "/{name}", "patch", "patch"))
        for path, verb, action in operations:
            paths.setdefault(path, {})[verb] = {
                "operationId": f"{action}{rtype.kind}", "parameters": params, "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk[0], "responses": {"200": {"description": "OK"}},
            }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }
