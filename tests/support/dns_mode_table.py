"""The table of the gate's verdict per DNS wiring x fault x profile (tests/run/gate/dns_modes/dns_modes.feature):
its rows as the feature file writes them, ``xpchaos gate`` run over a selection of them, and what the gate wrote
about each row (the run's verdict in its journal, the junit case, the HTML report) compared with the table."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gherkin.parser import Parser

from tests.support.paths import ROOT
from xpchaos.core.outcome import Outcome

FEATURES = ROOT / "tests" / "run" / "gate" / "dns_modes"
FEATURE = FEATURES / "dns_modes.feature"
WORDS = {"passed": Outcome.PASSED, "not resilient": Outcome.FAILED, "fault not applied": Outcome.NOT_APPLIED}


@dataclass(frozen=True)
class Row:
    mode: str
    fault: str
    profile: str
    verdict: str  # in words: passed, not resilient, fault not applied
    step: str  # the failover step it fails at, "-" for none
    tags: frozenset[str]

    @property
    def scenario(self) -> str:
        """The scenario's name as the outline renders it (the gate's records are keyed by it)."""
        return (f"{self.fault} on the {self.profile} platform with DNS wired by {self.mode} reads {self.verdict} "
                f"at {self.step}")


def rows() -> list[Row]:
    """Every row of the feature's Examples blocks, with the block's tags and the feature's."""
    parsed: dict[str, Any] = Parser().parse(FEATURE.read_text())  # type: ignore[assignment]  # a TypedDict
    doc = parsed["feature"]
    feature_tags = {t["name"].lstrip("@") for t in doc["tags"]}
    found = []
    for child in doc["children"]:
        for block in child.get("scenario", {}).get("examples", []):
            header = [c["value"] for c in block["tableHeader"]["cells"]]
            tags = frozenset(feature_tags | {t["name"].lstrip("@") for t in block["tags"]})
            for line in block["tableBody"]:
                cells = dict(zip(header, (c["value"] for c in line["cells"]), strict=True))
                found.append(Row(cells["mode"], cells["fault"], cells["profile"], cells["verdict"], cells["step"],
                                 tags))
    return found


def selected(*tags: str) -> list[Row]:
    """The rows carrying every one of ``tags`` (as ``-m "slow and TAG and ..."`` selects them)."""
    return [r for r in rows() if set(tags) <= r.tags]


def gate(markexpr: str, report_dir: Path, timeout: float, *args: str) -> subprocess.CompletedProcess[str]:
    """``xpchaos gate --features tests/run/gate/dns_modes -m MARKEXPR ARGS``, with a private history; without
    ``--target`` the rows start their own sandboxes (one per profile and DNS mode, shared by that pair's rows)."""
    env = {**os.environ, "XPCHAOS_HISTORY": str(Path(tempfile.mkdtemp(prefix="xpchaos-history-")) / "h.sqlite")}
    return subprocess.run([sys.executable, "-m", "xpchaos", "gate", "--features", str(FEATURES), "-m", markexpr,
                           "--report-dir", str(report_dir), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env)


def _journal_verdict(record: dict[str, Any]) -> dict[str, Any]:
    journal = json.loads(Path(record["journal"]).read_text()) if record.get("journal") else {}
    return next((e for e in journal.get("extensions", []) if e.get("name") == "xpchaos-verdict"), {})


def records(report_dir: Path) -> list[dict[str, Any]]:
    """What the gate recorded per scenario (``scenarios.jsonl``)."""
    return [json.loads(line) for line in (report_dir / "scenarios.jsonl").read_text().splitlines() if line]


def observed(report_dir: Path) -> dict[str, tuple[str, str, str]]:
    """Per scenario name: the scenario's outcome, and the run's verdict and failed step as its journal says."""
    out = {}
    for record in records(report_dir):
        verdict = _journal_verdict(record)
        out[record["scenario"]] = (record["outcome"], str(verdict.get("outcome", "none")),
                                   str(verdict.get("failed_step") or "-"))
    return out


def _junit_failures(report_dir: Path) -> dict[str, bool]:
    """Per junit test case name: whether it failed or erred."""
    cases = ET.parse(report_dir / "junit.xml").getroot().iter("testcase")
    return {c.get("name", ""): c.find("failure") is not None or c.find("error") is not None for c in cases}


def _sections(report_dir: Path) -> list[str]:
    """index.html's scenario sections, as text (tags dropped, entities read)."""
    page = (report_dir / "index.html").read_text()
    return [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)))
            for part in page.split('<section class="scenario"')[1:]]


# what a scenario's section of index.html says about its run, per verdict in words
SHOWN = {"passed": ("every step within its deadline",), "not resilient": ("NOT RESILIENT", "failed step "),
         "fault not applied": ("not applied",)}


def _shown(row: Row, sections: list[str]) -> list[str]:
    mine = [text for text in sections if f" {row.scenario} " in text]
    if len(mine) != 1:
        return [f"{row.scenario}: {len(mine)} sections in index.html"]
    words = [w + (row.step if w == "failed step " else "") for w in SHOWN[row.verdict]]
    missing = [w for w in words if w.lower() not in mine[0].lower()]
    return [f"{row.scenario}: index.html does not show {missing}"] if missing else []


def mismatches(report_dir: Path, expected: list[Row]) -> list[str]:
    """Each expected row whose verdict the gate did not read as the table says, or that its junit and HTML
    reports do not show; empty when every row came out as expected."""
    seen = observed(report_dir)
    junit = _junit_failures(report_dir)
    sections = _sections(report_dir)
    problems = []
    for row in expected:
        got = seen.get(row.scenario)
        if got is None:
            problems.append(f"{row.scenario}: not run")
            continue
        step = got[2] if row.step == "-" else row.step  # a step is judged only where the table names one
        if got != ("passed", WORDS[row.verdict].value, step):
            problems.append(f"{row.scenario}: scenario {got[0]}, verdict {got[1]} at {got[2]}")
        case_id = "-".join((row.mode, row.fault, row.profile, row.verdict, row.step))
        cases = [failed for name, failed in junit.items() if name.endswith(f"[{case_id}]")]
        if cases != [False]:
            problems.append(f"{row.scenario}: junit shows {len(cases)} case(s), failed: {cases}")
        problems += _shown(row, sections)
    extra = set(seen) - {r.scenario for r in expected}
    return problems + [f"{name}: run but not selected" for name in sorted(extra)]


def table(report_dir: Path, expected: list[Row]) -> str:
    """The rows as observed, one line each (mode, fault, profile: expected -> the run's verdict and step)."""
    seen = observed(report_dir)
    return "\n".join(f"{r.mode:16} {r.fault:27} {r.profile:9} {r.verdict} {r.step} -> "
                     f"{' '.join(seen.get(r.scenario, ('not run',)))}" for r in expected)
