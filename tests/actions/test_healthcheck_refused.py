"""The health check fault where DNS is not routed by health (``--dns function``: the failover records' health check
is disabled; ``provider``: a simple Record; ``external-dns``): nothing is changed, not even an undo record written,
and the answer is fault-not-applied with one line naming the wiring found; a run of fail-health-check.json reads
"fault not applied", exit code 2, as ``xpchaos plan`` says before. A file of its own, so that it runs beside the
health-routed modes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import dnsmodes
from tests.support.paths import EXPERIMENTS
from xpchaos.actions import healthcheck
from xpchaos.core.outcome import ActionOutcome, Outcome
from xpchaos.run import plan, runner

TAIL = ": failing a health check cannot move it; choose another fault"


def _written(box: dnsmodes.ModeBox) -> dict[str, Any]:
    """What a change would show: each composed resource's generation, spec and annotations, and the resourceVersion
    of the ProviderConfigs and the providers' Secrets and NetworkPolicies."""
    composed = {m["name"]: box.get(m) for m in box.composite["managedResources"]}
    return {**{n: (o["metadata"].get("generation"), o["spec"], o["metadata"].get("annotations"))
               for n, o in composed.items()}, **box.sandbox.resource_versions()}


@pytest.mark.parametrize("mode", ["function", "provider", "external-dns"])
def test_nothing_changes_and_one_line_names_the_wiring(mode: str, tmp_path: Path) -> None:
    with dnsmodes.blueprint(tmp_path / "sandbox", mode) as box:
        if mode == "function":  # the composed health check does not decide: Route53 counts a disabled one healthy
            assert box.for_provider(box.managed("aws-health"))["disabled"] is True
        before = _written(box)
        config = {"xpchaos_target": str(box.sandbox.target_path), "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}
        result = healthcheck.fail_health_check(configuration=config)
        assert result["outcome"] == ActionOutcome.NOT_APPLIED and result["objects"] == [], result
        assert result["reason"].startswith(f"DNS of production-db is wired by {mode} (") and \
            result["reason"].endswith(TAIL) and "\n" not in result["reason"], result["reason"]
        assert _written(box) == before
        assert not (tmp_path / "undo.jsonl").exists()
        if mode != "function":
            return
        with pytest.raises(plan.PlanError) as refused:  # xpchaos plan says the same before a run
            plan.make(EXPERIMENTS / "fail-health-check.json", box.sandbox.target_path, undo_log=tmp_path / "p.jsonl")
        assert str(refused.value) == f"fail-health-check: a run would change nothing (fault not applied): " \
                                     f"{result['reason']}"
        run = runner.run(EXPERIMENTS / "fail-health-check.json", box.sandbox.target_path,
                         undo_log=tmp_path / "run-undo.jsonl")
        assert run.verdict.outcome == Outcome.NOT_APPLIED and run.verdict.exit_code == 2, run.verdict
        assert run.verdict.reason == f"fail-health-check: {result['reason']}"
        assert _written(box) == before
