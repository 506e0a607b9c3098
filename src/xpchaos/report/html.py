"""One self-contained HTML page for a gate run or a single ``chaos run`` journal.

Inline CSS, inline SVG, no script and nothing fetched: the page opens from disk, offline. Everything shown comes
from the ``GateReport`` (``xpchaos.run.report_model``) and the journals it holds, escaped; nothing is added (the
journals carry no secret, and the page adds none).

- ``render_gate(report)``: header (title, when, target, selection, exit code, files), a summary table worst first
  (fault, outcome, the recovery times against their deadlines, DNS on both clocks, why), then one section per
  scenario (steps with their exact failure messages, the verdict with where the time went, every composite's own
  times and the DNS clock that judged it, the timeline chart and the timeline as a table).
- ``render_journal(journal, path)``: the same page for one plain ``chaos run``.

``xpchaos.report.page.write`` writes either atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xpchaos import __version__
from xpchaos import verdict as verdicts
from xpchaos.core import measures
from xpchaos.core.measures import Measure, number
from xpchaos.core.outcome import Outcome
from xpchaos.report import svg as report_svg
from xpchaos.report.axis import seconds
from xpchaos.report.page import document, esc
from xpchaos.report.timeline_text import describe
from xpchaos.run import report_model as model

CSS_CLASSES = {Outcome.NOT_APPLIED: "not-applied"}  # an outcome's css class, where it is not the outcome's word
EXIT_MEANINGS = {0: "resilient: every failover met its deadlines",  # when the report does not say
                 1: "not resilient: a failover step missed its deadline",
                 2: "could not decide: a harness error, a fault not applied or bad input",
                 130: "interrupted: the rollbacks ran"}
SUMMARY_CHARS = 300  # the summary's "why" column: at most this much of the first line of a message
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;
 padding:0 16px;color:#212121;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:32px 0 8px;padding-top:12px;border-top:2px solid #e0e0e0}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;
 vertical-align:top}th{background:#fafafa}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}dl.facts dt{color:#616161}
dl.facts dd{margin:0}
pre{white-space:pre-wrap;word-break:break-word;background:#fbe9e7;border-left:3px solid #c62828;padding:6px 8px;
 margin:4px 0;font-size:12.5px}
.outcome{display:inline-block;font-weight:700;padding:1px 8px;border-radius:3px;white-space:nowrap}
.passed{color:#1b5e20;background:#e8f5e9}.failed{color:#fff;background:#c62828}
.not-applied{color:#4e342e;background:#ffe0b2}.error{color:#fff;background:#6a1b9a}
.skipped{color:#616161;background:#eeeeee}
td.late,span.late{color:#c62828;font-weight:600}td.na{color:#9e9e9e}td.num{white-space:nowrap}
.met{color:#1b5e20}.missed,.pending{color:#c62828}.dim{color:#757575}
.empty{padding:10px;background:#fafafa;border:1px dashed #bdbdbd}
svg.timeline{display:block;max-width:100%;height:auto;font-size:11px}
svg .lane-label{fill:#424242}svg .band-text{fill:#fff;font-size:10.5px}svg .tick{fill:#616161}
svg .axis-label,svg .deadline-label{fill:#424242}svg .marker-label{font-weight:600}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border-radius:2px}
details{margin:8px 0}summary{cursor:pointer;color:#1565c0}
table.timeline-table{font-size:12px}table.timeline-table td{font-family:ui-monospace,Menlo,Consolas,monospace}
footer{margin-top:32px;color:#9e9e9e;font-size:12px}
table.parts td.bar{width:320px}table.parts td.bar i{display:block;height:10px;background:#1565c0;border-radius:2px}
"""


def _secs(value: float) -> str:
    return seconds(value) + " s"


def _css(outcome: Outcome) -> str:
    return CSS_CLASSES.get(outcome, outcome.value) if outcome in model.SEVERITY else "error"


# the page --------------------------------------------------------------------------------------------------------
def render_gate(report: model.GateReport) -> str:
    """The whole page: header, summary worst first, then one section per scenario in the same order."""
    scenarios = report.worst_first()
    anchors = {id(s): f"scenario-{i}" for i, s in enumerate(scenarios, 1)}
    body = [_header(report, scenarios), _summary(scenarios, anchors),
            *(_section(s, anchors[id(s)]) for s in scenarios),
            f"<footer>xpchaos {esc(__version__)}: a self-contained page; nothing is fetched.</footer>"]
    return document(report.title, CSS, "\n".join(body))


def render_journal(journal: dict[str, Any], path: str | None = None) -> str:
    """The page for one plain ``chaos run`` journal (``path``: where the page links to it)."""
    return render_gate(journal_report(journal, path))


def journal_report(journal: dict[str, Any], path: str | None = None) -> model.GateReport:
    """A GateReport of one scenario: the journal's experiment."""
    scenario = model.ScenarioReport.from_journal(journal, path)
    found = scenario.verdict or verdicts.of_journal(journal)
    target = scenario.target
    where = f"{target.get('name')} (kube context {target.get('context') or '-'})" if target else ""
    code = found.exit_code
    return model.GateReport(
        title=f"xpchaos: {scenario.name}", scenarios=[scenario], started_at=str(journal.get("start") or ""),
        finished_at=str(journal.get("end") or ""), target=where, selection="one chaos run", exit_code=code,
        exit_meaning=found.headline(),
        files={"journal": path} if path else {})


def _badge(outcome: Outcome) -> str:
    return f'<span class="outcome {_css(outcome)}">{esc(outcome.label)}</span>'


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list; the values are HTML already (escaped by the caller)."""
    items = "".join(f"<dt>{esc(label)}</dt><dd>{value}</dd>" for label, value in rows if value)
    return f'<dl class="facts">{items}</dl>' if items else ""


# header and summary ----------------------------------------------------------------------------------------------
def _header(report: model.GateReport, scenarios: list[model.ScenarioReport]) -> str:
    when = " → ".join(esc(t) for t in (report.started_at, report.finished_at) if t)
    meaning = report.exit_meaning or EXIT_MEANINGS.get(report.exit_code or 0, "")
    exit_code = "" if report.exit_code is None else \
        f"<b>{esc(report.exit_code)}</b>" + (f" — {esc(meaning)}" if meaning else "")
    counts: dict[Outcome, int] = {}
    for s in scenarios:
        counts[s.outcome] = counts.get(s.outcome, 0) + 1
    tally = ", ".join(f"{n} {o.label}" for o, n in sorted(
        counts.items(), key=lambda item: model.SEVERITY.get(item[0], 0)))
    files = " · ".join(f'<a href="{esc(p)}">{esc(label)}</a> <span class="dim">{esc(p)}</span>'
                       for label, p in report.files.items())
    rows = [("when", when), ("target", esc(report.target)), ("selection", esc(report.selection)),
            ("exit code", exit_code), ("scenarios", f"{len(scenarios)}: {esc(tally)}" if scenarios else "none"),
            ("files", files)]
    return f"<header><h1>{esc(report.title)}</h1>{_facts(rows)}</header>"


def _deadline(found: verdicts.Verdict | None, names: tuple[str, ...]) -> float | None:
    steps = found.steps if found else []
    deadlines = [d for s in steps if s.get("name") in names and (d := number(s.get("deadline_s"))) is not None]
    return max(deadlines) if deadlines else None


def measure(found: verdicts.Verdict | None, what: Measure) -> tuple[str, str]:
    """(text, css class) of one recovery time against its deadline, e.g. ("3.69 s / 90 s", "").

    Red ("late") when over the deadline, or missing although the step had a deadline (the step was missed); grey
    ("na") when there was nothing to measure against (no failover probe ran: error, fault not applied, skipped).
    """
    value = what.of(found.times if found else None)
    deadline = _deadline(found, what.steps)
    if value is None and deadline is None:
        return "—", "na"
    shown = _secs(value) if value is not None else "not measured"
    text = f"{shown} / {_secs(deadline)}" if deadline is not None else f"{shown} (no deadline)"
    late = value is None or (deadline is not None and value > deadline)
    if found is not None and found.dns_clock and what in (measures.DNS, measures.DNS_CLIENT) and \
            what is not measures.judged_by(found.dns_clock) and value is not None:
        return f"{text} (not the SLO's clock)", "dim"  # measured, not judged: never the reason for a verdict
    return text, "late" if late else ""


def clock_of(found: verdicts.Verdict) -> str:
    """Which DNS convergence the SLO judged, in words ("" for a journal from before there were two)."""
    if found.dns_clock == "client-visible":
        return "client-visible: the SLO judges when no resolver may still serve the old answer (the switch plus " \
               "the TTL it was served with)"
    if found.dns_clock == "authoritative":
        return "authoritative: the SLO judges when every authoritative nameserver answers the new target"
    return ""


def fault_of(found: verdicts.Verdict | None) -> str:
    if found is None or not found.fault:
        return "—"
    return found.fault + (f" on {found.provider}" if found.provider else "")


def message_of(scenario: model.ScenarioReport) -> str:
    """Why it is not passed: the failed step and how late, then the message (or the verdict's reason)."""
    found = scenario.verdict
    parts = []
    if found is not None and found.failed_step and scenario.outcome != Outcome.PASSED:
        late = number(found.late_by_s)
        parts.append(f"step {found.failed_step} " + (f"late by {_secs(late)}" if late is not None else "missed"))
    text = scenario.message or (found.reason if found else "")
    lines = text.strip().splitlines()
    if lines:  # a multi-line failure message: its first line here, all of it verbatim in the scenario's section
        first = lines[0] if len(lines[0]) <= SUMMARY_CHARS else lines[0][:SUMMARY_CHARS] + "…"
        parts.append(first + (" (more below)" if first != text.strip() else ""))
    if found is not None and found.observed and scenario.outcome != Outcome.PASSED and found.observed not in text:
        parts.append(found.observed)
    return " — ".join(parts)


def _summary(scenarios: list[model.ScenarioReport], anchors: dict[int, str]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in ("scenario", "fault", "outcome",
                                                   *(m.label for m in measures.MEASURES), "why"))
    rows = []
    for s in scenarios:
        found = s.verdict
        cells = [f'<td><a href="#{anchors[id(s)]}">{esc(s.name)}</a>'
                 + (f'<br><span class="dim">{esc(s.feature)}</span>' if s.feature else "") + "</td>",
                 f"<td>{esc(fault_of(found))}</td>", f"<td>{_badge(s.outcome)}</td>"]
        for what in measures.MEASURES:
            text, css = measure(found, what)
            cells.append(f'<td class="{" ".join(("num", css)).strip()}">{esc(text)}</td>')
        cells.append(f"<td>{esc(message_of(s))}</td>")
        rows.append(f'<tr class="scenario {_css(s.outcome)}-row">{"".join(cells)}</tr>')
    if not rows:
        rows.append('<tr><td colspan="7" class="dim">no scenario ran</td></tr>')
    return (f'<section><h2>Summary</h2><table class="summary"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></section>")


# one scenario ----------------------------------------------------------------------------------------------------
def _section(scenario: model.ScenarioReport, anchor: str) -> str:
    meta = [("feature", esc(scenario.feature)), ("tags", esc(" ".join(f"@{t}" for t in scenario.tags))),
            ("journal", f'<a href="{esc(scenario.journal_path)}">{esc(scenario.journal_path)}</a>'
             if scenario.journal_path else "")]
    return (f'<section class="scenario" id="{anchor}"><h2>{_badge(scenario.outcome)} {esc(scenario.name)}</h2>'
            f"{_facts(meta)}{_steps(scenario.steps)}{_verdict(scenario)}{_safety(scenario)}"
            f"{_timeline(scenario)}</section>")


def _steps(steps: list[model.StepReport]) -> str:
    if not steps:
        return ""
    rows = []
    for step in steps:
        css = {"passed": "met", "failed": "missed"}.get(step.status, "dim")
        duration = number(step.duration_s)
        rows.append(f"<tr><td>{esc(step.keyword)}</td><td>{esc(step.text)}</td>"
                    f'<td class="{css}">{esc(step.status)}</td>'
                    f'<td class="num">{esc(f"{duration:.2f} s") if duration is not None else ""}</td></tr>')
        if step.message:
            rows.append(f'<tr><td></td><td colspan="3"><pre class="failure">{esc(step.message)}</pre></td></tr>')
    return ("<h3>Steps</h3><table class=\"steps\"><thead><tr><th></th><th>step</th><th>status</th>"
            f"<th>duration</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _verdict(scenario: model.ScenarioReport) -> str:
    found = scenario.verdict
    if found is None:
        return "<h3>Verdict</h3><p class=\"dim\">No verdict: this scenario has no journal.</p>" \
            if scenario.journal is None else ""
    late, slo = number(found.late_by_s), number(found.slo_s)
    # the run's own verdict; a scenario that expected it (e.g. "the verdict is not resilient") passed regardless
    expected = " the scenario expected this verdict" if scenario.outcome == Outcome.PASSED != found.outcome else ""
    rows = [("outcome", _badge(found.outcome) + esc(expected)), ("reason", esc(found.reason)),
            ("fault", esc(fault_of(found)) if found.fault else ""), ("observed", esc(found.observed or "")),
            ("failed step", esc(found.failed_step or "")), ("late by", esc(_secs(late)) if late is not None else ""),
            ("SLO", esc(_secs(slo)) if slo is not None else ""), ("DNS clock", esc(clock_of(found)))]
    rows += [(what.label, f'<span class="{css}">{esc(text)}</span>') for what in measures.MEASURES
             for text, css in [measure(found, what)] if css != "na"]
    return f"<h3>Verdict</h3>{_facts(rows)}{_failover_steps(found.steps)}{_parts(found)}{_composites(found)}"


def _parts(found: verdicts.Verdict) -> str:
    """Where the time went: each part of the recovery times in the order the platform reached it, with a bar of
    its share of the whole."""
    if not found.parts:
        return ""
    whole = max((number(p.get("to_s")) or 0.0 for p in found.parts), default=0.0) or 1.0
    rows = []
    for part in found.parts:
        took, start, end = number(part.get("took_s")), number(part.get("from_s")), number(part.get("to_s"))
        left, width = 100 * (start or 0.0) / whole, 100 * (took or 0.0) / whole
        rows.append(f'<tr class="part" data-part="{esc(part.get("name", ""))}"><td>{esc(part.get("what", ""))}</td>'
                    f'<td class="num">{esc(_secs(start)) if start is not None else ""}</td>'
                    f'<td class="num">{esc(_secs(end)) if end is not None else ""}</td>'
                    f'<td class="num">{esc(_secs(took)) if took is not None else ""}</td>'
                    f'<td class="bar"><i style="margin-left:{left:.1f}%;width:{max(width, 0.3):.1f}%"></i></td></tr>')
    return ('<h3>Where the time went</h3><table class="parts"><thead><tr><th>part</th><th>from</th><th>to</th>'
            f"<th>took</th><th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _composites(found: verdicts.Verdict) -> str:
    """Every composite judged on its own, slowest first (as the verdict lists them), with its own times."""
    if not found.composites:
        return ""
    rows = []
    blast = any("blast" in c for c in found.composites)  # reached or spared by the fault, when that is known
    for composite in found.composites:
        outcome = Outcome.parse(composite.get("outcome"))
        own = verdicts.Verdict(outcome, "", times=dict(composite.get("times") or {}), steps=found.steps)
        cells = [f"<td>{esc(composite.get('name', '?'))}</td>", f"<td>{_badge(outcome)}</td>"]
        if blast:
            cells.append(f"<td>{esc(str(composite.get('blast', '')))}</td>")
        for what in measures.MEASURES:
            if what.key not in own.times:  # not judged per composite (DNS, with several records)
                cells.append('<td class="num na">—</td>')
                continue
            text, css = measure(own, what)
            cells.append(f'<td class="{" ".join(("num", css)).strip()}">{esc(text)}</td>')
        late, unready = number(composite.get("late_by_s")), number(composite.get("unready_at_s"))
        failed = str(composite.get("failed_step") or "")
        if failed:
            failed += f" (late by {_secs(late)})" if late is not None else \
                f" (left Ready {_secs(unready)} after the fault)" if unready is not None else " (missed)"
        cells.append(f"<td>{esc(failed)}</td>")
        rows.append(f'<tr class="composite {_css(outcome)}-row">{"".join(cells)}</tr>')
    head = "".join(f"<th>{esc(h)}</th>" for h in ("composite", "outcome", *(["blast radius"] if blast else []),
                                                   *(m.label for m in measures.MEASURES), "failed step"))
    return (f'<h3>Composites ({len(found.composites)}, slowest first)</h3><table class="composites">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _failover_steps(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return ""
    rows = []
    for step in steps:
        status = str(step.get("status", "?"))
        late = number(step.get("late_by_s"))
        status += f" (+{_secs(late)})" if late is not None else ""
        # what being met rests on: a switch of the serving side, or a warm standby healthy before the fault
        status += f" — {step['basis']}" if step.get("basis") else ""
        deadline, at = number(step.get("deadline_s")), number(step.get("at_s"))
        rows.append(f"<tr><td>{esc(step.get('name', ''))}</td><td>{esc(step.get('description', ''))}</td>"
                    f'<td class="num">{esc(_secs(deadline)) if deadline is not None else ""}</td>'
                    f'<td class="num">{esc(_secs(at)) if at is not None else "—"}</td>'
                    f'<td class="{esc(step.get("status", ""))}">{esc(status)}</td></tr>')
    return ('<table class="failover-steps"><thead><tr><th>failover step</th><th>expected</th><th>deadline</th>'
            f"<th>seen at</th><th>status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _safety(scenario: model.ScenarioReport) -> str:
    safety = scenario.extension("xpchaos-safety") or {}
    if not safety.get("outstanding") and not safety.get("replayed"):
        return ""
    rows = [("undone after the rollbacks", "<br>".join(esc(x) for x in safety.get("replayed") or [])),
            ("still in place", "".join(f'<span class="late">{esc(x)}</span><br>'
                                       for x in safety.get("outstanding") or []))]
    return f"<h3>Safety net</h3>{_facts(rows)}"


# the timeline ----------------------------------------------------------------------------------------------------
def chart_deadline(scenario: model.ScenarioReport) -> float | None:
    """The deadline drawn on the chart: the largest step deadline, else the target's DNS convergence SLO."""
    found = scenario.verdict
    deadlines = [d for s in (found.steps if found else []) if (d := number(s.get("deadline_s"))) is not None]
    if deadlines:
        return max(deadlines)
    return number((scenario.target.get("slos") or {}).get("dns_convergence"))


def _timeline(scenario: model.ScenarioReport) -> str:
    if scenario.journal is None:
        return "<h3>Timeline</h3><p class=\"empty\">No timeline: this scenario has no journal.</p>"
    entries = report_svg.timed(scenario.timeline)
    if not entries:
        return ("<h3>Timeline</h3><p class=\"empty\">No timeline: the journal holds no observations "
                "(no xpchaos-timeline entries were recorded for this run).</p>")
    svg = report_svg.chart(entries, scenario.target, chart_deadline(scenario), f"Timeline of {scenario.name}",
                           _clocks(scenario.verdict))
    return f"<h3>Timeline</h3><figure class=\"chart\">{svg}</figure>{_legend()}{_timeline_table(entries)}"


def _clocks(found: verdicts.Verdict | None) -> dict[str, float]:
    """The DNS convergence instants the chart marks, by clock."""
    if found is None:
        return {}
    pairs = (("authoritative", measures.DNS.of(found.times)), ("client-visible", measures.DNS_CLIENT.of(found.times)))
    return {clock: at for clock, at in pairs if at is not None}


def _legend() -> str:
    items = [("#2e7d32", "condition True / all MRs True"), ("#c62828", "False / any MR False"),
             ("#f9a825", "unknown / not all seen"), ("#1565c0", "DNS answers the primary"),
             ("#6a1b9a", "DNS answers the secondary"), ("#ef6c00", "other answer"), ("#9e9e9e", "DNS error"),
             ("#e65100", "Warning event"), ("#1565c0", "Normal event"),
             (report_svg.CLOCK_COLORS["authoritative"], "DNS converged: authoritative (dotted)"),
             (report_svg.CLOCK_COLORS["client-visible"], "DNS converged: client-visible, + the old TTL (dotted)")]
    return '<p class="legend">' + "".join(f'<span><i style="background:{c}"></i>{esc(t)}</span>'
                                          for c, t in items) + "</p>"


def _timeline_table(entries: list[dict[str, Any]]) -> str:
    fault = report_svg.fault_marker(entries)
    origin = float(fault["t"]) if fault else 0.0
    offset = "t from fault" if fault else "t from start"
    rows = []
    for entry in entries:
        source, obj, change = describe(entry)
        if entry.get("what") == "condition" and entry.get("message"):
            change += f": {entry['message']}"  # the live view leaves it out; here it is what explains a change
        change += " (initial state)" if entry.get("initial") else ""
        bookkeeping = ' class="dim"' if entry.get("what") in ("synced", "relist", "composed") else ""
        rows.append(f"<tr{bookkeeping}><td>{esc(entry.get('at', ''))}</td>"
                    f"<td class=\"num\">{float(entry['t']) - origin:+.3f} s</td><td>{esc(source)}</td>"
                    f"<td>{esc(obj)}</td><td>{esc(change)}</td></tr>")
    return (f"<details><summary>The timeline: {len(entries)} entries, exact timestamps</summary>"
            f'<table class="timeline-table"><thead><tr><th>at (UTC)</th><th>{offset}</th><th>source</th>'
            f"<th>object</th><th>what changed</th></tr></thead><tbody>{''.join(rows)}</tbody></table></details>")
