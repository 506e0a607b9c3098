"""The protobuf decoder, on bodies encoded here by hand with the field numbers of k8s.io/api generated.proto.

The end-to-end proof is tests/contract/test_kubectl.py's `kubectl create` test, which sends real kubectl bytes.
"""

from __future__ import annotations

import pytest

from xpchaos.sandbox.errors import ApiError
from xpchaos.sandbox.protobuf import MAGIC, decode


def varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def entry(key: str, value: bytes) -> bytes:
    return field(1, key.encode()) + field(2, value)


def envelope(kind: str, raw: bytes) -> bytes:
    return MAGIC + field(1, field(1, b"v1") + field(2, kind.encode())) + field(2, raw)


def test_secret_with_labels_data_and_empty_type() -> None:
    meta = field(1, b"creds") + field(3, b"ns") + field(11, entry("app", b"db"))
    raw = field(1, meta) + field(2, entry("password", b"\x00\xffbinary")) + field(3, b"")
    obj = decode(envelope("Secret", raw))
    assert obj["kind"] == "Secret" and obj["metadata"] == {"name": "creds", "namespace": "ns",
                                                           "labels": {"app": "db"}}
    assert obj["data"] == {"password": "AP9iaW5hcnk="} and obj["type"] == ""


def test_configmap_and_namespace() -> None:
    assert decode(envelope("ConfigMap", field(1, field(1, b"c")) + field(2, entry("a", b"b"))))["data"] == {"a": "b"}
    assert decode(envelope("Namespace", field(1, field(1, b"team"))))["metadata"] == {"name": "team"}


@pytest.mark.parametrize(("body", "code"), [
    (b"not protobuf", 415),
    (MAGIC + field(1, field(1, b"apps/v1") + field(2, b"Deployment")) + field(2, b""), 415),
    (MAGIC + b"\x0a\xff", 400),
])
def test_unsupported_or_broken_bodies(body: bytes, code: int) -> None:
    with pytest.raises(ApiError) as err:
        decode(body)
    assert err.value.code == code
