"""The history page: every scenario's recovery times over the recorded runs (``xpchaos.run.history``), as one
self-contained HTML page with a line chart per scenario (``xpchaos history`` writes it).
"""

from __future__ import annotations

import time

from xpchaos.core import measures
from xpchaos.core.outcome import Outcome
from xpchaos.report.axis import Scale, round_up, seconds
from xpchaos.report.page import document, esc
from xpchaos.run import history

SERIES_COLORS = {measures.DETECT.column: "#ef6c00", measures.FAILOVER.column: "#1565c0",
                 measures.DNS.column: "#6a1b9a", measures.DNS_CLIENT.column: "#00838f"}
VERDICT_COLORS = {Outcome.PASSED: "#2e7d32", Outcome.FAILED: "#c62828", Outcome.NOT_APPLIED: "#ef6c00",
                  Outcome.ERROR: "#6a1b9a"}
CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 760, 240, 56, 110, 16, 40
Y_TICKS = 4  # intervals on the y axis at most
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


def versus(trend: history.Trend, column: str) -> str:
    """The latest value of a measure against the median of the runs before: "45.0 s (median 21.0 s)"."""
    latest, median = trend.latest.values.get(column), trend.baseline(column)
    return measures.seconds(latest) if median is None else \
        f"{measures.seconds(latest)} (median {measures.seconds(median)})"


def _scales(trend: history.Trend) -> tuple[Scale, Scale]:
    """The runs (oldest left) and the seconds (0 at the bottom, room above the largest value and the SLO)."""
    values = [v for m in measures.MEASURES for v in trend.series(m.column) if v is not None]
    slos = [p.slo_s for p in trend.points if p.slo_s is not None]
    top = round_up(max([*values, *slos, 1.0]) * 1.08, Y_TICKS)
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    last = len(trend.points) - 1
    runs = Scale(-1, 1, PAD_L, PAD_L + inner_w) if last == 0 else Scale(0, last, PAD_L, PAD_L + inner_w)
    return runs, Scale(0, top, PAD_T + inner_h, PAD_T)


def chart(trend: history.Trend) -> str:
    """The recovery times over the runs as an inline SVG line chart, with the SLO as a dashed red line. Every point
    has a ``<title>``: the run, when it started, the verdict and the value."""
    points = trend.points
    slos = [p.slo_s for p in points]
    runs, secs = _scales(trend)
    x, y = runs.at, secs.at
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    parts = [f'<svg class="chart" viewBox="0 0 {CHART_W} {CHART_H}" width="{CHART_W}" height="{CHART_H}" '
             f'role="img" aria-label="{esc("recovery times of " + trend.scenario)}" '
             'xmlns="http://www.w3.org/2000/svg">',
             f'<rect x="{PAD_L}" y="{PAD_T}" width="{inner_w}" height="{inner_h}" fill="#fafafa" stroke="#e0e0e0"/>']
    for tick in secs.ticks(Y_TICKS):  # y grid and ticks
        parts.append(f'<line x1="{PAD_L}" x2="{PAD_L + inner_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#eeeeee"/><text class="tick" x="{PAD_L - 6}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{seconds(tick)} s</text>')
    for i, p in enumerate(points):  # x ticks: the run number, coloured by the verdict
        color = VERDICT_COLORS.get(p.verdict, "#616161")
        parts.append(f'<text class="tick" x="{x(i):.1f}" y="{PAD_T + inner_h + 16}" text-anchor="middle" '
                     f'style="fill:{color}"><title>{esc(f"run {p.run_id} ({p.kind} {p.run_name}), {p.started_at}: ")}'
                     f'{esc(p.verdict)}</title>#{p.run_id}</text>')
    parts.append(f'<text class="tick" x="{PAD_L + inner_w / 2:.1f}" y="{CHART_H - 6}" text-anchor="middle">run '
                 '(oldest left)</text>')
    slo_points = [(x(i), y(s)) for i, s in enumerate(slos) if s is not None and s <= secs.end]
    if slo_points:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in slo_points)
        if len(slo_points) == 1:
            path = f"{PAD_L},{slo_points[0][1]:.1f} {PAD_L + inner_w},{slo_points[0][1]:.1f}"
        latest_slo = next(s for s in reversed(slos) if s is not None)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c62828" stroke-width="1.5" '
                     f'stroke-dasharray="6 4"><title>{esc(f"SLO {latest_slo:g} s")}</title></polyline>'
                     f'<text class="slo-label" x="{PAD_L + inner_w + 6}" y="{slo_points[-1][1] + 4:.1f}">'
                     f'SLO {esc(f"{latest_slo:g}")} s</text>')
    parts += _series(trend, runs, secs)
    parts.append("</svg>")
    return "".join(parts)


def _series(trend: history.Trend, runs: Scale, secs: Scale) -> list[str]:
    """One line per measure (a gap where a run has no value), a dot per value, and each line's name at its end."""
    x, y, right = runs.at, secs.at, CHART_W - PAD_R
    regressed = {r.figure for r in trend.regressions}
    parts: list[str] = []
    labels: list[tuple[float, str, str]] = []  # (y, colour, text) of each series' last value, drawn apart below
    for what in measures.MEASURES:
        color = SERIES_COLORS[what.column]
        series = trend.series(what.column)
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
            p = trend.points[i]
            last_bad = i == len(series) - 1 and what.column in regressed
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{5 if last_bad else 3.5}" fill="{color}" '
                         f'stroke="{"#c62828" if last_bad else "#fff"}" stroke-width="{2 if last_bad else 1}">'
                         f'<title>{esc(f"{what.label}: {measures.seconds(v)} (run {p.run_id}, {p.started_at}, ")}'
                         f'{esc(f"{p.verdict})")}</title></circle>')
        last = next(((i, v) for i, v in reversed(list(enumerate(series))) if v is not None), None)
        if last is not None:
            labels.append((y(last[1]) + 4, color, what.label))
    floor = 0.0
    for label_y, color, label in sorted(labels):  # at least a line apart, so close values stay readable
        floor = max(label_y, floor + 12)
        parts.append(f'<text x="{right + 6}" y="{floor:.1f}" fill="{color}">{esc(label)}</text>')
    return parts


def _legend() -> str:
    items = [f'<span><i style="background:{SERIES_COLORS[m.column]}"></i>{esc(m.label)}</span>'
             for m in measures.MEASURES]
    items.append('<span><i style="background:#c62828"></i>SLO (dashed)</span>')
    return f'<div class="legend">{"".join(items)}</div>'


def _flag(t: history.Trend, ok: str) -> str:
    return (f'<span class="regression">REGRESSION</span> {esc("; ".join(r.reason for r in t.regressions))}'
            if t.regressions else f'<span class="ok">{ok}</span>')


def _section(t: history.Trend, anchor: str) -> str:
    verdict = t.latest.verdict
    rows = []
    for p in reversed(t.points):
        cells = "".join(f'<td class="num">{esc(measures.seconds(p.values.get(m.column)))}</td>'
                        for m in measures.MEASURES)
        rows.append(f"<tr><td>#{p.run_id}</td><td>{esc(p.kind)} {esc(p.run_name)}</td><td>{esc(p.started_at)}</td>"
                    f'<td class="{esc(p.verdict)}">{esc(p.verdict)}</td>{cells}'
                    f'<td class="num">{esc(measures.seconds(p.slo_s))}</td><td>{esc(p.report_path or "")}</td></tr>')
    lost = " / ".join(v for v in (t.latest.fault, t.latest.provider) if v)
    head = "".join(f"<th>{esc(m.short)}</th>" for m in measures.MEASURES)
    return (f'<h2 id="{anchor}">{esc(t.scenario)}</h2>'
            f'<p>{len(t.points)} runs{esc(f" · {lost}" if lost else "")} · last verdict '
            f'<span class="{esc(verdict)}">{esc(verdict)}</span> · {_flag(t, "no regression")}</p>'
            f"{_legend()}{chart(t)}"
            "<details><summary>every run</summary><table><tr><th>run</th><th>what</th><th>started</th>"
            f"<th>verdict</th>{head}<th>SLO</th><th>report</th></tr>"
            f'{"".join(rows)}</table></details>')


def render(trends: list[history.Trend], source: str) -> str:
    """The whole page: a summary table, then one section per scenario with its chart."""
    anchors = {t.scenario: f"scenario-{i}" for i, t in enumerate(trends, 1)}
    head = "".join(f"<th>{esc(m.short)}</th>" for m in measures.MEASURES)
    summary = ['<div style="overflow-x:auto"><table><tr><th>scenario</th><th>runs</th><th>last verdict</th>'
               f"{head}<th>regression</th></tr>"]
    for t in trends:
        cells = "".join(f'<td class="num">{esc(versus(t, m.column))}</td>' for m in measures.MEASURES)
        summary.append(f'<tr><td><a href="#{anchors[t.scenario]}">{esc(t.scenario)}</a></td><td>{len(t.points)}</td>'
                       f'<td class="{esc(t.latest.verdict)}">{esc(t.latest.verdict)}</td>{cells}'
                       f"<td>{_flag(t, 'no')}</td></tr>")
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
    return document("xpchaos history", CSS, "".join(body))
