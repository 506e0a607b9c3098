"""``--platform seed`` is the default and the platform every earlier test was written against: its target.yaml is
byte for byte what the sandbox wrote before platforms existed (``seed/``, recorded from that version, with the
state directory and the nameserver's port written as DIR and NAMESERVER)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import sandboxes

SEED = Path(__file__).parent / "seed"


@pytest.mark.parametrize("variant", sorted(p.stem for p in SEED.glob("*.yaml")))
@pytest.mark.parametrize("explicit", [False, True], ids=["default", "--platform seed"])
def test_seed_target_is_unchanged(tmp_path: Path, variant: str, explicit: bool) -> None:
    profile, speed, crossplane, primary = variant.split("-")
    state_dir = tmp_path / "state"
    args = ["--profile", profile, "--speed", speed, "--crossplane", crossplane, "--primary", primary]
    with sandboxes.running(state_dir, *args, *(["--platform", "seed"] if explicit else [])) as box:
        assert box.target_path is not None and box.dns is not None
        written = box.target_path.read_text()
    expected = (SEED / f"{variant}.yaml").read_text()
    assert written.replace(str(state_dir.resolve()), "DIR").replace(box.dns, "NAMESERVER") == expected


def test_seed_ground_truth_names_what_the_target_names(tmp_path: Path) -> None:
    with sandboxes.running(tmp_path / "state", *sandboxes.fast("stock")) as box:
        truth = json.loads((box.state_dir / "platform.json").read_text())
        target = box.target
    assert truth["platform"] == "seed" and truth["cni"] == "pre-dnat"
    assert truth["crossplane"] == {"version": "v1", "namespace": "crossplane-system"}
    assert [c["name"] for c in truth["composites"]] == ["production-db"]
    for cloud, provider in target.providers.items():
        named = [(m.kind, m.name) for m in provider.managed]
        known = [(m["kind"], m["name"]) for m in truth["composites"][0]["managedResources"] if m["cloud"] == cloud]
        assert named == known
    assert truth["endpoints"]["published"] is False and truth["nodes"] == []
    # --dns function (the default): the failover function writes the zone; the Records it composes do not decide
    assert truth["dns"] == {"mode": "function", "zone": "xpchaos.test", "ttl": 2}
    assert [(o["kind"], o["name"]) for o in truth["composites"][0]["dns"]["objects"]] == [
        ("Record", "production-db-api-primary"), ("Record", "production-db-api-secondary"),
        ("HealthCheck", "production-db-aws-health")]
    assert truth["composites"][0]["dns"]["type"] == "A"
    assert "dns" not in target.model_dump(by_alias=True)["sandbox"]
