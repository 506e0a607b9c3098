"""``--audit-log FILE``: one JSON line per API request the server accepted, with the attributes RBAC decides on.

Resource requests: ``{"verb", "apiGroup", "resource", "subresource", "namespace", "name", "userAgent"}``, the
verb as the real API server's RequestInfo derives it (GET on a name: get; GET on a collection: list, or watch with
``?watch=true``; POST create; PUT update; PATCH patch; DELETE delete on a name, deletecollection on a collection);
a list or watch with the field selector ``metadata.name=X`` names X, as it does for ``resourceNames``.
Everything else (discovery ``/api``, ``/apis``, ``/apis/GROUP[/VERSION]``, ``/version``, ``/openapi/...``, health
and metrics) is ``{"nonResourceURL", "verb", "userAgent"}`` with the lower-case HTTP method as the verb. Requests
refused as unauthenticated are not recorded. The path is parsed on its own (no registry lookup), so a request for
an unknown kind is recorded as asked. Off unless the flag is given; one append-mode file, flushed per line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from aiohttp import web

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")  # /api/v1/namespaces/NAME/status is the Namespace's own


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _name_from_field_selector(selector: str | None) -> str | None:
    for term in (selector or "").split(","):
        key, sep, value = term.partition("==") if "==" in term else term.partition("=")
        if sep and key.strip() == "metadata.name":
            return value.strip() or None
    return None


def attributes(method: str, path: str, query: Any, user_agent: str | None) -> dict[str, Any]:
    """The audit record of one request (``query``: the request's query mapping)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return {"nonResourceURL": path, "verb": method.lower(), "userAgent": user_agent}
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    if method in ("GET", "HEAD"):
        if name is None:
            verb = "watch" if _truthy(query.get("watch")) else "list"
            name = _name_from_field_selector(query.get("fieldSelector"))
        else:
            verb = "get"
    elif method == "DELETE":
        verb = "delete" if name is not None else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return {"verb": verb, "apiGroup": group, "resource": resource, "subresource": subresource,
            "namespace": namespace, "name": name, "userAgent": user_agent}


class AuditLog:
    """Appends the records to one file; ``close`` when the server stops."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8")

    def record(self, request: web.Request) -> None:
        if self._file is None:
            return
        entry = attributes(request.method, request.path, request.query, request.headers.get("User-Agent"))
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
