"""Every object of a cluster, as a user wrote it: what the soak compares before and after a run.

Found by discovery (``/api``, ``/apis``), as ``kubectl api-resources`` does: every resource that can be listed,
subresources aside. Left out of the comparison, by the issue's rule: ``resourceVersion``, ``managedFields``,
``status`` and timestamps (``creationTimestamp`` and any value that is an RFC 3339 time, e.g. a Lease's renewTime);
and, because a rolled-back deletion re-creates the object, the identity the server assigns on create (``uid``,
``generation``). Events are records of what happened, not state: a run adds them by design.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from typing import Any

from kubernetes import client

SKIPPED_RESOURCES = {("", "events"), ("events.k8s.io", "events")}
SERVER_ASSIGNED = ("resourceVersion", "managedFields", "uid", "generation", "creationTimestamp", "selfLink")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _get(api: client.ApiClient, path: str) -> dict[str, Any]:
    method, url, headers, body, _ = api.param_serialize("GET", path, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body, _request_timeout=(5, 30))
    response.read()
    assert response.status == 200, f"GET {path}: {response.status}"
    return dict(json.loads(response.data or b"{}"))


def resources(api: client.ApiClient) -> list[tuple[str, str, str]]:
    """(group, groupVersion path, plural) of every listable top-level resource, preferred versions only."""
    found = [("", "/api/v1", r["name"]) for r in _get(api, "/api/v1")["resources"]
             if "/" not in r["name"] and "list" in r.get("verbs", [])]
    for group in _get(api, "/apis")["groups"]:
        version = group["preferredVersion"]["groupVersion"]
        for r in _get(api, f"/apis/{version}").get("resources", []):
            if "/" not in r["name"] and "list" in r.get("verbs", []):
                found.append((group["name"], f"/apis/{version}", r["name"]))
    return [r for r in found if (r[0], r[2]) not in SKIPPED_RESOURCES]


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and TIMESTAMP.match(value):
        return "<time>"
    return value


def _digest(data: Any) -> Any:
    """A Secret's values as digests: a difference shows, its bytes never reach a test report."""
    if not isinstance(data, dict):
        return data
    return {k: "sha256:" + hashlib.sha256(str(v).encode()).hexdigest()[:16] for k, v in data.items()}


def normalise(obj: dict[str, Any], secret: bool = False) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_ASSIGNED}
    body = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    if secret:  # list items carry no kind on a real API server: the caller knows what it listed
        body = {k: _digest(v) if k in ("data", "stringData") else v for k, v in body.items()}
    return dict(_scrub({**body, "metadata": meta}))


def everything(api: client.ApiClient) -> dict[str, dict[str, Any]]:
    """``{"plural.group namespace/name": normalised object}`` for every object the API serves."""
    objects: dict[str, dict[str, Any]] = {}
    for group, prefix, plural in resources(api):
        for item in _get(api, f"{prefix}/{plural}").get("items") or []:
            meta = item.get("metadata") or {}
            key = f"{plural}.{group or 'core'} {meta.get('namespace') or '-'}/{meta.get('name')}"
            objects[key] = normalise(item, secret=(group, plural) == ("", "secrets"))
    return objects


def differences(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    """One line per object added or removed, a unified diff per object changed; empty when identical."""
    lines = [f"+ {key}" for key in sorted(after.keys() - before.keys())]
    lines += [f"- {key}" for key in sorted(before.keys() - after.keys())]
    for key in sorted(before.keys() & after.keys()):
        if before[key] != after[key]:
            old = json.dumps(before[key], indent=1, sort_keys=True).splitlines()
            new = json.dumps(after[key], indent=1, sort_keys=True).splitlines()
            lines.append(f"~ {key}\n" + "\n".join(difflib.unified_diff(old, new, lineterm="", n=1)))
    return lines
