"""The gate's verdict per DNS wiring, fault and profile, the quick rows (tagged @ci in
tests/run/gate/dns_modes/dns_modes.feature): ``xpchaos gate --features tests/run/gate/dns_modes -m "slow and ci"``
exits 0 when every row reads the verdict the table gives it, and its journals, junit and HTML report show each row's
verdict. The headline row: revoking AWS's credentials where the Route53 Record is reconciled through AWS's own
ProviderConfig reads not resilient at dns_secondary. The whole table: tests/reliability/test_dns_mode_table.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support import dns_mode_table, sandboxes
from xpchaos.core import target as targets
from xpchaos.steps.world import dns_wirings

QUICK = "slow and ci"
TIMEOUT = 240  # the rows take about a minute; a hung gate fails here rather than at the suite's timeout


def test_the_quick_rows_read_the_verdicts_of_the_table(tmp_path: Path) -> None:
    expected = dns_mode_table.selected("ci")
    assert any(r.mode == "provider" and r.fault == "revoke-credentials.json" and r.step == "dns_secondary"
               for r in expected), "the headline row is not among the quick rows"
    report_dir = tmp_path / "report"
    gate = dns_mode_table.gate(QUICK, report_dir, TIMEOUT)
    assert gate.returncode == 0, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 0: every selected scenario passed" in gate.stdout
    assert dns_mode_table.mismatches(report_dir, expected) == [], dns_mode_table.table(report_dir, expected)


def test_against_a_target_wired_otherwise_the_rows_are_skipped(tmp_path: Path) -> None:
    """A platform whose DNS the failover function writes (``--dns function``, the default) is not one of the quick
    AWS rows' wirings: each is skipped saying which wiring it needs and which the target has, and a gate that ran
    nothing exits 2."""
    with sandboxes.running(tmp_path / "function", *sandboxes.fast("blueprint")) as box:
        report_dir = tmp_path / "report"
        gate = dns_mode_table.gate("slow and ci and aws", report_dir, TIMEOUT, "--target", str(box.target_path))
        # the sandbox leaves the default wiring unsaid: it is read from what the composite composes; a wiring
        # the target states is taken as written
        doc = yaml.safe_load(box.target.path.read_text())
        assert all("wiring" not in record for record in doc["dns"])
        assert dns_wirings(box.target) == {"function"}
        for record in doc["dns"]:
            record["wiring"] = "provider"
        stated = tmp_path / "function" / "stated.yaml"
        stated.write_text(yaml.safe_dump(doc))
        assert dns_wirings(targets.load(stated)) == {"provider"}
    assert gate.returncode == 2, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "every selected scenario was skipped" in gate.stdout
    records = dns_mode_table.records(report_dir)
    assert len(records) == len(dns_mode_table.selected("ci", "aws")), records
    for record in records:
        mode = record["scenario"].split("wired by ")[1].split()[0]
        assert record["outcome"] == "skipped" and f"needs DNS wired by {mode};" in record["message"] and \
            "is wired by function" in record["message"], record
