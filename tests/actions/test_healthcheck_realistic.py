"""The health check fault on the ``realistic`` platform (20 XRs, 4 claimed, generated names, provider families, two
AWS ProviderConfigs) wired by Route53 health-check failover: exactly the health checks of the XRs the fault reaches
(on the target's AWS ProviderConfig, served from AWS), by the platform's own ground truth (platform.json), are
inverted; the rollback leaves the cluster as it was."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import sandboxes
from xpchaos.actions import healthcheck
from xpchaos.core.outcome import ActionOutcome
from xpchaos.run import snapshot


def test_each_reached_xrs_health_check_is_inverted_and_everything_restored(tmp_path: Path) -> None:
    with sandboxes.realistic(tmp_path / "sandbox", "blueprint", "--dns", "route53-failover") as box:
        truth = json.loads((box.state_dir / "platform.json").read_text())
        config = box.target.providers["aws"].provider_config.name
        expected = {o["name"] for c in truth["composites"]
                    if c["providerConfigs"]["aws"] == config and c["primary"] == "aws"
                    for o in c["dns"]["objects"] if o["kind"] == "HealthCheck"}
        assert 1 < len(expected) < len(truth["composites"])  # some XRs reached, not all
        before = snapshot.take(box.target)
        configuration = {**box.configuration, "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}
        result = healthcheck.fail_health_check(provider="aws", configuration=configuration)
        try:
            assert result["outcome"] == ActionOutcome.APPLIED, result  # the provider applied each (first effect)
            assert {o["name"] for o in result["objects"]} == expected
            assert {o["kind"] for o in result["objects"]} == {"HealthCheck"}
            assert set(result["wiring"].values()) == {"route53-failover"}
        finally:
            restored = healthcheck.restore_health_check(provider="aws", configuration=configuration)
        assert restored["outcome"] == ActionOutcome.RESTORED and len(restored["restored"]) == len(expected)
        assert snapshot.diff(before, snapshot.take(box.target)) == []
