"""What else the installed wheel does (the installation of ``tests.packaging.installed``, shared with the user
path's file, which may run on another worker at the same time): ``pip show -f`` lists only the xpchaos package,
``xpchaos rbac`` renders least privilege for a scaffolded target, the gate exits 1 on stock Crossplane with the
shipped scenarios, and a JSON-path tolerance is evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.packaging import installed as installation
from tests.packaging.installed import Installed
from tests.packaging.user_path import GATE
from xpchaos import __version__

SANDBOX_TARGET = Path(".xpchaos/sandbox/target.yaml")  # what `xpchaos sandbox up` writes in the working directory
pytestmark = pytest.mark.timeout(1500)  # the first file to ask builds and installs the wheel, the other waits


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The session's installation of the wheel, with this file's own HOME."""
    return installation.installed(tmp_path_factory, tmp_path_factory.mktemp("installed-commands-home"))


def test_pip_show_lists_only_the_xpchaos_package(installed: Installed, tmp_path: Path) -> None:
    shown = installed.run(["python", "-m", "pip", "show", "-f", "xpchaos"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    files = [line.strip() for line in shown.stdout.split("Files:", 1)[1].splitlines() if line.strip()]
    dist_info = f"xpchaos-{__version__}.dist-info/"
    outside = [f for f in files if not f.startswith(("xpchaos/", dist_info)) and f != "../../../bin/xpchaos"]
    assert files and outside == [], outside
    assert any(f.startswith("xpchaos/experiments/") for f in files) and "xpchaos/features/test_scenarios.py" in files
    site = Path(re.search(r"^Location: (.+)$", shown.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert (site / dist_info / "top_level.txt").read_text().split() == ["xpchaos"]
    imported = installed.run(["python", "-c", "import xpchaos.steps, xpchaos.pytest_plugin; print(xpchaos.__file__)"],
                             tmp_path)
    assert Path(imported.stdout.strip()).is_relative_to(site), imported  # the wheel's copy, not this checkout
    version = installed.run("xpchaos --version", tmp_path)  # written once, in xpchaos/__init__.py
    assert version.stdout.split()[-1] == __version__ and f"Version: {__version__}" in shown.stdout, version.stdout


def test_the_installed_tool_renders_least_privilege_for_a_scaffolded_target(installed: Installed,
                                                                           tmp_path: Path) -> None:
    """``xpchaos rbac`` from the wheel, for the target ``xpchaos init`` writes: read-only roles apart from the run
    roles, each upbound group with its Crossplane v2 twin (the table ships in the package)."""
    assert installed.run("xpchaos init", tmp_path).returncode == 0
    rendered = installed.run("xpchaos rbac --offline --target xpchaos.example.yaml", tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    roles = {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert {("ClusterRole", "xpchaos"), ("ClusterRole", "xpchaos-read")} <= roles, roles
    groups = {g for d in docs for r in d.get("rules") or [] for g in r["apiGroups"]}
    assert {"aws.upbound.io", "aws.m.upbound.io"} <= groups, groups


@pytest.fixture(scope="module")
def stock(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty directory (no features/, no experiments/) with a stock-Crossplane sandbox running: no failover."""
    repo = tmp_path_factory.mktemp("stock-platform")
    up = installed.run("xpchaos sandbox up --detach --speed fast --profile stock", repo)
    assert up.returncode == 0, up.stderr
    try:
        yield repo
    finally:
        installed.run("xpchaos sandbox down", repo)


def test_the_gate_exits_1_on_stock_crossplane_with_the_shipped_scenarios(installed: Installed, stock: Path) -> None:
    """The path's gate against stock Crossplane, its target's SLO tightened to 5 s so that each missing failover is
    decided sooner: exit 1, and the report names the missing failover. Without features/ here the gate runs the
    scenarios shipped with xpchaos, and says so. (The only stock gate of the suite: the shipped scenarios are these
    files, tests/packaging/test_sources.py.)"""
    target = yaml.safe_load((stock / SANDBOX_TARGET).read_text())
    target["slos"]["dns_convergence"] = "5s"
    (stock / "stock.yaml").write_text(yaml.safe_dump(target))
    gate = installed.run(GATE.replace(str(SANDBOX_TARGET), "stock.yaml"), stock, timeout=900)
    assert gate.returncode == 1, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 1: not resilient" in gate.stdout
    assert "features: using the copy shipped with xpchaos" in gate.stdout, gate.stdout[:2000]
    report_dir = stock / "reports" / "gate"
    page = (report_dir / "index.html").read_text()
    assert "xr_recovers" in page and "never left Ready" in page
    records = [json.loads(line) for line in (report_dir / "scenarios.jsonl").read_text().splitlines()]
    outcomes = {r["scenario"]: r["outcome"] for r in records}
    assert outcomes["Revoking the AWS credentials fails over to Azure"] == "failed", outcomes
    assert outcomes["Deleting an in-use ProviderConfig is blocked, so nothing fails over"] == "passed", outcomes


JSONPATH_EXPERIMENT = {  # as chaostoolkit-kubernetes's examples write a steady state over a custom object
    "title": "The composite reports Ready, read with a JSON-path tolerance",
    "description": "chaostoolkit-kubernetes's probe and a jsonpath tolerance, as users' own experiments use them",
    "steady-state-hypothesis": {"title": "the XR is Ready", "probes": [{
        "type": "probe", "name": "xr-ready-condition", "tolerance": {
            "type": "jsonpath", "path": '$.status.conditions[*][?(@.type = "Ready")].status', "expect": "True"},
        "provider": {"type": "python", "module": "chaosk8s.crd.probes", "func": "get_cluster_custom_object",
                     "arguments": {"group": "database.example.org", "version": "v1alpha1",
                                   "plural": "xglobaldatabases", "name": "production-db"}}}]},
    "method": [{"type": "probe", "name": "read-the-xr", "provider": {
        "type": "python", "module": "chaosk8s.crd.probes", "func": "get_cluster_custom_object",
        "arguments": {"group": "database.example.org", "version": "v1alpha1", "plural": "xglobaldatabases",
                      "name": "production-db"}}}],
}


@pytest.mark.parametrize("expect", ["True", "False"])
def test_a_json_path_tolerance_is_evaluated(installed: Installed, stock: Path, tmp_path: Path, expect: str) -> None:
    """The extra Chaos Toolkit needs for it (jsonpath2) comes with xpchaos: the steady state holds when the path
    finds what it expects (the XR is Ready), and not when it expects something else."""
    experiment = json.loads(json.dumps(JSONPATH_EXPERIMENT))
    experiment["steady-state-hypothesis"]["probes"][0]["tolerance"]["expect"] = expect
    path = tmp_path / "jsonpath.json"
    path.write_text(json.dumps(experiment))
    journal = tmp_path / "journal.json"
    done = installed.run(["chaos", "--no-version-check", "run", "--journal-path", str(journal), str(path)], tmp_path,
                         KUBECONFIG=str(stock / SANDBOX_TARGET.parent / "kubeconfig"))
    assert "jsonpath2" not in done.stdout + done.stderr  # chaoslib's "Install the jsonpath2 package"
    met = json.loads(journal.read_text())["steady_states"]["before"]["steady_state_met"]
    assert met is (expect == "True"), done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0 or expect == "False", done.stdout[-3000:] + done.stderr[-2000:]
