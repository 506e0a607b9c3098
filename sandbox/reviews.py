"""Review kinds (``authorization.k8s.io/v1`` SelfSubjectAccessReview): create-only, answered at once, never stored.

The sandbox does not enforce RBAC, so every review is allowed, and says why. The request is validated as the real
server validates it (exactly one of ``resourceAttributes`` / ``nonResourceAttributes``), so a client that builds a
wrong review learns it here and not first against a real cluster.
"""

from __future__ import annotations

import copy
from typing import Any

from . import lifecycle
from .errors import invalid
from .registry import ResourceType

REASON = "the sandbox does not enforce RBAC"


def answer(rtype: ResourceType, body: Any) -> dict[str, Any]:
    review = copy.deepcopy(lifecycle.check_body(rtype, body))
    spec = review.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    causes: list[tuple[str, str]] = []
    if resource is None and non_resource is None:
        causes.append(("spec.resourceAttributes", "Required value: exactly one of nonResourceAttributes or "
                                                  "resourceAttributes must be specified"))
    elif resource is not None and non_resource is not None:
        causes.append(("spec.nonResourceAttributes", f"Invalid value: {_go(non_resource)}: cannot be specified in "
                                                     "combination with resourceAttributes"))
    for name, value in (("resourceAttributes", resource), ("nonResourceAttributes", non_resource)):
        if value is not None and not isinstance(value, dict):
            causes.append((f"spec.{name}", "Invalid value: must be an object"))
    if causes:
        raise invalid(rtype.kind, "", causes, rtype.group)
    # the real server answers with empty object metadata (Go prints the zero creationTimestamp as null)
    review["metadata"] = {"creationTimestamp": None}
    review["apiVersion"], review["kind"] = rtype.api_version, rtype.kind
    review["spec"] = spec
    review["status"] = {"allowed": True, "reason": REASON}
    return review


def _go(value: Any) -> str:
    return "{" + " ".join(f"{k}:{v}" for k, v in value.items()) + "}" if isinstance(value, dict) else repr(value)
