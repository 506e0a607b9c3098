"""A thin HTTPS client for the sandbox API that verifies its CA and sends its token, like any real client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import requests

from tests.support.sandboxes import Sandbox


class Http:
    def __init__(self, sandbox: Sandbox, token: str | None = "from-kubeconfig") -> None:
        self.base = sandbox.api
        self.session = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would otherwise replace session.verify (requests' merge rules)
        self.session.trust_env = False
        self.session.verify = sandbox.ca_file
        if token == "from-kubeconfig":
            token = sandbox.token
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                raw: bytes | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
        return self.session.request(method, self.base + path, data=data, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json") -> requests.Response:
        return self.request("PATCH", path, body, content_type=content_type)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, response: requests.Response, code: int = 200) -> dict[str, Any]:
        assert response.status_code == code, f"{response.status_code}: {response.text[:500]}"
        return response.json()

    def watch(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield watch events as they arrive; the stream ends when the server closes it."""
        params = {"watch": "true", **params}
        with self.session.get(self.base + path, params=params, stream=True, timeout=30) as response:
            assert response.status_code == 200, response.text
            for line in response.iter_lines():
                if line:
                    yield json.loads(line)


def namespace(http: Http, name: str) -> str:
    http.ok(http.post("/api/v1/namespaces", {"metadata": {"name": name}}), 201)
    return name


def crd(group: str, plural: str, kind: str, scope: str = "Namespaced", status: bool = True) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1alpha1", "served": True, "storage": True,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        "additionalPrinterColumns": [
            {"name": "READY", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
            {"name": "AGE", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": scope, "versions": [version],
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"}},
    }
