"""The kube client factory: every harness call to a cluster goes through a client made here."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client, config

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def api_client(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """A client for ``context`` in ``kubeconfig`` (defaults as kubectl: $KUBECONFIG, current context)."""
    return config.new_client_from_config(config_file=kubeconfig, context=context)


def get_table(api: client.ApiClient, path: str) -> dict[str, Any]:
    """GET ``path`` as a server-side Table: the same columns ``kubectl get`` prints."""
    method, url, headers, body, _ = api.param_serialize(
        "GET", path, header_params={"Accept": TABLE_ACCEPT}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body)
    response.read()
    assert response.data is not None
    return json.loads(response.data)
