"""The blueprint's failover lands in a real BIND9: ``sandbox up --dns-server HOST:PORT --tsig-key FILE``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import yaml
from kubernetes import client, config

from tests.support.bind9 import Named, dig
from tests.support.sandboxes import Sandbox, fast
from tests.support.waiting import wait_for


def bind_answer(port: int) -> list[str]:
    response = dns.query.udp(dns.message.make_query("api.xpchaos.test", "A"), "127.0.0.1", port=port, timeout=2)
    return sorted(r.address for rrset in response.answer for r in rrset if r.rdtype == dns.rdatatype.A)


def wait_bind(port: int, expected: list[str], deadline: float = 20.0) -> None:
    """BIND has no push: ask it until it answers ``expected``."""
    wait_for(lambda: bind_answer(port) == expected, deadline, what=f"BIND9 answering {expected}")


def test_failover_updates_bind9_and_back(named: Named, own_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = own_sandbox(*fast("blueprint"), "--dns-server", f"127.0.0.1:{named.port}",
                          "--tsig-key", str(named.key_file))
    state = json.loads((sandbox.state_dir / "state.json").read_text())
    assert state["dns"] == f"127.0.0.1:{named.port}"
    target = yaml.safe_load(Path(state["target"]).read_text())
    assert target["dns"][0]["nameservers"] == [f"127.0.0.1:{named.port}"]
    wait_bind(named.port, ["192.0.2.10"])

    core = client.CoreV1Api(config.new_client_from_config(config_file=sandbox.kubeconfig))
    ref = target["providers"]["aws"]["credentials"]["secret"]
    original = core.read_namespaced_secret(ref["name"], ref["namespace"]).data[ref["key"]]
    invalid = base64.b64encode(b"[default]\naws_access_key_id = AKIAREVOKED\naws_secret_access_key = x\n").decode()
    core.patch_namespaced_secret(ref["name"], ref["namespace"], {"data": {ref["key"]: invalid}})
    wait_bind(named.port, ["198.51.100.20"])
    assert dig(named.port, "api.xpchaos.test", "A", "+short").split() == ["198.51.100.20"]

    core.patch_namespaced_secret(ref["name"], ref["namespace"], {"data": {ref["key"]: original}})
    wait_bind(named.port, ["192.0.2.10"])
    assert dig(named.port, "api.xpchaos.test", "A", "+short", "+tcp").split() == ["192.0.2.10"]
    assert "update" in named.log.read_text().lower()


def test_a_dns_mode_writes_its_answers_into_bind9(named: Named, own_sandbox: Callable[..., Sandbox]) -> None:
    """``--dns traffic-manager`` with an external server: Traffic Manager's CNAME and its endpoints' names are
    written into BIND9 (nothing is seeded there), and a disabled primary endpoint moves the CNAME."""
    sandbox = own_sandbox(*fast("blueprint", "health_interval=0.5"), "--dns", "traffic-manager",
                          "--dns-server", f"127.0.0.1:{named.port}", "--tsig-key", str(named.key_file))
    wait_for(lambda: dig(named.port, "+short", "api.xpchaos.test", "A").split() == [
        "api-aws.xpchaos.test.", "192.0.2.10"], 20, what="BIND9 answering the CNAME to AWS's endpoint")
    api = config.new_client_from_config(config_file=sandbox.kubeconfig)
    try:
        client.CustomObjectsApi(api).patch_cluster_custom_object(
            "network.azure.upbound.io", "v1beta1", "trafficmanagerexternalendpoints", "production-db-tm-aws",
            {"spec": {"forProvider": {"enabled": False}}})
    finally:
        api.close()
    wait_for(lambda: dig(named.port, "+short", "api.xpchaos.test", "A").split() == [
        "api-azure.xpchaos.test.", "198.51.100.20"], 20, what="BIND9 answering the CNAME to Azure's endpoint")
