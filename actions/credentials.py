"""Fault: revoke a provider's credentials, and its rollback. The credential source is the ProviderConfig's
``spec.credentials.source``; the Secret is the one the target pins, else the ProviderConfig's ``secretRef``.

- mode ``secret``: the Secret key's value is replaced by a well-formed but invalid credential in the same format
  (AWS shared-credentials INI or Azure JSON, detected from the current value);
- mode ``delete-secret``: the Secret is deleted;
- mode ``identity``: a workload identity (IRSA, WebIdentity, Azure ``OIDCTokenFile``) is pointed at a role or
  client that does not exist, as after the role was removed (``xpchaos.actions.identity``).

The default mode ``auto`` picks the mode from the source: ``Secret`` -> ``secret``, a workload identity ->
``identity``; the result says which and why (``mode_reason``: "mode auto: source IRSA -> identity"). A mode that
does not fit the source, or a source no mode can break (EKS ``PodIdentity``, ``Upbound``, ...), is refused before
any change, saying what to do instead (``ModeRefused``, exit 2).

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
from typing import Any, cast

from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core.errors import InputError
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.target import SecretRef
from xpchaos.core.undo_log import marks

from . import effects, identity
from ._common import (
    Context,
    FaultError,
    TargetObjectMissing,
    api_error,
    get_object,
    logger,
    marked,
    provider_name,
    provider_of,
    roll_back,
    strip,
    unmarks,
)
from ._common import (
    core as core_api,
)

__all__ = ["restore_credentials", "revoke_credentials"]

FAULT = "revoke-credentials"
AUTO = "auto"
SECRET_MODES = ("secret", "delete-secret")
MODES = (AUTO, *SECRET_MODES, "identity")
# what to do instead, for the sources no mode can break from the cluster's API
INSTEAD = {
    "PodIdentity": "EKS Pod Identity binds the role outside the cluster (its association is an EKS API object); "
                   "remove the association in a sandbox account, or prove the loss with block-provider-api",
    "Upbound": "Upbound's identity is issued by Upbound, not the cluster; prove the loss with block-provider-api",
    "": "prove the loss with block-provider-api (the cloud unreachable) or delete-providerconfig",
}


class ModeRefused(FaultError, InputError):
    """The mode does not fit the ProviderConfig's credential source (or no mode does): refused before any change,
    with what to do instead."""



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


def _source(ctx: Context, provider: Any) -> tuple[str, dict[str, Any] | None]:
    """The ProviderConfig's ``spec.credentials.source`` (``Secret`` when it names none) and the object itself."""
    pc = get_object(ctx.api, provider.provider_config)
    if pc is None:
        if provider.credentials is not None:  # the Secret the target pins is what the fault changes
            return "Secret", None
        raise TargetObjectMissing(f"{provider.provider_config.describe()} does not exist: its credential source "
                                  "cannot be read; nothing was changed")
    return str(((pc.get("spec") or {}).get("credentials") or {}).get("source") or "Secret"), pc


def _secret_ref(provider: Any, pc: dict[str, Any] | None) -> SecretRef:
    """The Secret the target pins, else the ProviderConfig's ``spec.credentials.secretRef``."""
    if provider.credentials is not None:
        return cast(SecretRef, provider.credentials)
    ref = ((pc or {}).get("spec") or {}).get("credentials", {}).get("secretRef") or {}
    if not all(ref.get(k) for k in ("namespace", "name", "key")):
        raise TargetObjectMissing(f"{provider.provider_config.describe()} says source Secret but names no complete "
                                  "spec.credentials.secretRef (namespace, name, key); nothing was changed")
    return SecretRef(ref["namespace"], ref["name"], ref["key"])


def _choose_mode(provider: Any, source: str, mode: str) -> tuple[str, str]:
    """The mode that breaks this source and why (``auto`` picks it from the source); a mode that cannot break the
    source, and a source no mode can break, are refused before any change."""
    where = f"{provider.provider_config.describe()} takes its credentials from {source}"
    if source != "Secret" and source not in identity.SOURCES:
        instead = INSTEAD.get(source, INSTEAD[""])
        raise ModeRefused(f"{where}: revoke-credentials has no mode for it; {instead}; nothing was changed")
    if mode == AUTO:
        chosen = "secret" if source == "Secret" else "identity"
        return chosen, f"mode auto: source {source} → {chosen}"
    if source == "Secret" and mode not in SECRET_MODES:
        raise ModeRefused(f"{where}: mode {mode!r} breaks a workload identity; use mode auto, secret or "
                          "delete-secret (XPCHAOS_REVOKE_MODE); nothing was changed")
    if source != "Secret" and mode != "identity":
        raise ModeRefused(f"{where}, not a Secret: use mode identity or auto (XPCHAOS_REVOKE_MODE); nothing was "
                          "changed")
    return mode, f"mode {mode} as given: source {source}"


def revoke_credentials(provider: str, mode: str = AUTO, dry_run: bool = False,
                       configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Make ``provider``'s credentials invalid (``secret``), remove them (``delete-secret``) or break its workload
    identity (``identity``: IRSA, WebIdentity, Azure OIDCTokenFile; see ``xpchaos.actions.identity``); ``auto``
    (the default) picks ``secret`` or ``identity`` from the ProviderConfig's source. A mode that does not fit the
    source is refused before any change. The result names the mode used and why (``mode``, ``mode_reason``).

    Rollback: ``restore_credentials``.
    """
    if mode not in MODES:
        raise ModeRefused(f"mode {mode!r} is not one of {', '.join(MODES)}")
    ctx = Context.make(configuration)
    provider = provider_name(ctx.target, provider)
    prov = provider_of(ctx.target, provider)
    source, pc = _source(ctx, prov)
    chosen, reason = _choose_mode(prov, source, mode)
    logger.info("revoke-credentials on %s: %s", provider, reason)
    if chosen == "identity":
        result = _revoke_identity(ctx, prov, source, pc or {}, reason, dry_run)
    else:
        result = _revoke_secret(ctx, provider, _secret_ref(prov, pc), chosen, reason, dry_run)
    if result.get("outcome") == ActionOutcome.APPLIED:
        result["effect"] = effects.first_effect(effects.provider_pods(ctx.api, prov), prov.name, UNSEEN[chosen])
    return result


# what to check when a revoked credential brings no provider error in time
UNSEEN = {"secret": "does the provider still use a credential it read before (a cached session), or another "
                    "Secret than this one?",
          "delete-secret": "does the provider still use a credential it read before (a cached session), or another "
                           "Secret than this one?",
          "identity": "do the provider's pods still hold a token of the old identity (were they replaced)?"}


def _revoke_identity(ctx: Context, prov: Any, source: str, pc: dict[str, Any], reason: str,
                     dry_run: bool) -> dict[str, Any]:
    planned = identity.plan(ctx, prov, source, pc)
    result: dict[str, Any] = {"fault": FAULT, "provider": prov.name, "mode": "identity", "mode_reason": reason,
                              "source": source, "objects": planned["objects"]}
    if dry_run:
        return {**result, "outcome": ActionOutcome.DRY_RUN, "would": planned["would"]}
    record_id = ctx.record(FAULT, {"action": "restore-identity", "provider": prov.name, "mode": "identity",
                                   **planned["undo"]})
    logger.info("breaking %s's %s identity (undo record %s)", prov.name, source, record_id)
    applied = identity.apply(ctx, planned["undo"], record_id)
    return {**result, "undo_id": record_id, "outcome": ActionOutcome.APPLIED if applied else ActionOutcome.NOT_APPLIED,
            **({} if applied else {"reason": "no pod was replaced"})}


def _revoke_secret(ctx: Context, provider: str, ref: SecretRef, mode: str, reason: str,
                   dry_run: bool) -> dict[str, Any]:
    where = f"Secret {ref.namespace}/{ref.name}"
    secret = _read_secret(ctx, ref.namespace, ref.name)
    data = secret.get("data") or {}
    if ref.key not in data:
        raise TargetObjectMissing(f"{where} has no key {ref.key!r} (its keys: {', '.join(sorted(data)) or 'none'}); "
                                  "nothing was changed")
    secret_obj = {"kind": "Secret", "apiVersion": "v1", "namespace": ref.namespace, "name": ref.name, "key": ref.key}
    result: dict[str, Any] = {"fault": FAULT, "provider": provider, "mode": mode, "mode_reason": reason,
                              "secret": where, "key": ref.key, "source": "Secret", "objects": [secret_obj]}
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
                                         {"metadata": {"annotations": marks(record_id)},
                                          "data": {ref.key: base64.b64encode(invalid).decode()}})
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
    """Put the Secret back with its exact bytes, or the workload identity as it was (idempotent)."""
    if undo_doc.get("action") == "restore-identity":
        return identity.undo(api, undo_doc)
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
    if (current.get("data") or {}).get(key) == original and not marked(current):
        return {"action": "already-restored", "object": where}
    try:  # the bytes back, and the fault's marks off: the Secret ends exactly as it was
        core.patch_namespaced_secret(name, ns, {"metadata": {"annotations": unmarks(snapshot, current)},
                                                "data": {key: original}})
    except ApiException as exc:
        raise api_error(exc, f"restoring {where}") from None
    return {"action": "restored-key", "object": where, "key": key}


def restore_credentials(provider: str, configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Rollback of ``revoke_credentials``: replay its outstanding undo records for this target and provider."""
    return roll_back(configuration, FAULT, provider, lambda api, record: undo(api, record["undo"]))
