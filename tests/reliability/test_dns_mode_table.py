"""The whole table of the gate's verdict per DNS wiring x fault x profile (40 rows of
tests/run/gate/dns_modes/dns_modes.feature, ``make reliability``): one ``xpchaos gate`` over every row, exit 0 when
each reads the verdict its DNS wiring implies, every row's verdict in its journal, junit and the HTML report. The
observed table is recorded as the figure ``dns-mode-table``. The quick rows run in ``make test``
(tests/run/gate/test_dns_modes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import dns_mode_table

from . import figures

TIMEOUT = 1500  # 40 rows, about half waiting out their 10 s SLO, each restored before the next


@pytest.mark.soak
@pytest.mark.timeout(TIMEOUT + 60)
def test_every_row_reads_the_verdict_its_dns_wiring_implies(tmp_path: Path) -> None:
    expected = dns_mode_table.rows()
    report_dir = tmp_path / "report"
    gate = dns_mode_table.gate("slow", report_dir, TIMEOUT)
    problems = dns_mode_table.mismatches(report_dir, expected)
    figures.record("dns-mode-table", {"rows": len(expected), "as_expected": len(expected) - len(
        {p.split(":")[0] for p in problems}), "table": dns_mode_table.table(report_dir, expected).splitlines()})
    assert problems == [], "\n".join(problems) + "\n" + dns_mode_table.table(report_dir, expected)
    assert gate.returncode == 0, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 0: every selected scenario passed" in gate.stdout
