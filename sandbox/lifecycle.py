"""What the API server does to an object on create and update: metadata, validation, status, generation."""

from __future__ import annotations

import base64
import copy
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError, conflict, invalid
from .registry import ResourceType

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
MAX_ANNOTATIONS_BYTES = 256 * 1024

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_name(rtype: ResourceType, name: str) -> list[tuple[str, str]]:
    if rtype.plural == "namespaces":
        if len(name) > 63 or not _LABEL.match(name):
            return [("metadata.name", f'Invalid value: "{name}": {LABEL_MSG}')]
    elif rtype.group == "rbac.authorization.k8s.io":  # path segments (ValidateRBACName): "system:discovery"
        if name in (".", ".."):
            return [("metadata.name", f"Invalid value: \"{name}\": may not be '{name}'")]
        for bad in ("/", "%"):
            if bad in name:
                return [("metadata.name", f"Invalid value: \"{name}\": may not contain '{bad}'")]
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        return [("metadata.name", f'Invalid value: "{name}": {SUBDOMAIN_MSG}')]
    return []


def _check_qualified_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def check_metadata(meta: dict[str, Any]) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(annotations, dict):
        return [("metadata", "Invalid value: labels and annotations must be maps of strings")]
    for key, value in labels.items():
        if not _check_qualified_key(str(key)):
            causes.append(("metadata.labels", f'Invalid value: "{key}": name part must be a qualified name'))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(("metadata.labels", f'Invalid value: "{value}": a valid label must be an empty string '
                                              "or consist of alphanumeric characters, '-', '_' or '.'"))
    for key, value in annotations.items():
        if not _check_qualified_key(str(key)):
            causes.append(("metadata.annotations", f'Invalid value: "{key}": name part must be a qualified name'))
        if not isinstance(value, str):
            causes.append(("metadata.annotations", f'Invalid value: "{key}": annotation values must be strings'))
    size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    if size > MAX_ANNOTATIONS_BYTES:
        causes.append(("metadata.annotations", f"Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes"))
    return causes


def check_body(rtype: ResourceType, body: Any) -> dict[str, Any]:
    """The body must be an object of the URL's kind and apiVersion (400 otherwise, like the real server)."""
    if not isinstance(body, dict):
        raise ApiError(400, f"the body of the request must be a {rtype.kind} object")
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if kind and kind != rtype.kind:
        raise ApiError(
            400, f"the object provided is unrecognized (kind {kind!r} does not match the request's {rtype.kind!r})"
        )
    if api_version and api_version != rtype.api_version:
        raise ApiError(
            400, f"the API version in the data ({api_version}) does not match the expected API version "
                 f"({rtype.api_version})"
        )
    if not isinstance(body.get("metadata", {}), dict):
        raise ApiError(400, "metadata must be an object")
    return body


def _fold_string_data(obj: dict[str, Any]) -> None:
    """Secrets: stringData is write-only and folded into base64 data, as the real API server does."""
    string_data = obj.pop("stringData", None)
    data = obj.get("data") or {}
    for field, values in (("data", data), ("stringData", string_data or {})):
        if not isinstance(values, dict) or any(not isinstance(v, str) for v in values.values()):
            raise ApiError(400, f"Secret in version \"v1\" cannot be handled as a Secret: {field} values must be "
                                "strings")
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            raise ApiError(400, f"Secret in version \"v1\" cannot be handled as a Secret: data[{key!r}] is not "
                                "valid base64") from None
    if string_data:
        for key, value in string_data.items():
            data[key] = base64.b64encode(value.encode()).decode()
        obj["data"] = data
    if not obj.get("type"):  # protobuf clients send "" for an unset type
        obj["type"] = "Opaque"


def prepare_create(rtype: ResourceType, namespace: str, body: Any) -> dict[str, Any]:
    obj = copy.deepcopy(check_body(rtype, body))
    obj["kind"], obj["apiVersion"] = rtype.kind, rtype.api_version
    meta = obj.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
    name = meta.get("name") or ""
    if not name:
        raise invalid(rtype.kind, "", [("metadata.name", "Required value: name or generateName is required")],
                      rtype.group)
    if rtype.namespaced:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the "
                                "request")
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    causes = check_name(rtype, name) + check_metadata(meta)
    if causes:
        raise invalid(rtype.kind, name, causes, rtype.group)
    for server_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(server_field, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now()
    if "spec" in obj or rtype.custom:
        meta["generation"] = 1
    if rtype.has_status:
        obj.pop("status", None)
    _defaults_on_create(rtype, obj)
    return obj


def _defaults_on_create(rtype: ResourceType, obj: dict[str, Any]) -> None:
    if rtype.group == "" and rtype.plural == "secrets":
        _fold_string_data(obj)
    elif rtype.group == "" and rtype.plural == "pods":
        obj["status"] = {"phase": "Pending"}
    elif rtype.group == "" and rtype.plural == "namespaces":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


_IMMUTABLE_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace",
                   "generation")


def prepare_update(
    rtype: ResourceType, old: dict[str, Any], body: Any, subresource: str | None, require_rv: bool
) -> dict[str, Any]:
    """Merge an update (PUT body or patched object) onto ``old`` following the main/status split."""
    new = copy.deepcopy(check_body(rtype, body))
    new["kind"], new["apiVersion"] = rtype.kind, rtype.api_version
    meta = new.setdefault("metadata", {})
    old_meta = old["metadata"]
    name = old_meta["name"]
    if meta.get("name") and meta["name"] != name:
        raise ApiError(400, f'the name of the object ({meta["name"]}) does not match the name on the URL ({name})')
    rv = meta.get("resourceVersion")
    if rv and rv != old_meta["resourceVersion"]:

        raise conflict(rtype.plural, name, rtype.group)
    if not rv and require_rv:
        raise invalid(rtype.kind, name, [("metadata.resourceVersion",
                                          "Invalid value: 0x0: must be specified for an update")], rtype.group)
    meta["name"] = name
    for key in _IMMUTABLE_META:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    if subresource == "status":
        result = copy.deepcopy(old)
        result["status"] = new.get("status")
        if result["status"] is None:
            result.pop("status")
        return result
    if rtype.has_status:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
        if added:
            raise ApiError(422, f'{rtype.kind} "{name}" is invalid: metadata.finalizers: Forbidden: no new '
                                "finalizers can be added if the object is being deleted")
    causes = check_metadata(meta)
    if causes:
        raise invalid(rtype.kind, name, causes, rtype.group)
    if rtype.group == "" and rtype.plural == "secrets":
        _fold_string_data(new)
    if "generation" in old_meta and _spec_changed(old, new):
        meta["generation"] = old_meta["generation"] + 1
    return new


def _spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    ignored = {"metadata", "status", "kind", "apiVersion"}
    return {k: v for k, v in old.items() if k not in ignored} != {k: v for k, v in new.items() if k not in ignored}


def mark_deleting(obj: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(obj)
    meta = updated["metadata"]
    if not meta.get("deletionTimestamp"):
        meta["deletionTimestamp"] = now()
        meta["deletionGracePeriodSeconds"] = 0
        if meta.get("generation"):  # as the API server's markAsDeleting does
            meta["generation"] += 1
    return updated
