"""``block-provider-api`` on the CNIs a real cluster has.

What it keeps, on the ``realistic`` platform (a post-DNAT CNI as Calico's or Cilium's, the API server at
10.0.113.21:443 and 10.0.145.88:443, CoreDNS pods, NodeLocal DNS): the keep read from the cluster (the
``default/kubernetes`` EndpointSlice, the DNS pods' labels, NodeLocal DNS's address) keeps the provider reporting
its cloud errors; an ``egressKeep`` by ClusterIP, as users write it, cuts the provider off the API server too: it
reports nothing (shown against the first, running at the same time).

On a CNI that enforces no NetworkPolicy (``none``) the fault's first effect never comes: the run reads
``fault-not-applied`` with the reason, exit 2, never "not resilient".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.sandbox.platform.platforms import platform_document
from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.runs import Run, verdict_of
from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for
from xpchaos.actions import network
from xpchaos.actions._common import TargetObjectMissing

DEADLINE = 30
API_SERVER = ("10.0.113.21/32", "10.0.145.88/32")


class Platform:
    """The realistic sandbox: its ground truth, a client, and targets written from its own."""

    def __init__(self, box: Sandbox, directory: Path) -> None:
        self.box, self.directory = box, directory
        self.truth = json.loads((box.state_dir / "platform.json").read_text())
        self.api = config.new_client_from_config(config_file=box.kubeconfig)
        self.namespace = self.truth["crossplane"]["namespace"]

    def target(self, name: str, **changes: Any) -> Path:
        """The sandbox's target.yaml with top-level keys changed (None removes one)."""
        doc = yaml.safe_load((self.box.state_dir / "target.yaml").read_text())
        for key, value in changes.items():
            doc.pop(key, None) if value is None else doc.__setitem__(key, value)
        path = self.directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def configuration(self, target: Path) -> dict[str, str]:
        return {"xpchaos_target": str(target), "xpchaos_undo_log": str(self.directory / "undo.jsonl")}

    def synced(self, cloud: str) -> list[tuple[str, str, str]]:
        """(status, reason, resourceVersion) of the Synced condition of each of the cloud's MRs."""
        custom: Any = client.CustomObjectsApi(self.api)
        out = []
        for mr in (m for xr in self.truth["composites"] for m in xr["managedResources"] if m["cloud"] == cloud):
            group, version = mr["apiVersion"].split("/")
            obj = custom.get_cluster_custom_object(group, version, mr["plural"], mr["name"])
            cond: dict[str, str] = next((c for c in obj.get("status", {}).get("conditions") or []
                                         if c["type"] == "Synced"), {})
            out.append((cond.get("status", ""), cond.get("reason", ""), obj["metadata"]["resourceVersion"]))
        return out

    def all_synced(self, cloud: str, status: str) -> bool:
        return all(s == status for s, _, _ in self.synced(cloud))

    def policies(self) -> list[Any]:
        net: Any = client.NetworkingV1Api(self.api)
        return list(net.list_namespaced_network_policy(self.namespace).items)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    directory = tmp_path_factory.mktemp("network-keep")
    with sandboxes.realistic(directory / "sandbox", "blueprint") as box:
        p = Platform(box, directory)
        assert p.truth["cni"] == "post-dnat"
        wait_for(lambda: p.all_synced("aws", "True") and p.all_synced("azure", "True"), DEADLINE,
                 what="every MR Synced=True")
        yield p


def _cidrs(policy: Any) -> set[str]:
    return {peer.ip_block.cidr for rule in policy.spec.egress for peer in rule.to or [] if peer.ip_block}


def test_the_keep_read_from_the_cluster_reports_the_fault_where_the_cluster_ip_keep_hides_it(
        platform: Platform) -> None:
    p = platform
    read = p.target("read", egressKeep=None)  # the keep comes from the cluster
    trap = p.target("trap")  # the sandbox's own target: egressKeep 10.96.0.1/32:443, 10.96.0.10/32:53
    azure_before = p.synced("azure")
    cut = network.block_provider_api("aws", configuration=p.configuration(read))
    hidden = network.block_provider_api("azure", configuration=p.configuration(trap))
    try:
        assert (cut["outcome"], hidden["outcome"]) == ("applied", "applied"), (cut, hidden)
        assert cut["keep"][0].startswith("API server 10.0.113.21:443, 10.0.145.88:443, 10.96.0.1:443 (ClusterIP)")
        assert "NodeLocal DNS 169.254.20.10:53" in cut["keep"]
        [aws_policy] = [x for x in p.policies() if x.metadata.name == network.policy_name("aws")]
        assert set(API_SERVER) <= _cidrs(aws_policy)
        dns = [peer for rule in aws_policy.spec.egress for peer in rule.to if peer.pod_selector]
        assert [d.pod_selector.match_labels for d in dns] == [{"k8s-app": "kube-dns"}]
        wait_for(lambda: all((s, r) == ("False", "ReconcileError") for s, r, _ in p.synced("aws")), DEADLINE,
                 what="every AWS MR reporting its cloud error")
        # in the same time the provider kept by ClusterIP reported nothing: it cannot reach the API server
        assert p.synced("azure") == azure_before
    finally:
        network.unblock_provider_api("aws", configuration=p.configuration(read))
        network.unblock_provider_api("azure", configuration=p.configuration(trap))
    wait_for(lambda: p.all_synced("aws", "True") and p.all_synced("azure", "True"), DEADLINE,
             what="every MR Synced=True again")


def test_an_api_server_with_no_endpoints_is_refused_before_any_change(platform: Platform) -> None:
    target = platform.target("nowhere", egressKeep=None, egressKeepFrom={"apiServer": {"service": "no-such"}})
    with pytest.raises(TargetObjectMissing, match=r"no EndpointSlice labelled kubernetes.io/service-name=no-such "
                                                  r"in namespace default .*nothing was changed"):
        network.block_provider_api("aws", configuration=platform.configuration(target))
    assert platform.policies() == []


def test_preflight_shows_what_is_kept_and_warns_about_a_written_keep(platform: Platform) -> None:
    env = {**os.environ, "HOME": str(platform.directory)}
    shown = {}
    for name, changes in (("read", {"egressKeep": None}), ("trap", {})):
        result = xpchaos("preflight", "--target", str(platform.target(name, **changes)), "-o", "json", env=env)
        shown[name] = [f for f in json.loads(result.stdout) if f["check"] == "egress"]
    [kept] = shown["read"]
    assert kept["status"] == "ok" and "API server 10.0.113.21:443, 10.0.145.88:443" in kept["message"], kept
    assert "cluster DNS pods k8s-app=kube-dns in kube-system (2 running), 10.96.0.10" in kept["message"], kept
    assert [f["status"] for f in shown["trap"]] == ["ok", "warn"], shown["trap"]
    assert "10.96.0.1/32:443/TCP (egressKeep)" in shown["trap"][0]["message"]


@pytest.fixture(scope="module")
def unenforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One composite on a cluster whose CNI stores NetworkPolicies and enforces none (flannel's)."""
    directory = tmp_path_factory.mktemp("cni-none")
    platform = directory / "platform.yaml"
    platform.write_text(yaml.safe_dump(platform_document("cni-none", cluster={"cni": "none", "nodes": 1})))
    with sandboxes.running(directory / "sandbox", "--platform", str(platform), *sandboxes.fast("blueprint"),
                           cli=True) as box:
        box.wait_steady(timeout=DEADLINE)
        yield box


def test_no_networkpolicy_enforcement_reads_fault_not_applied_with_the_reason(unenforced: Sandbox,
                                                                             tmp_path: Path) -> None:
    run = Run(tmp_path)
    assert unenforced.target_path is not None
    result = xpchaos("run", "block-provider-api", "--journal", str(run.journal_path), "--slo", "2s",
                     env=run.env(unenforced.target_path), cwd=tmp_path)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-2000:]
    v = verdict_of(run.journal())
    assert v["outcome"] == "fault-not-applied", v
    assert v["reason"].startswith("no provider error within 1s: is NetworkPolicy enforced on this cluster?"), v
    assert "fault not applied" in result.stdout
    [fault] = [r for r in run.journal()["run"] if r["activity"]["name"] == "block-provider-api"]
    assert fault["output"]["effect"]["poll"] == "0.5s"  # the test timings' --poll, read from the pods
    assert run.outstanding() == []
