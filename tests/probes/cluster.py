"""A sandbox as the probe tests see it: its Target loaded with xpchaos.core.target, and a fault made by hand."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes import client

from tests.support.sandboxes import Sandbox
from xpchaos.core import target as targets

INVALID_KEY = "[default]\naws_access_key_id = AKIAREVOKEDBYXPCHAOS\naws_secret_access_key = revoked\n"


@dataclass
class Cluster:
    sandbox: Sandbox
    target: targets.Target
    api: client.ApiClient

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def revoke_credentials(self) -> Callable[[], None]:
        """The fault, by hand: the AWS credential Secret's key replaced by a well-formed invalid one."""
        ref = self.target.provider("aws").credentials
        original = (self.core.read_namespaced_secret(ref.name, ref.namespace).data or {})[ref.key]
        self.core.patch_namespaced_secret(ref.name, ref.namespace,
                                          {"data": {ref.key: base64.b64encode(INVALID_KEY.encode()).decode()}})

        def restore() -> None:
            self.core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: original}})

        return restore
