"""The README table reads what was measured, says NO when a figure does not hold, and never shows stale numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import table

SOAK = {"runs": 30, "signals": {"SIGINT": 15, "SIGTERM": 15}, "landed": {"probe": 20, "rollback": 10},
        "differences": 0, "outstanding_undo_records": 0}
JUNIT = """<testsuites><testsuite>
<testcase classname="tests.corpus.test_corpus" name="test_bad_target[x]"/>
<testcase classname="tests.corpus.test_corpus" name="test_bad_target[y]"><failure message="boom"/></testcase>
<testcase classname="tests.run.gate.test_gate" name="test_stock_exits_1_and_the_report_names_the_missing_failover"/>
</testsuite></testsuites>"""


def test_rows_from_the_figures(tmp_path: Path) -> None:
    (tmp_path / "interruptions-30.json").write_text(json.dumps(SOAK))
    (tmp_path / "interruptions-8.json").write_text(json.dumps({**SOAK, "runs": 8, "differences": 3}))
    (tmp_path / "junit-suites.xml").write_text(JUNIT)
    rows = {what: (measured, holds) for what, measured, holds in table.rows(tmp_path)}
    interruptions = next(v for k, v in rows.items() if k.startswith("SIGINT/SIGTERM"))
    assert interruptions == ("30 runs (SIGINT 15, SIGTERM 15); signal sent during probe 20, rollback 10; "
                             "0 differences, 0 undo records left", "yes")  # the largest variant, not the quick one
    assert next(v for k, v in rows.items() if k.startswith("SIGKILL")) == ("not measured", "—")
    assert next(v for k, v in rows.items() if k.startswith("Bad input")) == ("1 test passed, 1 failed", "NO")
    # only the canary test of the gate's module counts for its row
    assert next(v for k, v in rows.items() if "canary" in k) == ("not measured", "—")
    assert next(v for k, v in rows.items() if "per DNS wiring" in k) == ("not measured", "—")


def test_the_dns_wiring_table_holds_only_when_every_row_reads_as_implied(tmp_path: Path) -> None:
    def row(as_expected: int) -> tuple[str, str]:
        (tmp_path / "dns-mode-table.json").write_text(json.dumps({"rows": 40, "as_expected": as_expected}))
        return next(v for k, v in {w: (m, h) for w, m, h in table.rows(tmp_path)}.items() if "per DNS wiring" in k)

    assert row(40) == ("40 of 40 rows as implied", "yes")
    assert row(39) == ("39 of 40 rows as implied", "NO")


def test_the_readme_section_is_replaced_between_its_markers(tmp_path: Path) -> None:
    readme = f"# x\n\n{table.BEGIN}\nold\n{table.END}\n\n## next\n"
    assert table.replace(readme, "NEW") == f"# x\n\n{table.BEGIN}\nNEW\n{table.END}\n\n## next\n"
    with pytest.raises(SystemExit, match="no <!-- reliability:begin -->"):
        table.replace("# no markers\n", "NEW")
