"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge is an approximation of k8s.io/apimachinery/pkg/util/strategicpatch, which needs each built-in
Go type's patch tags. We use the merge keys of the fields the sandbox's kinds have (list below); every other
list is replaced, as for fields without a patch strategy. Directives: ``$patch`` (replace/delete/merge),
``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and ``$setElementOrder/<field>`` (order only).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from .errors import ApiError

# list field name -> merge key ("" = list of primitives merged as a set)
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "finalizers": "",
}

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise ApiError(400, "json patch must be a list of operations")
    try:
        return jsonpatch.JsonPatch(operations).apply(target, in_place=False)
    except jsonpatch.JsonPatchTestFailed:
        failed = next((op.get("path") for op in operations if isinstance(op, dict) and op.get("op") == "test"), "")
        raise ApiError(422, f"the server rejected our request due to an error in our request: testing value at "
                            f"{failed} failed") from None
    except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException) as exc:
        raise ApiError(422, f"the server rejected our request due to an error in our request: {exc}") from None
    except (jsonpatch.InvalidJsonPatch, TypeError, KeyError) as exc:
        raise ApiError(400, f"invalid json patch: {exc}") from None


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in MERGE_KEYS:
            result[key] = _merge_list(result.get(key), value, MERGE_KEYS[key])
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: Any, patch: list[Any], merge_key: str) -> list[Any]:
    current = list(current) if isinstance(current, list) else []
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if not merge_key:  # set of primitives
        return current + [v for v in patch if v not in current]
    result = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            result.append(copy.deepcopy(item))
            continue
        index = next(
            (i for i, existing in enumerate(result)
             if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(strategic_merge_patch({}, item))
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def apply_patch(content_type: str, target: dict[str, Any], patch: Any, custom: bool) -> dict[str, Any]:
    """Apply a PATCH body of ``content_type`` to ``target`` (not modified) and return the new object."""
    if content_type == JSON_PATCH:
        return json_patch(target, patch)
    if not isinstance(patch, dict):
        raise ApiError(400, "the patch body must be a JSON object")
    if content_type == MERGE_PATCH:
        return merge_patch(target, patch)
    if content_type == STRATEGIC_PATCH:
        if custom:  # as the real server: custom resources have no Go types to carry patch strategies
            raise unsupported_patch(content_type)
        return strategic_merge_patch(target, patch)
    if content_type == APPLY_PATCH:
        # Server-side apply, approximated: no managedFields, the applied configuration is merged in.
        return merge_patch(target, patch)
    raise unsupported_patch(content_type)


def unsupported_patch(content_type: str) -> ApiError:
    return ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: "
        f"{JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}" + ("" if content_type == STRATEGIC_PATCH else
                                                           f", {STRATEGIC_PATCH}"),
    )
