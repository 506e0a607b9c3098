"""The kubeconfig a sandbox writes, so any client reaches it like a real cluster."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

CONTEXT = "xpchaos-sandbox"


def render(server: str, token: str, ca_pem: bytes) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: Path, server: str, token: str, ca_pem: bytes) -> None:
    """Write owner-only (it holds the sandbox's bearer token), replacing any older file atomically."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(render(server, token, ca_pem))
    os.replace(tmp, path)
