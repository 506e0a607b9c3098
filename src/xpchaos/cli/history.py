"""``xpchaos history``: the recovery times of every gate and game-day run (``xpchaos.run.history``), per scenario, as a
table on the terminal and as one self-contained HTML page with a line chart per scenario.

Exit codes: 0 no regression, 1 the latest run of a scenario regressed, 2 the history is missing or not an xpchaos
history (one line on stderr; nothing written).
"""

from __future__ import annotations

import html
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xpchaos.run import history
from xpchaos.run import report_model as rm

console = Console(soft_wrap=True)
if not console.is_terminal:  # CI logs: wide enough that the table does not fold every cell
    console = Console(soft_wrap=True, width=160)
errors = Console(stderr=True, soft_wrap=True)
DEFAULT_OUTPUT = Path("reports/history.html")
STYLE = {rm.PASSED: "green", rm.FAILED: "bold red", rm.NOT_APPLIED: "yellow", rm.ERROR: "bold yellow",
         rm.SKIPPED: "dim"}
SERIES_COLORS = {"detect_s": "#ef6c00", "failover_s": "#1565c0", "dns_s": "#6a1b9a"}
VERDICT_COLORS = {rm.PASSED: "#2e7d32", rm.FAILED: "#c62828", rm.NOT_APPLIED: "#ef6c00", rm.ERROR: "#6a1b9a"}
CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 760, 240, 56, 110, 16, 40
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;
 padding:0 16px;color:#212121;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:32px 0 8px;padding-top:12px;border-top:2px solid #e0e0e0}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;
 vertical-align:top}th{background:#fafafa}td.num{white-space:nowrap}
.passed{color:#1b5e20}.failed{color:#c62828;font-weight:600}.fault-not-applied{color:#e65100}
.error{color:#6a1b9a;font-weight:600}
.regression{color:#fff;background:#c62828;font-weight:700;padding:1px 6px;border-radius:3px;white-space:nowrap}
.ok{color:#1b5e20}.dim{color:#757575}
svg.chart{display:block;max-width:100%;height:auto;font-size:11px}svg .tick{fill:#616161}
svg .slo-label{fill:#c62828}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:3px}
.empty{padding:10px;background:#fafafa;border:1px dashed #bdbdbd}
footer{margin-top:32px;color:#9e9e9e;font-size:12px}
"""


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _versus(trend: history.Trend, column: str) -> str:
    latest, median = trend.latest.values.get(column), trend.baseline(column)
    return _figure(latest) if median is None else f"{_figure(latest)} (median {_figure(median)})"


def table(trends: list[history.Trend]) -> Table:
    out = Table(title="Recovery times per scenario: latest run vs the median of the previous runs",
                title_justify="left", header_style="bold")
    for column in ("scenario", "runs", "last verdict", "detect", "fail over", "DNS", "regression"):
        out.add_column(column, overflow="fold")
    for t in trends:
        flag = "[bold red]REGRESSION[/]: " + escape("; ".join(r.reason for r in t.regressions)) \
            if t.regressions else "[green]no[/]"
        verdict = t.latest.verdict
        out.add_row(escape(t.scenario), str(len(t.points)), f"[{STYLE.get(verdict, '')}]{escape(verdict)}[/]",
                    *(_versus(t, column) for column, _key, _label in history.FIGURES), flag)
    return out


# the page --------------------------------------------------------------------------------------------------------
def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _nice_top(value: float) -> float:
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 90, 120, 180, 300, 600, 900, 1800, 3600):
        if value <= step:
            return float(step)
    return float(int(value / 3600 + 1) * 3600)


def chart(trend: history.Trend) -> str:
    """The recovery times over the runs as an inline SVG line chart, with the SLO as a dashed red line. Every point
    has a ``<title>``: the run, when it started, the verdict and the value."""
    points = trend.points
    values = [v for column, _k, _l in history.FIGURES for v in trend.series(column) if v is not None]
    slos = [p.slo_s for p in points]
    top = _nice_top(max([*values, *(s for s in slos if s is not None), 1.0]) * 1.08)
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B

    def x(i: int) -> float:
        return PAD_L + (inner_w / 2 if len(points) == 1 else inner_w * i / (len(points) - 1))

    def y(v: float) -> float:
        return PAD_T + inner_h * (1 - v / top)

    parts = [f'<svg class="chart" viewBox="0 0 {CHART_W} {CHART_H}" width="{CHART_W}" height="{CHART_H}" '
             f'role="img" aria-label="{esc("recovery times of " + trend.scenario)}" '
             'xmlns="http://www.w3.org/2000/svg">',
             f'<rect x="{PAD_L}" y="{PAD_T}" width="{inner_w}" height="{inner_h}" fill="#fafafa" stroke="#e0e0e0"/>']
    for k in range(5):  # y grid and ticks
        tick = top * k / 4
        parts.append(f'<line x1="{PAD_L}" x2="{PAD_L + inner_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#eeeeee"/><text class="tick" x="{PAD_L - 6}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{tick:g} s</text>')
    for i, p in enumerate(points):  # x ticks: the run number, coloured by the verdict
        color = VERDICT_COLORS.get(p.verdict, "#616161")
        parts.append(f'<text class="tick" x="{x(i):.1f}" y="{PAD_T + inner_h + 16}" text-anchor="middle" '
                     f'style="fill:{color}"><title>{esc(f"run {p.run_id} ({p.kind} {p.run_name}), {p.started_at}: ")}'
                     f'{esc(p.verdict)}</title>#{p.run_id}</text>')
    parts.append(f'<text class="tick" x="{PAD_L + inner_w / 2:.1f}" y="{CHART_H - 6}" text-anchor="middle">run '
                 '(oldest left)</text>')
    slo_points = [(x(i), y(s)) for i, s in enumerate(slos) if s is not None and s <= top]
    if slo_points:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in slo_points)
        if len(slo_points) == 1:
            path = f"{PAD_L},{slo_points[0][1]:.1f} {PAD_L + inner_w},{slo_points[0][1]:.1f}"
        latest_slo = next(s for s in reversed(slos) if s is not None)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c62828" stroke-width="1.5" '
                     f'stroke-dasharray="6 4"><title>{esc(f"SLO {latest_slo:g} s")}</title></polyline>'
                     f'<text class="slo-label" x="{PAD_L + inner_w + 6}" y="{slo_points[-1][1] + 4:.1f}">'
                     f'SLO {esc(f"{latest_slo:g}")} s</text>')
    regressed = {r.figure for r in trend.regressions}
    labels: list[tuple[float, str, str]] = []  # (y, colour, text) of each series' last value, drawn apart below
    for column, _key, label in history.FIGURES:
        color = SERIES_COLORS[column]
        series = trend.series(column)
        run: list[str] = []  # a gap (no value) breaks the line
        for i, v in enumerate([*series, None]):
            if v is None:
                if len(run) > 1:
                    parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{color}" '
                                 'stroke-width="2"/>')
                run = []
                continue
            run.append(f"{x(i):.1f},{y(v):.1f}")
        for i, v in enumerate(series):
            if v is None:
                continue
            p = points[i]
            last_bad = i == len(series) - 1 and column in regressed
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{5 if last_bad else 3.5}" fill="{color}" '
                         f'stroke="{"#c62828" if last_bad else "#fff"}" stroke-width="{2 if last_bad else 1}">'
                         f'<title>{esc(f"{label}: {v:.1f} s (run {p.run_id}, {p.started_at}, {p.verdict})")}'
                         '</title></circle>')
        last = next(((i, v) for i, v in reversed(list(enumerate(series))) if v is not None), None)
        if last is not None:
            labels.append((y(last[1]) + 4, color, label))
    floor = 0.0
    for label_y, color, label in sorted(labels):  # at least a line apart, so close values stay readable
        floor = max(label_y, floor + 12)
        parts.append(f'<text x="{PAD_L + inner_w + 6}" y="{floor:.1f}" fill="{color}">{esc(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    items = [f'<span><i style="background:{SERIES_COLORS[c]}"></i>{esc(label)}</span>'
             for c, _k, label in history.FIGURES]
    items.append('<span><i style="background:#c62828"></i>SLO (dashed)</span>')
    return f'<div class="legend">{"".join(items)}</div>'


def _section(t: history.Trend, anchor: str) -> str:
    verdict = t.latest.verdict
    flag = (f'<span class="regression">REGRESSION</span> {esc("; ".join(r.reason for r in t.regressions))}'
            if t.regressions else '<span class="ok">no regression</span>')
    rows = []
    for p in reversed(t.points):
        cells = "".join(f'<td class="num">{esc(_figure(p.values.get(c)))}</td>' for c, _k, _l in history.FIGURES)
        rows.append(f"<tr><td>#{p.run_id}</td><td>{esc(p.kind)} {esc(p.run_name)}</td><td>{esc(p.started_at)}</td>"
                    f'<td class="{esc(p.verdict)}">{esc(p.verdict)}</td>{cells}'
                    f'<td class="num">{esc(_figure(p.slo_s))}</td><td>{esc(p.report_path or "")}</td></tr>')
    lost = " / ".join(v for v in (t.latest.fault, t.latest.provider) if v)
    return (f'<h2 id="{anchor}">{esc(t.scenario)}</h2>'
            f'<p>{len(t.points)} runs{esc(f" · {lost}" if lost else "")} · last verdict '
            f'<span class="{esc(verdict)}">{esc(verdict)}</span> · {flag}</p>'
            f"{_legend()}{chart(t)}"
            "<details><summary>every run</summary><table><tr><th>run</th><th>what</th><th>started</th>"
            "<th>verdict</th><th>detect</th><th>fail over</th><th>DNS</th><th>SLO</th><th>report</th></tr>"
            f'{"".join(rows)}</table></details>')


def render(trends: list[history.Trend], source: str) -> str:
    """The whole page: a summary table, then one section per scenario with its chart."""
    anchors = {t.scenario: f"scenario-{i}" for i, t in enumerate(trends, 1)}
    summary = ['<div style="overflow-x:auto"><table><tr><th>scenario</th><th>runs</th><th>last verdict</th>'
               "<th>detect</th><th>fail over</th>"
               "<th>DNS</th><th>regression</th></tr>"]
    for t in trends:
        flag = (f'<span class="regression">REGRESSION</span> {esc("; ".join(r.reason for r in t.regressions))}'
                if t.regressions else '<span class="ok">no</span>')
        cells = "".join(f'<td class="num">{esc(_versus(t, c))}</td>' for c, _k, _l in history.FIGURES)
        summary.append(f'<tr><td><a href="#{anchors[t.scenario]}">{esc(t.scenario)}</a></td><td>{len(t.points)}</td>'
                       f'<td class="{esc(t.latest.verdict)}">{esc(t.latest.verdict)}</td>{cells}<td>{flag}</td></tr>')
    summary.append("</table></div>")
    rule = (f"A figure regressed when the latest value is worse than the median of the previous runs (at least "
            f"{history.REGRESSION_MIN_PREVIOUS}) by more than {history.REGRESSION_RATIO:.0%} and more than "
            f"{history.REGRESSION_MIN_S:g} s; the verdict regressed when it went from passed to anything else.")
    body = [f"<h1>xpchaos: recovery-time history</h1><p class=\"dim\">{esc(source)} · written "
            f"{esc(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))}</p><p class=\"dim\">{esc(rule)}</p>"]
    if trends:
        body += ["".join(summary), *(_section(t, anchors[t.scenario]) for t in trends)]
    else:
        body.append('<p class="empty">No runs recorded yet.</p>')
    body.append("<footer>A self-contained page; nothing is fetched.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>xpchaos history</title>\n<style>{CSS}</style>\n</head>\n<body>\n{''.join(body)}\n</body>\n"
            "</html>\n")


@click.command("history")
@click.option("--history", "history_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"The history database (default: ${history.ENV}, else {history.DEFAULT_PATH}).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUTPUT,
              show_default=True, metavar="FILE", help="Where to write the HTML page.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, metavar="N",
              help="How many of each scenario's latest runs to show and compare.")
def history_command(history_path: Path | None, output: Path, limit: int) -> None:
    """Show the recovery times of the recorded gate and game-day runs, per scenario: the latest time to detect,
    to fail over and to DNS convergence against the median of the previous runs, and whether the latest run
    regressed. Writes an HTML page with a chart of each scenario's times over the runs (with the SLO) and prints
    its path.

    A regression: a time worse than the median of the previous runs (at least 3) by more than 25 % and more than
    1 s, or a verdict that went from passed to anything else.

    \b
    Exit codes:
      0  no regression
      1  the latest run of a scenario regressed (CI can fail or alert on it)
      2  the history is missing or not an xpchaos history (nothing written)
    """
    from xpchaos.report.html import write

    source = history.resolve(history_path)
    try:
        trends = history.trend(source, limit)
    except history.HistoryError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    if trends:
        console.print(table(trends))
    else:
        console.print(f"No runs recorded yet in {source}.", markup=False, highlight=False)
    try:
        page = write(render(trends, str(source)), output)
    except OSError as exc:
        errors.print(f"[red]error:[/red] {escape(f'{output}: cannot write the page: {exc.strerror or exc}')}",
                     highlight=False)
        sys.exit(2)
    console.print(str(page), markup=False, highlight=False)
    regressed = [t for t in trends if t.regressions]
    for t in regressed:  # unfolded, one line each: what a CI log shows and a grep finds
        reasons = "; ".join(r.reason for r in t.regressions)
        console.print(f"[bold red]REGRESSION[/] {escape(t.scenario)}: {escape(reasons)}", highlight=False)
    if regressed:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add ``history`` to the ``xpchaos`` command group."""
    group.add_command(history_command)
