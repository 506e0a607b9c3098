"""``xpchaos sandbox up --platform realistic`` as a user runs it: the target it writes loads in the harness and holds
only what a user knows without discovery; a running sandbox is reused only for the platform it runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import sandboxes
from tests.support.commands import xpchaos


def test_realistic_target_loads_and_names_only_what_a_user_knows(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    box = sandboxes.up(state_dir, "--platform", "realistic", "--speed", "fast")
    try:
        target = box.target  # the harness's own loader accepts it
        truth = json.loads((state_dir / "platform.json").read_text())
        kinds = sorted((c.kind, c.namespace or "") for c in target.composites)
        assert kinds.count(("XGlobalDatabase", "")) == 16
        claims = [c for c in target.composites if c.kind == "GlobalDatabase"]
        assert sorted((c.namespace, c.name) for c in claims) == sorted(
            (c["claim"]["namespace"], c["claim"]["name"]) for c in truth["composites"] if c["claim"])
        aws = target.provider("aws")
        assert aws.managed == () and aws.pods_namespace == "upbound-system"
        assert aws.pods_selector == "pkg.crossplane.io/provider in (provider-aws-rds,provider-aws-route53)"
        assert [(k.cidr, k.port) for k in target.egress_keep][:1] == [("10.96.0.1/32", 443)]  # as users write it
        assert len(target.dns) == 20
        written = (state_dir / "target.yaml").read_text()
        for composite in truth["composites"]:  # generated names are discovery, not knowledge
            assert all(m["name"] not in written for m in composite["managedResources"])
        reused = xpchaos("sandbox", "up", "--detach", "--platform", "realistic", "--state-dir", str(state_dir))
        assert reused.returncode == 0 and "reused" in reused.stdout
        other = xpchaos("sandbox", "up", "--detach", "--platform", "seed", "--state-dir", str(state_dir))
        assert other.returncode == 2
        assert "has --platform realistic" in other.stderr and "--platform seed" in other.stderr
    finally:
        sandboxes.down(state_dir)
