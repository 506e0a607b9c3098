"""The report in a real browser: headless Chromium opens the page from disk (file://, no server, no network) and
the summary table (with DNS convergence on both clocks) and the timeline chart (with both DNS instants marked) are
really on screen; a screenshot is kept.

Chromium is the Debian package ``chromium`` (/usr/bin/chromium), which ``make test`` installs.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.report.journals import Journals
from xpchaos.report import html as report
from xpchaos.report.page import write
from xpchaos.run import report_model as model

from .cdp import Browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "reports" / "test-artifacts"
VIEWPORT = (1366, 1024)
DEADLINE = 90  # the whole browser session: start, load, measure, screenshot
PNG = b"\x89PNG\r\n\x1a\n"

# scrolls each element into view, then: its box, the viewport, and whether the element is what is painted at its
# centre (not hidden behind something else)
MEASURE = """
(() => {
  const seen = el => {
    if (!el) return null;
    el.scrollIntoView({block: "center", inline: "nearest"});
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height,
            painted: !!hit && (hit === el || el.contains(hit))};
  };
  const table = document.querySelector("table.summary");
  const svg = document.querySelector("svg.timeline");
  const out = {viewport: {width: innerWidth, height: innerHeight}, table: seen(table), svg: seen(svg),
               rows: table ? table.tBodies[0].rows.length : 0,
               lanes: svg ? svg.querySelectorAll("g.lane").length : 0,
               charts: document.querySelectorAll("svg.timeline").length, title: document.title,
               heads: table ? [...table.tHead.rows[0].cells].map(c => c.textContent) : [],
               clocks: [...document.querySelectorAll("svg.timeline g.dns-clock")].map(g => g.dataset.clock),
               clock: seen(document.querySelector("svg.timeline g.dns-clock text")),
               parts: document.querySelectorAll("table.parts tr.part").length,
               bar: seen(document.querySelector("table.parts td.bar i"))};
  window.scrollTo(0, 0);
  return out;
})()
"""


def on_screen(box: dict[str, Any] | None, viewport: dict[str, Any]) -> bool:
    return bool(box and box["width"] > 0 and box["height"] > 0 and box["left"] >= 0 and box["top"] >= 0
                and box["right"] <= viewport["width"] and box["bottom"] <= viewport["height"] and box["painted"])


async def look(page: Path, profile: Path) -> tuple[dict[str, Any], bytes]:
    async with await Browser.launch(CHROMIUM, profile) as browser:
        session = await browser.open(page.as_uri(), *VIEWPORT)
        seen = await browser.evaluate(session, MEASURE)
        return seen, await browser.screenshot(session)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG and data[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_summary_and_chart_are_on_screen(journals: Journals, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium, as root)")
    scenarios = [model.ScenarioReport.from_journal(journals.load(name), getattr(journals, name))
                 for name in ("passed", "failed")]
    gate = model.GateReport("xpchaos report in a browser", scenarios, exit_code=1)
    page = write(report.render_gate(gate), tmp_path / "page" / "report.html")

    seen, shot = asyncio.run(asyncio.wait_for(look(page, tmp_path / "chromium-profile"), DEADLINE))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kept = ARTIFACTS / "report-browser.png"
    kept.write_bytes(shot)
    shutil.copy(kept, tmp_path / kept.name)
    where = f"(screenshot: {kept}, also {tmp_path / kept.name}; page: {page})"
    width, height = png_size(shot)
    assert len(shot) > 20_000 and width >= VIEWPORT[0] - 20 and height >= 600, \
        f"the screenshot is {width}x{height}, {len(shot)} bytes {where}"
    assert seen["title"] == "xpchaos report in a browser", f"{seen} {where}"
    assert on_screen(seen["table"], seen["viewport"]), f"summary table not on screen: {seen} {where}"
    assert seen["rows"] == 2, f"summary rows: {seen} {where}"
    assert on_screen(seen["svg"], seen["viewport"]), f"timeline chart not on screen: {seen} {where}"
    assert seen["charts"] == 2 and seen["lanes"] >= 8, f"charts and lanes: {seen} {where}"
    # DNS on both clocks: a column each, and the passed run's chart marks both instants (stock never switched)
    assert {"time to DNS convergence (authoritative)", "time to DNS convergence (client-visible)"} <= \
        set(seen["heads"]), f"summary columns: {seen} {where}"
    assert sorted(seen["clocks"]) == ["authoritative", "client-visible"], f"DNS clocks: {seen} {where}"
    assert on_screen(seen["clock"], seen["viewport"]), f"DNS clock label not on screen: {seen} {where}"
    # where the time went: both runs' parts listed, their bars drawn
    assert seen["parts"] >= 8 and on_screen(seen["bar"], seen["viewport"]), f"parts: {seen} {where}"
