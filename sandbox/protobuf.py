"""Decode the protobuf bodies kubectl's typed clients send (``kubectl create namespace|secret|configmap|sa``,
``kubectl create token``, ``kubectl auth can-i [--list]``, ``kubectl auth whoami``).

The envelope is ``k8s\\0`` + runtime.Unknown{typeMeta{apiVersion, kind}, raw}; ``raw`` is the object's message
from k8s.io/api/core/v1/generated.proto. Only these kinds and only the fields a create sends are mapped
(field numbers below); everything else is refused with 415 so the client sees a clear error, not a wrong object.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from .errors import ApiError

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            yield number, data[pos:pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, raw in fields(data):
        if number == 1 and isinstance(raw, bytes):
            key = raw.decode()
        elif number == 2 and isinstance(raw, bytes):
            value = raw
    return key, value


def _object_meta(data: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    names = {1: "name", 2: "generateName", 3: "namespace"}
    for number, raw in fields(data):
        if not isinstance(raw, bytes):
            continue
        if number in names:
            meta[names[number]] = raw.decode()
        elif number in (11, 12):
            key, value = _map_entry(raw)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
    return meta


def _secret(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, raw in fields(data):
        if number == 1 and isinstance(raw, bytes):
            obj["metadata"] = _object_meta(raw)
        elif number == 2 and isinstance(raw, bytes):
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = base64.b64encode(value).decode()
        elif number == 3 and isinstance(raw, bytes):
            obj["type"] = raw.decode()
        elif number == 4 and isinstance(raw, bytes):
            key, value = _map_entry(raw)
            obj.setdefault("stringData", {})[key] = value.decode()
        elif number == 5:
            obj["immutable"] = bool(raw)
    return obj


def _configmap(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, raw in fields(data):
        if number == 1 and isinstance(raw, bytes):
            obj["metadata"] = _object_meta(raw)
        elif number in (2, 3) and isinstance(raw, bytes):
            key, value = _map_entry(raw)
            if number == 2:
                obj.setdefault("data", {})[key] = value.decode()
            else:
                obj.setdefault("binaryData", {})[key] = base64.b64encode(value).decode()
        elif number == 4:
            obj["immutable"] = bool(raw)
    return obj


def _namespace(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, raw in fields(data):
        if number == 1 and isinstance(raw, bytes):
            obj["metadata"] = _object_meta(raw)
    return obj


def _strings(data: bytes, names: dict[int, str]) -> dict[str, Any]:
    """The string fields of a message that are set (gogo-protobuf writes unset ones as empty strings)."""
    return {names[n]: raw.decode() for n, raw in fields(data) if n in names and isinstance(raw, bytes) and raw}


_RESOURCE_ATTRIBUTES = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource",
                        7: "name"}  # 8/9 (field and label selector requirements) are not decoded


def _self_subject_access_review(data: bytes) -> dict[str, Any]:
    """k8s.io/api/authorization/v1: what ``kubectl auth can-i`` sends."""
    obj: dict[str, Any] = {"spec": {}}
    for number, raw in fields(data):
        if number == 1 and isinstance(raw, bytes):
            obj["metadata"] = _object_meta(raw)
        elif number == 2 and isinstance(raw, bytes):
            for sub, attrs in fields(raw):
                if sub == 1 and isinstance(attrs, bytes):
                    obj["spec"]["resourceAttributes"] = _strings(attrs, _RESOURCE_ATTRIBUTES)
                elif sub == 2 and isinstance(attrs, bytes):
                    obj["spec"]["nonResourceAttributes"] = _strings(attrs, {1: "path", 2: "verb"})
    return obj


def _token_request(data: bytes) -> dict[str, Any]:
    """k8s.io/api/authentication/v1: what ``kubectl create token`` sends (audiences, expirationSeconds)."""
    obj: dict[str, Any] = {"spec": {}}
    for number, raw in fields(data):
        if number == 1 and isinstance(raw, bytes):
            obj["metadata"] = _object_meta(raw)
        elif number == 2 and isinstance(raw, bytes):
            for sub, value in fields(raw):
                if sub == 1 and isinstance(value, bytes):
                    obj["spec"].setdefault("audiences", []).append(value.decode())
                elif sub == 4 and isinstance(value, int):
                    obj["spec"]["expirationSeconds"] = value
    return obj


def _self_subject_rules_review(data: bytes) -> dict[str, Any]:
    """k8s.io/api/authorization/v1: what ``kubectl auth can-i --list`` sends (the namespace)."""
    obj: dict[str, Any] = {"spec": {}}
    for number, raw in fields(data):
        if number == 1 and isinstance(raw, bytes):
            obj["metadata"] = _object_meta(raw)
        elif number == 2 and isinstance(raw, bytes):
            obj["spec"] = _strings(raw, {1: "namespace"})
    return obj


_DECODERS = {("v1", "Secret"): _secret, ("v1", "ConfigMap"): _configmap, ("v1", "Namespace"): _namespace,
             ("v1", "ServiceAccount"): _namespace,  # a created ServiceAccount carries only metadata
             ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): _self_subject_access_review,
             ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): _self_subject_rules_review,
             ("authentication.k8s.io/v1", "SelfSubjectReview"): _namespace,  # metadata only
             ("authentication.k8s.io/v1", "TokenRequest"): _token_request}


def decode(body: bytes, resource: str = "") -> dict[str, Any]:
    """The object in a protobuf request body; ``resource`` (e.g. ``deployments.apps``) names the URL's resource in
    the 415 a body of any other kind gets."""
    where = f" for {resource}" if resource else ""
    unsupported = ApiError(415, f"the body of the request was in an unknown format ({PROTOBUF}){where}: the sandbox "
                                "decodes protobuf only for v1 Namespace, Secret, ConfigMap and ServiceAccount, "
                                "authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview and "
                                "authentication.k8s.io/v1 TokenRequest and SelfSubjectReview; "
                                "send JSON or YAML (e.g. kubectl apply -f)")
    if not body.startswith(MAGIC):
        raise unsupported
    try:
        api_version = kind = ""
        raw = b""
        for number, value in fields(body[len(MAGIC):]):
            if number == 1 and isinstance(value, bytes):
                for sub, text in fields(value):
                    if isinstance(text, bytes):
                        api_version, kind = (text.decode(), kind) if sub == 1 else (api_version, text.decode())
            elif number == 2 and isinstance(value, bytes):
                raw = value
        decoder = _DECODERS.get((api_version, kind))
        if decoder is None:
            raise unsupported
        return {"apiVersion": api_version, "kind": kind, **decoder(raw)}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the protobuf request body could not be decoded") from None
