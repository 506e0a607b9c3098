"""Review kinds: create-only, answered at once for the requester's own identity, never stored.

- ``authorization.k8s.io/v1`` SelfSubjectAccessReview (``kubectl auth can-i VERB RESOURCE``): may the requester do
  this? Answered by the same authorizer that guards the API, with its reason (``RBAC: allowed by ...``). Exactly one
  of ``resourceAttributes`` / ``nonResourceAttributes`` is required (422 otherwise, as real).
- ``authorization.k8s.io/v1`` SelfSubjectRulesReview (``kubectl auth can-i --list``): every rule that applies to
  the requester in ``spec.namespace`` (400 without one), with ``evaluationError`` when a binding names a missing
  role.
- ``authentication.k8s.io/v1`` SelfSubjectReview (``kubectl auth whoami``): the requester's user info.
"""

from __future__ import annotations

import copy
from typing import Any

from . import lifecycle
from .errors import ApiError, invalid
from .rbac import Attributes, Authorizer, User
from .registry import ResourceType

RULES_REVIEW = ResourceType("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
                            "selfsubjectrulesreview", verbs=("create",), stored=False)
SUBJECT_REVIEW = ResourceType("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False,
                              "selfsubjectreview", verbs=("create",), stored=False)
# served besides SelfSubjectAccessReview, which the registry's built-ins hold
TYPES = (RULES_REVIEW, SUBJECT_REVIEW)


def answer(rtype: ResourceType, body: Any, user: User, authorizer: Authorizer) -> dict[str, Any]:
    review = copy.deepcopy(lifecycle.check_body(rtype, body))
    # the real server answers with empty object metadata (Go prints the zero creationTimestamp as null)
    review["metadata"] = {"creationTimestamp": None}
    review["apiVersion"], review["kind"] = rtype.api_version, rtype.kind
    if rtype.plural == "selfsubjectreviews":
        review.pop("spec", None)
        review["status"] = {"userInfo": user.info()}
    elif rtype.plural == "selfsubjectrulesreviews":
        review["spec"] = {}  # the real answer does not echo the request
        review["status"] = _rules(_namespace(body), user, authorizer)
    else:
        spec = _access_spec(rtype, review.get("spec"))
        review["spec"] = spec
        review["status"] = _access(spec, user, authorizer)
    return review


def _access_spec(rtype: ResourceType, spec: Any) -> dict[str, Any]:
    """A SelfSubjectAccessReview's spec, validated as the real server validates it."""
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
    return spec


def _access(spec: dict[str, Any], user: User, authorizer: Authorizer) -> dict[str, Any]:
    resource = spec.get("resourceAttributes")
    if resource is not None:
        text = {key: str(resource.get(key) or "") for key in ("verb", "group", "resource", "subresource",
                                                               "namespace", "name")}
        attrs = Attributes(text["verb"], api_group=text["group"], resource=text["resource"],
                           subresource=text["subresource"], namespace=text["namespace"], name=text["name"])
    else:
        path = spec["nonResourceAttributes"]
        attrs = Attributes(str(path.get("verb") or ""), resource_request=False, path=str(path.get("path") or ""))
    decision = authorizer.authorize(user, attrs)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return status


def _namespace(body: Any) -> str:
    spec = body.get("spec") if isinstance(body, dict) else None
    namespace = spec.get("namespace") if isinstance(spec, dict) else None
    if not namespace or not isinstance(namespace, str):
        raise ApiError(400, "no namespace on request")
    return namespace


def _rules(namespace: str, user: User, authorizer: Authorizer) -> dict[str, Any]:
    rules, error = authorizer.rules_for(user, namespace)
    resource_rules, non_resource_rules = [], []
    for rule in rules:
        if rule.get("resources"):
            entry = {"verbs": rule.get("verbs") or []}
            entry.update((field, rule[field]) for field in ("apiGroups", "resources", "resourceNames")
                         if rule.get(field))
            resource_rules.append(entry)
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]})
    status: dict[str, Any] = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                              "incomplete": False}
    if error:
        status["evaluationError"] = error
    return status


def _go(value: Any) -> str:
    return "{" + " ".join(f"{k}:{v}" for k, v in value.items()) + "}" if isinstance(value, dict) else repr(value)
