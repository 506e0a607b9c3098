"""``xpchaos gate`` as CI runs it: exit 0 with a report of the scenarios and their figures against a blueprint
platform, exit 2 for a broken target or an empty selection; and no credential value in anything it writes (a canary
planted in the target's Secret). Stock Crossplane's exit 1, as a user meets it from the installed wheel:
tests/packaging/test_installed_commands.py."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.support import sandboxes
from tests.support.gate import SELECTION
from tests.support.gate import run as _gate
from tests.support.sandboxes import Sandbox
from xpchaos.core import kube
from xpchaos.core import target as targets


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.platform(tmp_path_factory.mktemp("gate-blueprint"), "blueprint") as box:
        yield box


def _plant_canary(target: targets.Target) -> list[str]:
    """A canary key beside the AWS credential, and the credential itself: every form either could leak in."""
    ref = target.provider("aws").credentials
    core = client.CoreV1Api(kube.api_client(target.kubeconfig, target.context))
    canary = f"XPCHAOS-CANARY-{uuid.uuid4().hex}"
    core.patch_namespaced_secret(ref.name, ref.namespace, {"stringData": {"canary": canary}})
    credential = base64.b64decode((core.read_namespaced_secret(ref.name, ref.namespace).data or {})[ref.key])
    secret_lines = [line.split("=", 1)[1].strip() for line in credential.decode().splitlines() if "=" in line]
    needles = [canary, base64.b64encode(canary.encode()).decode(), base64.b64encode(credential).decode()]
    return needles + [s for s in secret_lines if len(s) >= 16]


def _leaks(needles: list[str], texts: dict[str, str]) -> list[str]:
    return [f"{where} holds {needle[:6]}..." for where, text in texts.items() for needle in needles if needle in text]


def test_blueprint_passes_and_no_credential_reaches_any_output(blueprint: Sandbox, tmp_path: Path) -> None:
    target = blueprint.target
    needles = _plant_canary(target)
    report_dir = tmp_path / "report"
    gate = _gate("--target", str(target.path), "-m", SELECTION, "--report-dir", str(report_dir))
    assert gate.returncode == 0, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 0: every selected scenario passed" in gate.stdout
    for name in ("index.html", "junit.xml", "cucumber.json", "pytest.log", "scenarios.jsonl"):
        assert (report_dir / name).is_file(), f"{name} missing from {sorted(p.name for p in report_dir.iterdir())}"
    journals = sorted((report_dir / "journals").glob("*.json"))
    assert len(journals) >= 5, journals  # three faults, the blocked deletion, the outline's AWS rows
    page = (report_dir / "index.html").read_text()
    for fault in ("delete-providerconfig", "block-provider-api", "revoke-credentials"):
        assert fault in page, f"the report does not show {fault}"
    records = [json.loads(line) for line in (report_dir / "scenarios.jsonl").read_text().splitlines()]
    passed = [r for r in records if r["outcome"] == "passed" and r["journal"]]
    assert len(passed) >= 5, [(r["scenario"], r["outcome"]) for r in records]
    times = [json.loads(Path(r["journal"]).read_text()) for r in passed]
    figures = [next(e for e in j["extensions"] if e["name"] == "xpchaos-verdict").get("times", {}) for j in times]
    assert sum(1 for f in figures if f.get("time_to_dns_convergence_s") is not None) >= 4, figures
    outputs = {str(p.relative_to(tmp_path)): p.read_text(errors="replace") for p in report_dir.rglob("*")
               if p.is_file()}
    outputs.update({"stdout": gate.stdout, "stderr": gate.stderr})
    assert _leaks(needles, outputs) == []


def test_a_broken_target_exits_2_before_anything(tmp_path: Path) -> None:
    broken = tmp_path / "target.yaml"
    broken.write_text("kind: Target\nproviders:\n  aws: {role: primary}\n")
    gate = _gate("--target", str(broken), "--report-dir", str(tmp_path / "report"))
    assert gate.returncode == 2, gate.stdout + gate.stderr
    assert gate.stderr.count("\n") == 1 and "providers.aws.providerConfig: is required" in gate.stderr, gate.stderr
    assert not (tmp_path / "report").exists()


def test_an_empty_selection_exits_2_and_reports_latest_points_at_the_report(tmp_path: Path) -> None:
    gate = _gate("-m", "azure and not azure", cwd=tmp_path)
    assert gate.returncode == 2, gate.stdout + gate.stderr
    assert "no scenario matched the selection" in gate.stdout
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink() and (latest / "index.html").is_file(), sorted(tmp_path.rglob("*"))
    assert "no scenario matched the selection" in (latest / "index.html").read_text()


def test_an_unknown_tag_exits_2_with_pytests_complaint(tmp_path: Path) -> None:
    gate = _gate("-m", "no_such_tag", "--report-dir", str(tmp_path / "report"))
    assert gate.returncode == 2, gate.stdout + gate.stderr
    assert "Unknown marker(s) in '-m' expression: no_such_tag" in gate.stdout, gate.stdout[-2000:]
