"""``--primary azure``: the sandbox serves from Azure first and fails over the other way, Azure → AWS.

Observed as the harness would: the XR through the kubernetes client, DNS through dnspython at the nameserver the
target file names, the Target loaded with ``xpchaos.core.target``. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest
from kubernetes import client, config

from tests.support.commands import xpchaos
from tests.support.sandboxes import Sandbox, fast
from tests.support.waiting import wait_for
from xpchaos.core import target as targets

AWS_IP, AZURE_IP = "192.0.2.10", "198.51.100.20"
DEADLINE = 20.0


def start(own_sandbox: Callable[..., Sandbox], profile: str, *extra: str) -> tuple[targets.Target, client.ApiClient]:
    sandbox = own_sandbox(*fast(profile), "--primary", "azure", *extra)
    return sandbox.target, config.new_client_from_config(config_file=sandbox.kubeconfig)


def dig(tgt: targets.Target) -> list[str]:
    record = tgt.dns[0]
    server = record.nameservers[0]
    answer = dns.query.udp(dns.message.make_query(record.name, record.type), server.host, port=server.port,
                           timeout=2)
    return sorted(r.address for rrset in answer.answer for r in rrset if r.rdtype == dns.rdatatype.A)


def read_xr(tgt: targets.Target, api: client.ApiClient) -> dict[str, Any]:
    ref = tgt.composites[0]
    custom = client.CustomObjectsApi(api)
    if ref.namespace:
        return custom.get_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural, ref.name)
    return custom.get_cluster_custom_object(ref.group, ref.version, ref.plural, ref.name)


def serving(tgt: targets.Target, api: client.ApiClient, provider: str) -> bool:
    """The XR Ready=True with ``provider`` active (the failover function's status)."""
    xr = read_xr(tgt, api)
    status = xr.get("status") or {}
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])
    return ready and (status.get("failover") or {}).get("activeProvider") == provider


@pytest.mark.parametrize("crossplane", ["v1", "v2"])
def test_blueprint_fails_over_from_azure_to_aws_and_back(own_sandbox: Callable[..., Sandbox],
                                                         crossplane: str) -> None:
    tgt, api = start(own_sandbox, "blueprint", "--crossplane", crossplane)
    params = read_xr(tgt, api)["spec"]["parameters"]
    assert (params["primaryProvider"], params["secondaryProvider"]) == ("azure", "aws")
    wait_for(lambda: serving(tgt, api, "azure"), DEADLINE, what="the XR Ready with azure serving")
    assert dig(tgt) == [AZURE_IP]

    # revoke Azure's credentials: its Secret's key replaced by a well-formed credential Azure never issued
    ref = tgt.provider("azure").credentials
    core = client.CoreV1Api(api)
    original = (core.read_namespaced_secret(ref.name, ref.namespace).data or {})[ref.key]
    invalid = json.dumps({"clientId": str(uuid.uuid4()), "clientSecret": "revoked-by-xpchaos",
                          "subscriptionId": str(uuid.uuid4()), "tenantId": str(uuid.uuid4())})
    core.patch_namespaced_secret(ref.name, ref.namespace,
                                 {"data": {ref.key: base64.b64encode(invalid.encode()).decode()}})
    try:
        wait_for(lambda: dig(tgt) == [AWS_IP], DEADLINE,
                 what="DNS answering the AWS address after Azure lost its credentials")
        wait_for(lambda: serving(tgt, api, "aws"), DEADLINE, what="the XR Ready again with aws serving")
    finally:
        core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: original}})
    # failback: Azure healthy again for `failback` seconds, then traffic returns to the primary
    wait_for(lambda: dig(tgt) == [AZURE_IP], DEADLINE, what="DNS answering the Azure address again (failback)")
    wait_for(lambda: serving(tgt, api, "azure"), DEADLINE, what="the XR Ready with azure serving again")


def test_target_file_with_primary_azure(own_sandbox: Callable[..., Sandbox]) -> None:
    tgt, api = start(own_sandbox, "stock")
    assert tgt.primary.name == "azure" and tgt.primary.role == "primary"
    assert tgt.provider("secondary").name == "aws" and tgt.other("primary").name == "aws"
    assert tgt.primary.service_address == AZURE_IP
    assert (tgt.dns[0].primary, tgt.dns[0].secondary) == ((AZURE_IP,), (AWS_IP,))
    assert read_xr(tgt, api)["spec"]["parameters"]["primaryProvider"] == "azure"
    assert dig(tgt) == [AZURE_IP]  # stock: no failover logic, the zone is seeded with the primary's address


def test_cli_primary_option(tmp_path: Path) -> None:
    state_dir = str(tmp_path / "sandbox")
    bad = xpchaos("sandbox", "up", "--primary", "gcp", "--state-dir", state_dir)
    assert bad.returncode == 2 and "Invalid value for '--primary'" in bad.stderr
    up = xpchaos("sandbox", "up", "--detach", "--profile", "stock", "--speed", "fast", "--primary", "azure",
                  "--state-dir", state_dir, "-o", "json")
    try:
        assert up.returncode == 0, up.stderr
        assert targets.load(json.loads(up.stdout)["target"]).primary.name == "azure"
        other = xpchaos("sandbox", "up", "--detach", "--primary", "aws", "--state-dir", state_dir)
        assert other.returncode == 2 and "has --primary azure" in other.stderr
        same = xpchaos("sandbox", "up", "--detach", "--primary", "azure", "--state-dir", state_dir, "-o", "json")
        assert same.returncode == 0 and json.loads(same.stdout) == json.loads(up.stdout)
    finally:
        assert xpchaos("sandbox", "down", "--state-dir", state_dir).returncode == 0
