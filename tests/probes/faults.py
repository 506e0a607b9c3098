"""A fault made by hand for the control test (the harness's own actions live in actions/): JSON-able
Chaos Toolkit activities with the kubernetes client, as tests/sandbox/crossplane/test_faults.py does it."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client

from xpchaos.core import kube
from xpchaos.core import target as targets

_SAVED: dict[str, str] = {}
INVALID_KEY = "[default]\naws_access_key_id = AKIAREVOKEDBYXPCHAOS\naws_secret_access_key = revoked\n"


def _core(path: str) -> tuple[client.CoreV1Api, targets.SecretRef]:
    tgt = targets.load(path)
    return client.CoreV1Api(kube.api_client(tgt.kubeconfig, tgt.context)), tgt.primary.credentials


def revoke_credentials(target: str, configuration: dict[str, Any] | None = None,
                       secrets: dict[str, Any] | None = None) -> None:
    core, ref = _core(target)
    _SAVED[target] = (core.read_namespaced_secret(ref.name, ref.namespace).data or {})[ref.key]
    core.patch_namespaced_secret(ref.name, ref.namespace,
                                 {"data": {ref.key: base64.b64encode(INVALID_KEY.encode()).decode()}})


def restore_credentials(target: str, configuration: dict[str, Any] | None = None,
                        secrets: dict[str, Any] | None = None) -> None:
    core, ref = _core(target)
    if target in _SAVED:
        core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: _SAVED.pop(target)}})
