"""ServiceAccount tokens: the TokenRequest API (``POST .../serviceaccounts/NAME/token``, what ``kubectl create
token`` calls) and the authentication of the tokens it issues.

Tokens are JWTs shaped like kube-apiserver's bound tokens (``iss``, ``sub`` ``system:serviceaccount:NS:NAME``,
``aud``, ``exp``/``iat``/``nbf``, ``jti``, and ``kubernetes.io`` with the ServiceAccount's name and uid), signed
ES256 with a key that lives as long as the sandbox process: a restarted sandbox refuses the old tokens. A token
authenticates while its signature holds, it has not expired (with the real validator's 60 s leeway), its audience
includes the API server's, and the ServiceAccount it names still exists with the same uid: deleting (or deleting
and re-creating) the ServiceAccount invalidates its tokens at once.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from . import lifecycle
from .cluster import Cluster
from .errors import invalid
from .rbac import User, service_account_user
from .registry import ResourceType

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)
DEFAULT_EXPIRATION = 3600  # TokenRequestSpec's default
MIN_EXPIRATION, MAX_EXPIRATION = 600, 1 << 32
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
_VERIFIED_CACHE = 1024  # tokens whose signature was checked, kept so each request does not check it again
# the body's type for validation and protobuf decoding; the URL is serviceaccounts/NAME/token
TOKEN_REQUEST = ResourceType("authentication.k8s.io", "v1", "serviceaccounts/token", "TokenRequest", True,
                             "tokenrequest", verbs=("create",), stored=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service-account-max-token-expiration", type=int, default=None, metavar="SECONDS",
                        help="shorten longer TokenRequests to this, with a warning (as kube-apiserver's flag)")
    parser.add_argument("--service-account-token-leeway", type=float, default=60.0, metavar="SECONDS",
                        help="how long after its expiry a token still authenticates (the real validator's 60 s)")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Signs ServiceAccount tokens and authenticates them against the ServiceAccounts in ``cluster``."""

    def __init__(self, cluster: Cluster, max_expiration: int | None = None, leeway: float = 60.0) -> None:
        if max_expiration is not None and max_expiration < 1:  # the server stops before it binds: exit code 2
            raise ValueError(f"--service-account-max-token-expiration {max_expiration}: must be 1 second or more")
        if not leeway >= 0:
            raise ValueError(f"--service-account-token-leeway {leeway}: must be 0 seconds or more")
        self.cluster = cluster
        self.max_expiration = max_expiration
        self.leeway = leeway
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._header = _b64(json.dumps({"alg": "ES256", "kid": uuid.uuid4().hex}, separators=(",", ":")).encode())
        self._verified: dict[str, dict[str, Any]] = {}

    # issuing ---------------------------------------------------------------------------------------------
    def create(self, namespace: str, name: str, body: Any) -> tuple[dict[str, Any], list[str]]:
        """The TokenRequest answered (201), and the warnings to send with it."""
        request = copy.deepcopy(lifecycle.check_body(TOKEN_REQUEST, body))
        meta = request.get("metadata") or {}
        for field, wanted in (("name", name), ("namespace", namespace)):
            if meta.get(field) and meta[field] != wanted:
                raise invalid("TokenRequest", name, [(f"metadata.{field}", f'Invalid value: "{meta[field]}": must '
                                                     f"match the service account {field} if specified")],
                              TOKEN_REQUEST.group)
        account = self._service_account(namespace, name)
        spec = request.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        seconds = _expiration(spec.get("expirationSeconds", DEFAULT_EXPIRATION))
        warnings = []
        if self.max_expiration is not None and seconds > self.max_expiration:
            warnings.append(f"requested expiration of {seconds} seconds shortened to {self.max_expiration} seconds")
            seconds = self.max_expiration
        audiences = [a for a in spec.get("audiences") or () if isinstance(a, str)] or list(API_AUDIENCES)
        now = int(time.time())
        token = self._sign({
            "aud": audiences, "exp": now + seconds, "iat": now, "iss": ISSUER, "jti": str(uuid.uuid4()),
            "kubernetes.io": {"namespace": namespace,
                              "serviceaccount": {"name": name, "uid": account["metadata"]["uid"]}},
            "nbf": now, "sub": f"system:serviceaccount:{namespace}:{name}",
        })
        return {
            "kind": TOKEN_REQUEST.kind, "apiVersion": TOKEN_REQUEST.api_version,
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": _timestamp(now)},
            "spec": {"audiences": audiences, "expirationSeconds": seconds,
                     "boundObjectRef": spec.get("boundObjectRef")},
            "status": {"token": token, "expirationTimestamp": _timestamp(now + seconds)},
        }, warnings

    def _service_account(self, namespace: str, name: str) -> dict[str, Any]:
        rtype = self.cluster.registry.get("", "v1", "serviceaccounts")
        assert rtype is not None
        return self.cluster.get(rtype, namespace, name)  # 404 serviceaccounts "NAME" not found, as real

    def _sign(self, claims: dict[str, Any]) -> str:
        signing_input = f"{self._header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    # authenticating -----------------------------------------------------------------------------------------
    def authenticate(self, token: str) -> User | None:
        """The ServiceAccount's identity, or None when the token is not one of ours or no longer valid."""
        claims = self._verified_claims(token)
        if claims is None:
            return None
        now = time.time()
        if not (claims.get("nbf", 0) - self.leeway <= now < claims.get("exp", 0) + self.leeway):
            return None
        if claims.get("iss") != ISSUER or not set(claims.get("aud") or ()) & set(API_AUDIENCES):
            return None
        private = claims.get("kubernetes.io") or {}
        namespace, ref = str(private.get("namespace", "")), private.get("serviceaccount") or {}
        name, uid = str(ref.get("name", "")), str(ref.get("uid", ""))
        account = self.cluster.store.get(("", "serviceaccounts"), namespace, name)
        if account is None or account["metadata"].get("uid") != uid:
            return None
        deleting = account["metadata"].get("deletionTimestamp")
        if deleting and _epoch(deleting) < now - self.leeway:  # deleted before the leeway: invalid
            return None
        return service_account_user(namespace, name, uid, ((CREDENTIAL_ID, (f"JTI={claims.get('jti')}",)),))

    def _verified_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this issuer signed (its signature checked once; the claims never change)."""
        if token in self._verified:
            return self._verified[token]
        claims = self._check_signature(token)
        if claims is not None:
            if len(self._verified) >= _VERIFIED_CACHE:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _check_signature(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != self._header:
            return None
        try:
            raw = _unb64(parts[2])
            if len(raw) != 64:
                return None
            signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            self._key.public_key().verify(signature, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, InvalidSignature):
            return None
        return claims if isinstance(claims, dict) else None


def _epoch(timestamp: str) -> float:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expiration(seconds: Any) -> int:
    """spec.expirationSeconds, validated as ValidateTokenRequest does (10 minutes to 2^32 seconds)."""
    if isinstance(seconds, int) and not isinstance(seconds, bool) and MIN_EXPIRATION <= seconds <= MAX_EXPIRATION:
        return seconds
    too_long = isinstance(seconds, int) and seconds > MAX_EXPIRATION
    limit = "larger than 2^32 seconds" if too_long else "less than 10 minutes"
    raise invalid("TokenRequest", "", [("spec.expirationSeconds", f"Invalid value: {seconds}: may not specify a "
                                                                  f"duration {limit}")], TOKEN_REQUEST.group)
