"""The HTML report from real journals (real ``chaos run``s against sandboxes, see conftest.py), and
``xpchaos report``."""

from __future__ import annotations

import html
import itertools
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.report.journals import Journals
from xpchaos.core.outcome import Outcome
from xpchaos.report import html as report
from xpchaos.run import report_model as model

ROOT = Path(__file__).resolve().parents[2]
XPCHAOS = [sys.executable, "-m", "xpchaos"]
SCRIPT = "<script>alert(1)</script>"


class Tables(HTMLParser):
    """The cells (text, class) of every table's body rows, by the table's class; and the text of every <title>."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self.titles: list[str] = []
        self._table: list[list[tuple[str, str]]] | None = None
        self._cell: list[str] | None = None
        self._cell_class = ""
        self._in_body = self._in_title = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        css = dict(attrs).get("class") or ""
        if tag == "table" and self._table is None:
            self._table = self.tables.setdefault(css, [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table is not None and self._in_body:
            self._table.append([])
        elif tag == "td" and self._table is not None and self._in_body:
            self._cell, self._cell_class = [], css
        elif tag == "title":
            self._in_title = True
            self.titles.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table, self._in_body = None, False
        elif tag == "td" and self._cell is not None and self._table:
            self._table[-1].append((" ".join("".join(self._cell).split()), self._cell_class))
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.titles[-1] += data


def svg_of(page: str) -> str:
    found = re.search(r"<svg class=\"timeline\".*?</svg>", page, re.S)
    assert found, "no timeline chart in the page"
    return found.group(0)


def seconds(value: float) -> str:
    """How the report prints seconds: 2 decimals without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def verdict_of(journal: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in journal["extensions"] if e["name"] == "xpchaos-verdict")


def target_of(journal: dict[str, Any]) -> dict[str, Any]:
    return dict(next(e for e in journal["extensions"] if e["name"] == "xpchaos-target")["target"])


def timeline_of(journal: dict[str, Any]) -> list[dict[str, Any]]:
    return list(next(e for e in journal["extensions"] if e["name"] == "xpchaos-timeline")["timeline"])


def marks(journal: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in timeline_of(journal) if e["what"] == "mark"]


# the pages --------------------------------------------------------------------------------------------------------
def test_passing_run_shows_the_times_against_the_slo(journals: Journals) -> None:
    journal = journals.load("passed")
    page = report.render_journal(journal, "journal.json")
    found = verdict_of(journal)
    deadline = {s["name"]: s["deadline_s"] for s in found["steps"]}
    expected = [f"{seconds(found['times']['time_to_detect_s'])} s / {seconds(deadline['detect'])} s",
                f"{seconds(found['times']['time_to_failover_s'])} s / "
                f"{seconds(max(deadline['promote'], deadline['xr_recovers']))} s",
                f"{seconds(found['times']['time_to_dns_convergence_s'])} s / {seconds(deadline['dns_secondary'])} s"
                " (not the SLO's clock)",
                f"{seconds(found['times']['time_to_client_visible_s'])} s / {seconds(deadline['dns_secondary'])} s"]
    [row] = Tables(page).tables["summary"]
    assert [text for text, _ in row[3:7]] == expected, row
    assert all("late" not in css for _, css in row[3:7]), row
    assert row[2][0] == "passed" and row[1][0] == f"{found['fault']} on {found['provider']}", row
    assert page.startswith("<!DOCTYPE html>")


def test_dns_converges_on_two_clocks_and_the_page_says_which_judged(journals: Journals) -> None:
    """Client-visible by default: the authoritative switch plus the TTL the old answer was served with (the
    sandbox's test timings: 2 s), both drawn on the chart over the DNS lanes."""
    journal = journals.load("passed")
    found = verdict_of(journal)
    times, ttls = found["times"], {e.get("ttl") for e in timeline_of(journal) if e["what"] == "answer"}
    assert found["dns_clock"] == "client-visible" and ttls == {2}, (found, ttls)
    assert times["time_to_client_visible_s"] == pytest.approx(times["time_to_dns_convergence_s"] + 2, abs=0.01)
    dns_step = next(s for s in found["steps"] if s["name"] == "dns_secondary")
    assert dns_step["clock"] == "client-visible" and dns_step["at_s"] == times["time_to_client_visible_s"]
    page = report.render_journal(journal)
    assert "DNS clock</dt><dd>client-visible: the SLO judges when no resolver may still serve the old answer" in page
    clocks = re.findall(r'<g class="dns-clock" data-clock="([a-z-]+)">', svg_of(page))
    assert sorted(clocks) == ["authoritative", "client-visible"], clocks


def test_where_the_time_went_adds_up_to_each_recovery_time(journals: Journals) -> None:
    """The blueprint's failover in parts, from the fault to the client-visible convergence, each part starting where
    the one before ended; the page lists them in that order."""
    journal = journals.load("passed")
    found = verdict_of(journal)
    parts, times = found["parts"], found["times"]
    names = [p["name"] for p in parts]
    assert {"first_effect", "detected", "reacted", "promoted", "recovered", "dns", "client"} == set(names), parts
    assert names[0] == "first_effect" and names[-1] == "client", parts  # the TTL runs out last
    assert parts[0]["from_s"] == 0 and all(a["to_s"] == b["from_s"] for a, b in itertools.pairwise(parts))
    ends = {p["name"]: p["to_s"] for p in parts}
    assert ends["detected"] == times["time_to_detect_s"] and ends["client"] == times["time_to_client_visible_s"]
    assert ends["dns"] == times["time_to_dns_convergence_s"], (parts, times)
    assert sum(p["took_s"] for p in parts) == pytest.approx(times["time_to_client_visible_s"], abs=0.01)
    rows = Tables(report.render_journal(journal)).tables["parts"]
    assert [row[0][0] for row in rows] == [p["what"] for p in parts], rows


def test_the_promotion_says_what_it_rests_on(journals: Journals) -> None:
    """The blueprint's standby is warm: ``promote`` reads met on the XR's serving side switching, and says so."""
    journal = journals.load("passed")
    steps = Tables(report.render_journal(journal)).tables["failover-steps"]
    promote = next(row for row in steps if row[0][0] == "promote")
    secondary = verdict_of(journal)["steps"][1]["description"].split()[1]  # "every azure MR ..."
    assert promote[4][0] == f"met — status.failover.activeProvider switched to {secondary} after the fault", promote


def test_passing_run_chart_has_the_lanes_markers_and_exact_timestamps(journals: Journals) -> None:
    journal = journals.load("passed")
    svg = svg_of(report.render_journal(journal))
    target = target_of(journal)
    xr = target["composites"][0]["name"]
    nameservers = [ns for record in target["dns"] for ns in record["nameservers"]]
    for lane in (f"XR {xr} Ready", f"XR {xr} Synced", "aws MRs Synced", "aws MRs Ready", "azure MRs Synced",
                 *(f"DNS {ns}" for ns in nameservers)):
        assert f">{html.escape(lane)}</text>" in svg, f"no lane {lane!r}"
    assert "event CannotConnectToProvider" in svg
    injected, rolled_back = (next(m for m in marks(journal) if m["status"] == s) for s in ("injected", "rolled-back"))
    assert f">{injected['kind']} injected</text>" in svg and f">{rolled_back['kind']} rolled-back</text>" in svg
    titles = Tables(svg).titles
    for mark in (injected, rolled_back):
        assert any(mark["at"] in t and f"{mark['kind']} {mark['status']}" in t for t in titles), mark
    assert any(t.startswith("aws MRs Synced: False") for t in titles)  # the lost provider's MRs went red
    assert any(t.startswith(f"XR {xr} Ready: False") for t in titles)
    assert any("198.51.100.20" in t and "(azure)" in t for t in titles)  # DNS answered the secondary, named


def test_stock_run_is_not_resilient_at_xr_recovers(journals: Journals) -> None:
    journal = journals.load("failed")
    page = report.render_journal(journal)
    [row] = Tables(page).tables["summary"]
    assert row[2][0] == "NOT RESILIENT", row
    assert "xr_recovers" in row[-1][0] and "never left Ready" in row[-1][0], row
    assert row[3][1] == "num", row  # detect met; the rest red
    assert row[4][1] == "num late" and row[5][1] == row[6][1] == "num late", row
    assert row[4][0] == "not measured / 8 s", row
    assert "deadline 8 s" in svg_of(page)  # the run lasted past the deadline: the dashed line is on the chart


def test_fault_not_applied_is_said_so(journals: Journals) -> None:
    journal = journals.load("not_applied")
    page = report.render_journal(journal)
    [row] = Tables(page).tables["summary"]
    assert row[2][0] == "fault not applied" and "in-use.crossplane.io" in row[-1][0], row
    assert ">delete-providerconfig fault-not-applied</text>" in svg_of(page)


def test_gate_report_is_sorted_worst_first(journals: Journals) -> None:
    real = {name: model.ScenarioReport.from_journal(journals.load(name), getattr(journals, name))
            for name in ("passed", "failed", "not_applied")}
    skipped = model.ScenarioReport("needs a real platform", outcome=Outcome.SKIPPED, message="not on the sandbox")
    error = model.ScenarioReport("API unreachable", outcome=Outcome.ERROR, message="probe could not observe")
    gate = model.GateReport("gate", [real["passed"], skipped, real["failed"], error, real["not_applied"]],
                            exit_code=2, selection="ci")
    page = report.render_gate(gate)
    outcomes = [row[2][0] for row in Tables(page).tables["summary"]]
    assert outcomes == ["could not decide", "fault not applied", "NOT RESILIENT", "passed", "skipped"]
    sections = re.findall(r'<section class="scenario" id="(scenario-\d+)"><h2><span class="outcome [^"]+">([^<]+)',
                          page)
    assert [word for _, word in sections] == outcomes
    assert "No timeline: this scenario has no journal." in page  # the hand-made ones, said plainly


def test_failure_messages_are_escaped() -> None:
    message = f"AssertionError: {SCRIPT}\n  at step 'xr_recovers' & <more>"
    step = model.StepReport("Then", "the failover completes within 90 s", "failed", message)
    scenario = model.ScenarioReport(f"name {SCRIPT}", feature="f & <g>", outcome=Outcome.FAILED, message=SCRIPT,
                                    steps=[step], tags=["ci"])
    page = report.render_gate(model.GateReport(f"title {SCRIPT}", [scenario], files={"junit": 'a"b.xml'}))
    assert SCRIPT not in page and "<script" not in page
    assert html.escape(SCRIPT) in page
    assert f'<pre class="failure">{html.escape(message)}</pre>' in page  # verbatim (all its lines), escaped
    assert 'href="a&quot;b.xml"' in page


@pytest.mark.parametrize("name", ["passed", "failed", "not_applied", "gate"])
def test_the_page_loads_nothing(journals: Journals, name: str) -> None:
    if name == "gate":
        scenarios = [model.ScenarioReport.from_journal(journals.load(n), getattr(journals, n))
                     for n in ("passed", "failed", "not_applied")]
        page = report.render_gate(model.GateReport("gate", scenarios, files={"junit": "junit.xml"}))
    else:
        page = report.render_journal(journals.load(name), "journal.json")
    lowered = page.lower()
    for construct in ("<script", "<link", "@import", "url(", "<img", "<iframe", "<object", "<embed", " src="):
        assert construct not in lowered, f"{construct!r} in the page"
    loaded = re.findall(r"""(?:href|src|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:|//)""", lowered)
    assert not loaded, loaded
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(not re.match(r"^[a-z][a-z0-9+.-]*:", h) for h in hrefs), hrefs  # relative or #fragment


def test_an_empty_timeline_is_said_plainly(journals: Journals) -> None:
    journal = journals.load("passed")
    for ext in journal["extensions"]:
        if ext["name"] == "xpchaos-timeline":
            ext["timeline"] = []
    page = report.render_journal(journal)
    assert "<svg" not in page and "No timeline: the journal holds no observations" in page


# the command ------------------------------------------------------------------------------------------------------
def xpchaos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*XPCHAOS, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_report_command_writes_the_page_beside_the_journal(journals: Journals, tmp_path: Path) -> None:
    journal = tmp_path / "run" / "journal.json"
    journal.parent.mkdir()
    shutil.copy(journals.failed, journal)
    done = xpchaos("report", str(journal), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(journal.with_suffix(".html")), done.stdout
    page = journal.with_suffix(".html").read_text()
    assert "NOT RESILIENT" in page and 'href="journal.json"' in page

    elsewhere = tmp_path / "out" / "deep" / "page.html"
    done = xpchaos("report", str(journal), "-o", str(elsewhere), cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == str(elsewhere), done.stderr
    assert 'href="../../run/journal.json"' in elsewhere.read_text()  # the link works from where the page is


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"status": "completed"}), "[1, 2]", "dir"])
def test_report_command_refuses_bad_input(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "journal.json"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    before = sorted(tmp_path.rglob("*"))
    done = xpchaos("report", str(path), cwd=tmp_path)
    assert done.returncode == 2, done
    assert len(done.stderr.strip().splitlines()) == 1 and str(path) in done.stderr, done.stderr
    assert done.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before  # nothing written
