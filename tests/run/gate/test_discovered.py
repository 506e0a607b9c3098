"""``xpchaos gate`` runs the shipped ``ci`` scenarios (features/, the default selection) with a target ``xpchaos
discover`` wrote, on the sandbox's ``realistic`` platform (20 XRs with generated names, two AWS ProviderConfigs,
IRSA on AWS): exit 0 on the blueprint, exit 1 on stock Crossplane with the report naming the missing failover.

The default selection, because against a target serving from AWS it already is the narrowest that covers each
kind of shipped scenario: the three faults' failover, the in-use deletion that is blocked and the outline's AWS
rows; the Azure rows and the stock-only scenarios skip themselves (``--target`` is one platform), and no shipped tag
selects fewer of the others. Deleting ``aws-prod`` reaches 10 of the 20 XRs, so the scenarios pass only if their
steps judge within the blast radius.

The target is used as discover wrote it (only the SLO tightened on stock). Discover writes no ``egressKeep``: the
network fault keeps the API server's endpoints (the ``default/kubernetes`` EndpointSlice) and the cluster DNS pods
(``k8s-app=kube-dns``), which the platform's post-DNAT CNI sees, so the cut-off provider still reports its errors.
On stock the target's SLO is tighter, so each scenario's
verdict comes sooner. The two gates run at once, each on its own sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.paths import ROOT
from tests.support.runs import extension
from tests.support.sandboxes import Sandbox

XR_KIND = "xglobaldatabases.database.example.org"
GATE_TIMEOUT = 300
PROFILES = ("blueprint", "stock")
STOCK_SLO = "5s"  # the SLO is the target's: a tighter one makes stock's verdicts come sooner
FAILOVERS = {  # the shipped ci scenarios that run against a target serving from AWS, each a failover
    "Deleting the AWS ProviderConfig fails over to Azure", "Cutting AWS off its cloud API fails over to Azure",
    "Revoking the AWS credentials fails over to Azure",
    "delete-providerconfig.json against aws moves traffic to azure",
    "revoke-credentials.json against aws moves traffic to azure"}
BLOCKED = "Deleting an in-use ProviderConfig is blocked, so nothing fails over"


@dataclass(frozen=True)
class Gate:
    run: subprocess.CompletedProcess[str]
    report_dir: Path

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """Each scenario's record, by its name."""
        lines = (self.report_dir / "scenarios.jsonl").read_text().splitlines()
        return {r["scenario"]: r for r in map(json.loads, lines)}

    def journal(self, scenario: str) -> dict[str, Any]:
        return dict(json.loads(Path(self.records[scenario]["journal"]).read_text()))

    def why(self) -> str:
        return self.run.stdout[-4000:] + self.run.stderr[-2000:]


def _discover(box: Sandbox, out: Path) -> Path:
    """``xpchaos discover`` over every XR of the kind, as a user runs it against the cluster of $KUBECONFIG."""
    result = xpchaos("discover", "--kind", XR_KIND, "-l", "crossplane.io/composite", "--nameserver", str(box.dns),
                     "-o", str(out), env={**os.environ, "KUBECONFIG": box.kubeconfig})
    assert result.returncode == 0, result.stderr
    return out


def _tightened(target: Path, slo: str | None) -> Path:
    """The discovered target as written, with a tighter SLO when given."""
    assert "egressKeep" not in yaml.safe_load(target.read_text())  # the keep comes from the cluster
    if slo:
        doc = yaml.safe_load(target.read_text())
        doc["slos"] = {"dns_convergence": slo}
        target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


def _start_gate(target: Path, report_dir: Path) -> subprocess.Popen[str]:
    # the defaults: revoke mode auto picks IRSA's; block mode deny-all-except-keep keeps what the cluster publishes
    env = {k: v for k, v in os.environ.items() if k not in ("XPCHAOS_REVOKE_MODE", "XPCHAOS_BLOCK_MODE")}
    env.update(XPCHAOS_HISTORY=str(report_dir.parent / "history.sqlite"),
               XPCHAOS_UNDO_LOG=str(report_dir.parent / "undo.jsonl"))
    return subprocess.Popen([sys.executable, "-m", "xpchaos", "gate", "--target", str(target), "--report-dir",
                             str(report_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env)


def _finish(proc: subprocess.Popen[str], report_dir: Path) -> Gate:
    try:
        out, err = proc.communicate(timeout=GATE_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    return Gate(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), report_dir)


@pytest.fixture(scope="module")
def gates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Gate]]:
    """The gate over each profile's discovered target, both run at once; the sandboxes stop once both are done."""
    base = tmp_path_factory.mktemp("discovered")
    with ExitStack() as stack:
        started = {}
        for profile in PROFILES:
            box = stack.enter_context(sandboxes.realistic(base / profile, profile))
            target = _tightened(_discover(box, base / f"{profile}.yaml"), STOCK_SLO if profile == "stock" else None)
            report_dir = base / f"{profile}-run" / "report"
            report_dir.parent.mkdir()
            started[profile] = (_start_gate(target, report_dir), report_dir)
        done = {profile: _finish(proc, report_dir) for profile, (proc, report_dir) in started.items()}
    yield done


def test_the_gate_passes_on_blueprint_with_the_discovered_target(gates: dict[str, Gate]) -> None:
    gate = gates["blueprint"]
    assert gate.run.returncode == 0, gate.why()
    assert "exit 0: every selected scenario passed" in gate.run.stdout
    passed = {name for name, r in gate.records.items() if r["outcome"] == "passed"}
    assert passed == FAILOVERS | {BLOCKED}, gate.why()
    deleted = extension(gate.journal("Deleting the AWS ProviderConfig fails over to Azure"), "xpchaos-verdict")
    blast = [c.get("blast") for c in deleted["composites"]]  # every XR discover found, judged by the blast radius
    assert len(blast) == 20 and blast.count("reached") == 10 and blast.count("spared") == 10, deleted["composites"]
    revoked = gate.journal("Revoking the AWS credentials fails over to Azure")
    assert len(extension(revoked, "xpchaos-verdict")["composites"]) == 20
    [fault] = [r for r in revoked["run"] if r["activity"]["name"] == "revoke-credentials"]
    assert fault["output"]["mode_reason"] == "mode auto: source IRSA → identity"
    cut = gate.journal("Cutting AWS off its cloud API fails over to Azure")
    [block] = [r for r in cut["run"] if r["activity"]["name"] == "block-provider-api"]
    assert block["output"]["mode"] == "deny-all-except-keep", block["output"]
    assert "API server 10.0.113.21:443, 10.0.145.88:443" in block["output"]["keep"][0], block["output"]["keep"]


def test_the_gate_reads_not_resilient_on_stock_naming_the_missing_failover(gates: dict[str, Gate]) -> None:
    gate = gates["stock"]
    assert gate.run.returncode == 1, gate.why()
    assert "exit 1: not resilient" in gate.run.stdout
    page = (gate.report_dir / "index.html").read_text()
    assert "xr_recovers" in page and "never left Ready" in page
    outcomes = {name: r["outcome"] for name, r in gate.records.items() if r["outcome"] != "skipped"}
    assert outcomes == {**dict.fromkeys(FAILOVERS, "failed"), BLOCKED: "passed"}, gate.why()
