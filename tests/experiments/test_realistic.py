"""The failover judged per XR on the sandbox's ``realistic`` platform: twenty XRs (four of them claimed) whose
composed resources have generated names the target does not list (``managedResources: []``), found from the XRs
at run time. Azure serves first (``--primary azure``, where the credentials are a Secret), and a credential fault on
it must fail over every XR; the verdict lists each one with its own times. With AWS first, deleting one of its two
ProviderConfigs reaches only the XRs that use it (the blast radius): those must fail over, the others stay Ready."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.paths import EXPERIMENTS
from tests.support.runs import Run, verdict_of
from tests.support.sandboxes import Sandbox
from xpchaos.run import snapshot

XRS = 20
def _realistic(base: Path, profile: str) -> Iterator[Sandbox]:
    with sandboxes.realistic(base, profile, "--primary", "azure") as box:
        yield box
# Stock never fails over: at the test timings a failover takes a few seconds, so a short SLO judges it as surely
# as the default 90 s, and the runs do not wait the default out.
STOCK_SLO = "10s"


@pytest.fixture(scope="module")
def realistic_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _realistic(tmp_path_factory.mktemp("realistic-blueprint"), "blueprint")


@pytest.fixture(scope="module")
def realistic_stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _realistic(tmp_path_factory.mktemp("realistic-stock"), "stock")


@pytest.fixture(scope="module")
def realistic_aws_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.realistic(tmp_path_factory.mktemp("realistic-aws-blueprint"), "blueprint") as box:
        yield box


@pytest.fixture(scope="module")
def realistic_aws_stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    base = tmp_path_factory.mktemp("realistic-aws-stock")
    with sandboxes.running(base, "--platform", "realistic", *sandboxes.fast("stock"), cli=True) as box:
        box.wait_steady(timeout=90)
        yield box


def _using(box: Sandbox, provider_config: str) -> tuple[set[str], list[str]]:
    """The target's names of the XRs whose MRs use ``provider_config``, and their DNS names, from platform.json."""
    truth = json.loads((box.state_dir / "platform.json").read_text())
    xrs = [xr for xr in truth["composites"]
           if any(mr["providerConfig"]["name"] == provider_config for mr in xr["managedResources"])]
    names = {f"{xr['claim']['namespace']}/{xr['claim']['name']}" if xr["claim"] else xr["name"] for xr in xrs}
    return names, sorted(xr["dns"]["name"].rstrip(".") for xr in xrs)


def _blast(found: dict[str, Any]) -> dict[str, set[str]]:
    by: dict[str, set[str]] = {}
    for composite in found["composites"]:
        by.setdefault(composite["blast"], set()).add(composite["name"])
    return by


def _composite_names(box: Sandbox) -> set[str]:
    """What the target names: the XRs by name, the claims as namespace/name."""
    return {f"{c.namespace}/{c.name}" if c.namespace else c.name for c in box.target.composites}


def _resolved(journal: dict[str, Any]) -> list[dict[str, Any]]:
    timeline = next(e for e in journal["extensions"] if e["name"] == "xpchaos-timeline")["timeline"]
    return [e for e in timeline if e.get("what") == "composed"]


def test_the_target_lists_no_managed_resource(realistic_blueprint: Sandbox) -> None:
    doc = yaml.safe_load(Path(str(realistic_blueprint.target_path)).read_text())
    assert [p["managedResources"] for p in doc["providers"].values()] == [[], []]
    assert len(realistic_blueprint.target.composites) == XRS


def test_a_credential_fault_on_azure_fails_over_every_xr(realistic_blueprint: Sandbox, run_dir: Run) -> None:
    before = realistic_blueprint.snapshot()
    result = run_dir.chaos("revoke-credentials", Path(str(realistic_blueprint.target_path)), XPCHAOS_PROVIDER="azure")
    journal = run_dir.journal()
    found = verdict_of(journal)
    assert result.returncode == 0, f"{found}\n{result.stderr[-3000:]}"
    assert found["outcome"] == "passed" and found["provider"] == "azure", found
    composites = found["composites"]
    assert {c["name"] for c in composites} == _composite_names(realistic_blueprint)
    for composite in composites:
        assert composite["outcome"] == "passed", composite
        assert isinstance(composite["times"]["time_to_detect_s"], float), composite
        assert isinstance(composite["times"]["time_to_failover_s"], float), composite
    failover = [c["times"]["time_to_failover_s"] for c in composites]
    assert failover == sorted(failover, reverse=True), "not the slowest first"
    assert found["times"]["time_to_failover_s"] == max(failover)  # the run's time is its slowest XR's
    assert isinstance(found["times"]["time_to_dns_convergence_s"], float), found["times"]
    # the resolution is in the journal: every XR's MRs, split by provider (4 on AWS, 1 on Azure per XR)
    resolved = _resolved(journal)
    by_provider: dict[str, int] = {}
    for entry in resolved:
        by_provider[entry["involved"]["provider"]] = by_provider.get(entry["involved"]["provider"], 0) + 1
    assert by_provider == {"aws": 4 * XRS, "azure": XRS}, by_provider
    assert {e["involved"]["composite"] for e in resolved} == _composite_names(realistic_blueprint)
    assert snapshot.diff(before, realistic_blueprint.snapshot()) == []
    assert run_dir.outstanding() == []


def test_stock_reads_failed_for_every_xr(realistic_stock: Sandbox, run_dir: Run) -> None:
    result = run_dir.chaos("revoke-credentials", Path(str(realistic_stock.target_path)), XPCHAOS_PROVIDER="azure",
                           XPCHAOS_SLO=STOCK_SLO)
    found = verdict_of(run_dir.journal())
    assert result.returncode == 1, f"{found}\n{result.stderr[-3000:]}"
    assert found["outcome"] == "failed" and found["failed_step"] == "xr_recovers", found
    assert "never left Ready" in found["observed"], found
    assert len(found["composites"]) == XRS
    assert {(c["outcome"], c["failed_step"]) for c in found["composites"]} == {("failed", "xr_recovers")}


def test_xpchaos_run_shows_every_xr_with_its_own_times(realistic_blueprint: Sandbox, run_dir: Run) -> None:
    realistic_blueprint.wait_steady(timeout=90)
    result = xpchaos("run", str(EXPERIMENTS / "revoke-credentials.json"), "--target",
                     str(realistic_blueprint.target_path), "--provider", "azure", "--undo-log", str(run_dir.undo_log),
                     cwd=run_dir.directory, timeout=150, env=run_dir.env(run_dir.directory / "unused.yaml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    journal_path = next((run_dir.directory / "reports" / "runs").glob("*/journal.json"))
    found = verdict_of(json.loads(journal_path.read_text()))
    report = (journal_path.parent / "report.txt").read_text()
    assert f"Composites ({XRS}, slowest first)" in report
    rows = [line.split() for line in report.splitlines()]
    for composite in found["composites"]:  # each XR on its own line, with its own time to fail over
        own = f"{composite['times']['time_to_failover_s']:.2f}"
        assert any(row[:2] == [composite["name"], "passed"] and own in row for row in rows), composite["name"]
    html = xpchaos("report", str(journal_path), cwd=run_dir.directory)
    assert html.returncode == 0, html.stderr
    page = journal_path.with_suffix(".html").read_text()
    assert page.count('<tr class="composite passed-row">') == XRS
    assert run_dir.outstanding() == []



def test_preflight_finds_the_composed_resources_as_a_run_does(realistic_blueprint: Sandbox) -> None:
    result = xpchaos("preflight", "--target", str(realistic_blueprint.target_path), "-o", "json", timeout=120)
    managed = [f for f in json.loads(result.stdout) if f["check"] == "managed"]
    assert [f["status"] for f in managed] == ["ok"], managed
    counts = {"aws": f"aws: {4 * XRS}", "azure": f"azure: {XRS}"}
    assert managed[0]["message"] == f"{XRS} composites compose {5 * XRS} managed resources " \
                                    f"({', '.join(counts[p] for p in realistic_blueprint.target.providers)})"


def test_deleting_one_aws_providerconfig_fails_over_only_the_xrs_that_use_it(realistic_aws_blueprint: Sandbox,
                                                                              run_dir: Run) -> None:
    box = realistic_aws_blueprint
    pc = box.target.provider("aws").provider_config.name
    reached, records = _using(box, pc)
    assert 0 < len(reached) < XRS, reached  # the other AWS ProviderConfig serves the rest
    before = box.snapshot()
    result = run_dir.chaos("delete-providerconfig", Path(str(box.target_path)), XPCHAOS_PROVIDER="aws")
    journal = run_dir.journal()
    found = verdict_of(journal)
    assert result.returncode == 0, f"{found}\n{result.stderr[-3000:]}"
    assert found["outcome"] == "passed", found
    assert _blast(found) == {"reached": reached, "spared": _composite_names(box) - reached}, found["composites"]
    for composite in found["composites"]:
        assert composite["outcome"] == "passed", composite
        if composite["blast"] == "reached":  # failed over, with its own time
            assert isinstance(composite["times"]["time_to_failover_s"], float), composite
        else:
            assert composite["times"] == {}, composite
    timeline = next(e for e in journal["extensions"] if e["name"] == "xpchaos-timeline")["timeline"]
    [reach] = [e for e in timeline if e.get("what") == "reach"]
    assert set(reach["involved"]["composites"].split(",")) == reached
    assert reach["involved"]["records"].split(",") == records  # only these records must switch
    assert any(step["name"] == "dns_secondary" for step in found["steps"]), found["steps"]
    box.wait_steady(timeout=90)
    assert snapshot.diff(before, box.snapshot()) == []
    assert run_dir.outstanding() == []


def test_stock_fails_at_xr_recovers_for_the_reached_xrs_only(realistic_aws_stock: Sandbox, run_dir: Run) -> None:
    box = realistic_aws_stock
    reached, _records = _using(box, box.target.provider("aws").provider_config.name)
    result = run_dir.chaos("delete-providerconfig", Path(str(box.target_path)), XPCHAOS_PROVIDER="aws",
                           XPCHAOS_SLO=STOCK_SLO)
    found = verdict_of(run_dir.journal())
    assert result.returncode == 1, f"{found}\n{result.stderr[-3000:]}"
    assert found["outcome"] == "failed" and found["failed_step"] == "xr_recovers", found
    outcomes = {c["name"]: (c["blast"], c["outcome"], c["failed_step"]) for c in found["composites"]}
    assert outcomes == {name: ("reached", "failed", "xr_recovers") if name in reached else ("spared", "passed", None)
                        for name in _composite_names(box)}, outcomes
