"""Fault: revoke a provider's credentials (the ProviderConfig's ``secretRef``), and its rollback.

- mode ``secret``: the Secret key's value is replaced by a well-formed but invalid credential in the same format
  (AWS shared-credentials INI or Azure JSON, detected from the current value);
- mode ``delete-secret``: the Secret is deleted.

Rollback restores the exact bytes (or re-creates the Secret without server-set fields). Credential bytes go only
into the undo log (mode 0600), never into results, logs or exception text.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import copy
import json
import secrets as pysecrets
import uuid
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core.outcome import ActionOutcome

from ._common import (
    Context,
    FaultError,
    TargetObjectMissing,
    api_error,
    logger,
    provider_name,
    provider_of,
    roll_back,
    strip,
)
from ._common import (
    core as core_api,
)

__all__ = ["restore_credentials", "revoke_credentials"]

FAULT = "revoke-credentials"
MODES = ("secret", "delete-secret")


def _detect(raw: bytes) -> str | None:
    text = raw.decode(errors="replace")
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and ("clientSecret" in doc or "clientId" in doc):
            return "azure-json"
    except ValueError:
        pass
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if any(parser.has_option(s, "aws_access_key_id") for s in parser.sections()):
        return "aws-ini"
    return None


def invalid_credential(raw: bytes) -> tuple[str, bytes]:
    """A well-formed credential of the same format that no cloud accepts: (format, bytes)."""
    kind = _detect(raw)
    if kind == "aws-ini":
        parser = configparser.ConfigParser()
        parser.read_string(raw.decode())
        lines = []
        for section in parser.sections():
            lines.append(f"[{section}]")
            for key, value in parser.items(section, raw=True):
                if key == "aws_access_key_id":
                    value = "AKIA" + pysecrets.token_hex(8).upper()
                elif key in ("aws_secret_access_key", "aws_session_token"):
                    value = pysecrets.token_urlsafe(30)
                lines.append(f"{key} = {value}")
            lines.append("")
        return kind, "\n".join(lines).encode()
    if kind == "azure-json":
        doc = json.loads(raw.decode())
        doc["clientSecret"] = pysecrets.token_urlsafe(30)
        if "clientId" not in doc:
            doc["clientId"] = str(uuid.uuid4())
        return kind, json.dumps(doc).encode()
    raise FaultError("the credential is neither an AWS shared-credentials file (INI with aws_access_key_id) nor "
                     "Azure JSON (clientId/clientSecret); use mode delete-secret")


def _read_secret(ctx: Context, ns: str, name: str) -> dict[str, Any]:
    core = core_api(ctx.api)
    try:
        return dict(ctx.api.sanitize_for_serialization(core.read_namespaced_secret(name, ns)))
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"reading Secret {ns}/{name}") from None
    try:
        existing = sorted(s.metadata.name for s in core.list_namespaced_secret(ns).items)
    except ApiException:
        existing = []
    raise TargetObjectMissing(f"Secret {ns}/{name} does not exist (Secrets in namespace {ns}: "
                              f"{', '.join(existing) or 'none'}); nothing was changed")


def revoke_credentials(provider: str, mode: str = "secret", dry_run: bool = False,
                       configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Make ``provider``'s credentials invalid (``secret``) or remove them (``delete-secret``).

    Rollback: ``restore_credentials``.
    """
    if mode not in MODES:
        raise FaultError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    ctx = Context.make(configuration)
    provider = provider_name(ctx.target, provider)
    ref = provider_of(ctx.target, provider).credentials
    where = f"Secret {ref.namespace}/{ref.name}"
    secret = _read_secret(ctx, ref.namespace, ref.name)
    data = secret.get("data") or {}
    if ref.key not in data:
        raise TargetObjectMissing(f"{where} has no key {ref.key!r} (its keys: {', '.join(sorted(data)) or 'none'}); "
                                  "nothing was changed")
    result: dict[str, Any] = {"fault": FAULT, "provider": provider, "mode": mode, "secret": where, "key": ref.key}
    core = core_api(ctx.api)
    if mode == "secret":
        try:
            original = base64.b64decode(data[ref.key], validate=True)
        except (binascii.Error, ValueError):
            raise FaultError(f"{where} key {ref.key!r} is not valid base64") from None
        kind, invalid = invalid_credential(original)
        result["format"] = kind
        if dry_run:
            return {**result, "outcome": ActionOutcome.DRY_RUN,
                    "would": [f"replace {where} key {ref.key!r} with an invalid {kind} credential"]}
        record_id = ctx.record(FAULT, {"action": "restore-secret", "provider": provider, "mode": mode,
                                       "namespace": ref.namespace, "name": ref.name, "key": ref.key,
                                       "snapshot": secret})
        logger.info("replacing %s key %r with an invalid %s credential (undo record %s)", where, ref.key, kind,
                    record_id)
        try:
            core.patch_namespaced_secret(ref.name, ref.namespace,
                                         {"data": {ref.key: base64.b64encode(invalid).decode()}})
        except ApiException as exc:
            raise api_error(exc, f"patching {where}") from None
        after = _read_secret(ctx, ref.namespace, ref.name).get("data") or {}
        applied = after.get(ref.key) not in (None, data[ref.key])
        return {**result, "undo_id": record_id,
                "outcome": ActionOutcome.APPLIED if applied else ActionOutcome.NOT_APPLIED,
                **({} if applied else {"reason": "the Secret still holds the original credential"})}
    if dry_run:
        return {**result, "outcome": ActionOutcome.DRY_RUN, "would": [f"delete {where}"]}
    record_id = ctx.record(FAULT, {"action": "restore-secret", "provider": provider, "mode": mode,
                                   "namespace": ref.namespace, "name": ref.name, "key": ref.key, "snapshot": secret})
    logger.info("deleting %s (undo record %s)", where, record_id)
    try:
        core.delete_namespaced_secret(ref.name, ref.namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"deleting {where}") from None
    try:
        core.read_namespaced_secret(ref.name, ref.namespace)
        gone = False
    except ApiException as exc:
        gone = exc.status == 404
    return {**result, "undo_id": record_id, "outcome": ActionOutcome.APPLIED if gone else ActionOutcome.NOT_APPLIED,
            **({} if gone else {"reason": "the Secret is still there"})}


def undo(api: client.ApiClient, undo_doc: dict[str, Any]) -> dict[str, Any]:
    """Put the Secret back with its exact bytes (idempotent)."""
    core = core_api(api)
    ns, name, snapshot = undo_doc["namespace"], undo_doc["name"], undo_doc["snapshot"]
    where = f"Secret {ns}/{name}"
    try:
        current = api.sanitize_for_serialization(core.read_namespaced_secret(name, ns))
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"reading {where}") from None
        current = None
    if current is None:
        body = strip(copy.deepcopy(snapshot))
        body["metadata"]["finalizers"] = (snapshot.get("metadata") or {}).get("finalizers") or None
        if not body["metadata"]["finalizers"]:
            del body["metadata"]["finalizers"]
        try:
            core.create_namespaced_secret(ns, body)
        except ApiException as exc:
            if exc.status != 409:
                raise api_error(exc, f"re-creating {where}") from None
        return {"action": "recreated", "object": where}
    key = undo_doc["key"]
    original = (snapshot.get("data") or {}).get(key)
    if (current.get("data") or {}).get(key) == original:
        return {"action": "already-restored", "object": where}
    try:
        core.patch_namespaced_secret(name, ns, {"data": {key: original}})
    except ApiException as exc:
        raise api_error(exc, f"restoring {where}") from None
    return {"action": "restored-key", "object": where, "key": key}


def restore_credentials(provider: str, configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Rollback of ``revoke_credentials``: replay its outstanding undo records for this target and provider."""
    return roll_back(configuration, FAULT, provider, lambda api, record: undo(api, record["undo"]))
