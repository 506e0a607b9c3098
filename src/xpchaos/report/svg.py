"""The timeline chart of one run, as inline SVG (no script, no external resource).

The x axis is in seconds from the last fault marker ``injected`` (negative: before the fault). One lane per
condition of each XR (Ready, Synced), one per condition type per provider aggregated over its managed resources
(those the run resolved from the composites, else those the target lists; green while every MR is True, red
while any is False), one per event reason, one per nameserver (coloured by the
side it answers), one for the recorder's own errors when there were any. Vertical lines mark the fault markers,
a dashed line the deadline, dotted lines over the DNS lanes the two DNS convergence instants (authoritative, and
client-visible: the old answer's TTL later). Every band and marker has an SVG ``<title>``: the exact timestamp
(the entry's ``at``) and what the entry said. Only what the journal holds is drawn.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from xpchaos.core.measures import number
from xpchaos.core.outcome import Outcome
from xpchaos.report.axis import Scale, seconds
from xpchaos.report.page import esc

WIDTH, LABEL_W, RIGHT_PAD = 1100, 250, 24
LANE_H, LANE_GAP, TOP, AXIS_H = 18, 5, 62, 40
MARK_ROW = 14  # marker labels are staggered over 3 rows above the lanes so that close markers stay readable
# The deadline is drawn when it is no further than STRETCH times the observed span from the axis' start: then the
# axis is extended to show it (the run still fills most of the width). A deadline far beyond the run (a 90 s SLO
# for a 4 s failover) would squash the run into a sliver, so the axis then ends with the run and the deadline is
# named at the right edge, off the scale.
STRETCH = 1.6
STATE_COLORS = {"True": "#2e7d32", "False": "#c62828", "Unknown": "#f9a825", "gone": "#757575"}
SIDE_COLORS = {"primary": "#1565c0", "secondary": "#6a1b9a", "other": "#ef6c00", "none": "#bdbdbd",
               "error": "#9e9e9e"}
EVENT_COLORS = {"Warning": "#e65100", "Normal": "#1565c0"}
MARK_COLORS = {"injected": "#b71c1c", Outcome.NOT_APPLIED: "#ef6c00", "rolled-back": "#2e7d32"}


@dataclass
class Band:
    start: float  # seconds from the fault
    end: float
    color: str
    title: str
    text: str = ""


@dataclass
class Dot:
    at: float
    color: str
    title: str


@dataclass
class Lane:
    label: str
    group: str
    bands: list[Band] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    title: str = ""


@dataclass
class Axis:
    origin: float  # the timeline's t of the fault marker: x = 0
    start: float  # seconds from the fault at the left edge
    end: float  # ... at the right edge
    observed_end: float  # the last entry, seconds from the fault
    deadline: float | None
    fault: dict[str, Any] | None

    def rel(self, entry: dict[str, Any]) -> float:
        return float(entry["t"]) - self.origin

    @property
    def scale(self) -> Scale:
        return Scale(self.start, self.end, LABEL_W, WIDTH - RIGHT_PAD)

    def x(self, at: float) -> float:
        """The pixel of ``at`` seconds from the fault."""
        return self.scale.at(at)

    @property
    def deadline_shown(self) -> bool:
        return self.deadline is not None and self.deadline <= self.end


# the axis -------------------------------------------------------------------------------------------------------
def timed(timeline: Iterable[Any]) -> list[dict[str, Any]]:
    """The entries that can be placed on the axis (a dict with a numeric ``t``), in time order."""
    entries = [e for e in timeline if isinstance(e, dict) and number(e.get("t")) is not None]
    return sorted(entries, key=lambda e: (float(e["t"]), number(e.get("seq")) or 0))


def fault_marker(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last fault marker with status ``injected``: what the expectations measure from."""
    return next((e for e in reversed(entries) if e.get("what") == "mark" and e.get("status") == "injected"), None)


def make_axis(entries: list[dict[str, Any]], deadline: float | None) -> Axis:
    fault = fault_marker(entries)
    origin = float(fault["t"]) if fault else 0.0  # no fault: seconds since the timeline began
    first, last = float(entries[0]["t"]) - origin, float(entries[-1]["t"]) - origin
    start = min(first, 0.0) if fault else first
    end = max(last, start + 0.1)  # a run of a few ms still gets a readable axis
    if deadline is not None and deadline > end and deadline - start <= STRETCH * (end - start):
        end = deadline  # see STRETCH
    pad = (end - start) * 0.02
    return Axis(origin, start - pad, end + pad, last, deadline, fault)


def stamp(axis: Axis, entry: dict[str, Any]) -> str:
    """The exact time of an entry: its ``at`` and its offset from the fault."""
    where = f"{axis.rel(entry):+.3f} s from the fault" if axis.fault else f"t={float(entry['t']):.3f} s"
    return f"{entry.get('at', '?')} ({where})"


# lanes ----------------------------------------------------------------------------------------------------------
def _matches(entry: dict[str, Any], ref: dict[str, Any]) -> bool:
    namespace = ref.get("namespace")
    return (entry.get("kind") == ref.get("plural") and entry.get("name") == ref.get("name")
            and (not namespace or entry.get("namespace") == namespace))


def _condition(entry: dict[str, Any], ref: dict[str, Any], ctype: str) -> str | None:
    """The status this entry gives ``ref``'s condition ``ctype``, or None when it is about something else."""
    if not _matches(entry, ref):
        return None
    if entry.get("what") == "gone":
        return "gone"
    if entry.get("what") == "condition" and entry.get("type") == ctype:
        return str(entry.get("status", "Unknown"))
    return None


def _describe_condition(entry: dict[str, Any]) -> str:
    if entry.get("what") == "gone":
        return f"{entry.get('kind')}/{entry.get('name')} gone"
    text = f"{entry.get('kind')}/{entry.get('name')} {entry.get('type')}={entry.get('status')}"
    text += f" {entry['reason']}" if entry.get("reason") else ""
    text += f" (was {entry['previous']})" if entry.get("previous") else ""
    text += " (state when the recorder started)" if entry.get("initial") else ""
    return text + (f": {entry['message']}" if entry.get("message") else "")


def _close(bands: list[Band], axis: Axis) -> list[Band]:
    """Each band lasts until the next one starts; the last until the last observation."""
    for band, after in itertools.pairwise(bands):
        band.end = after.start
    if bands:
        bands[-1].end = max(axis.observed_end, bands[-1].start)
    return bands


def object_lane(entries: list[dict[str, Any]], axis: Axis, ref: dict[str, Any], ctype: str) -> Lane:
    label = f"XR {ref.get('name')} {ctype}"
    bands = []
    for entry in entries:
        status = _condition(entry, ref, ctype)
        if status is not None:
            title = f"{label}: {status}\n{stamp(axis, entry)}\n{_describe_condition(entry)}"
            bands.append(Band(axis.rel(entry), 0, STATE_COLORS.get(status, STATE_COLORS["Unknown"]), title, status))
    return Lane(label, "XR", _close(bands, axis), title=f"{ref.get('kind')} {ref.get('name')} condition {ctype}")


def _aggregate(states: dict[str, str], total: int) -> str:
    values = list(states.values())
    if "False" in values:
        return "False"
    if len(values) == total and all(v == "True" for v in values):
        return "True"
    return "gone" if "gone" in values else "Unknown"


def provider_lane(entries: list[dict[str, Any]], axis: Axis, provider: str, info: dict[str, Any],
                  ctype: str) -> Lane:
    """One condition type over all of a provider's MRs: True while every MR is True, False while any is False."""
    refs = list(info.get("managed") or [])
    label = f"{provider} MRs {ctype}"
    states: dict[str, str] = {}
    last: dict[str, dict[str, Any]] = {}
    bands: list[Band] = []
    for entry in entries:
        for ref in refs:
            status = _condition(entry, ref, ctype)
            if status is None:
                continue
            key = f"{ref.get('kind')} {ref.get('name')}"
            states[key], last[key] = status, entry
            overall = _aggregate(states, len(refs))
            detail = "\n".join(f"{k}: {_describe_condition(last[k])}" for k in sorted(last))
            title = f"{label}: {overall} ({len(states)} of {len(refs)} MRs seen)\n{stamp(axis, entry)}\n{detail}"
            if bands and bands[-1].text == overall and bands[-1].start == axis.rel(entry):
                bands[-1].title = title  # several MRs at one instant: one band, its newest detail
            else:
                bands.append(Band(axis.rel(entry), 0, STATE_COLORS.get(overall, STATE_COLORS["Unknown"]), title,
                                  overall))
    role = f" ({info['role']})" if info.get("role") else ""
    names = ", ".join(f"{r.get('kind')} {r.get('name')}" for r in refs)
    return Lane(label, "managed resources", _close(bands, axis), title=f"{provider}{role}: {names}")


def event_lanes(entries: list[dict[str, Any]], axis: Axis) -> list[Lane]:
    lanes: dict[str, Lane] = {}
    for entry in entries:
        if entry.get("what") != "event":
            continue
        reason = str(entry.get("reason") or "?")
        lane = lanes.setdefault(reason, Lane(f"event {reason}", "events", title=f"Kubernetes events {reason}"))
        involved = entry.get("involved") or {}
        title = (f"{entry.get('type', '')} {reason} x{entry.get('count', 0)} on {involved.get('kind', '?')}/"
                 f"{involved.get('name', '?')}\n{stamp(axis, entry)}\n{entry.get('message', '')}")
        if entry.get("initial"):
            title += "\n(already there when the recorder started)"
        lane.dots.append(Dot(axis.rel(entry), EVENT_COLORS.get(str(entry.get("type")), "#616161"), title))
    return list(lanes.values())


def _roles(target: dict[str, Any]) -> dict[str, str]:
    """role → provider name, e.g. {"primary": "aws", "secondary": "azure"}."""
    return {str(info.get("role")): name for name, info in (target.get("providers") or {}).items()
            if isinstance(info, dict) and info.get("role")}


def _side(entry: dict[str, Any], record: dict[str, Any]) -> str:
    if entry.get("what") == "dns-error":
        return "error"
    answers = set(entry.get("answers") or [])
    if not answers:
        return "none"
    for side in ("primary", "secondary"):
        if answers <= set(record.get(side) or []):
            return side
    return "other"


def dns_lane(entries: list[dict[str, Any]], axis: Axis, record: dict[str, Any], nameserver: str,
             roles: dict[str, str], named: bool = False) -> Lane:
    name = str(record.get("name", ""))
    label = f"DNS {name} @{nameserver}" if named else f"DNS {nameserver}"
    bands = []
    for entry in entries:
        if (entry.get("what") not in ("answer", "dns-error") or entry.get("nameserver") != nameserver
                or str(entry.get("name", "")).rstrip(".") != name.rstrip(".")):
            continue
        side = _side(entry, record)
        who = roles.get(side, side) if side in ("primary", "secondary") else side
        answers = ", ".join(entry.get("answers") or []) or "no address"
        said = f"answers {answers}" if entry.get("what") == "answer" else f"no answer: {entry.get('message', '')}"
        title = f"{name} @{nameserver}: {said} ({who})\n{stamp(axis, entry)}"
        bands.append(Band(axis.rel(entry), 0, SIDE_COLORS[side], title, who))
    return Lane(label, "DNS", _close(bands, axis), title=f"{name} {record.get('type', '')} at {nameserver}")


def dns_lanes(entries: list[dict[str, Any]], axis: Axis, target: dict[str, Any]) -> list[Lane]:
    roles, lanes = _roles(target), []
    records = [r for r in target.get("dns") or [] if isinstance(r, dict)]
    if not records:  # a journal without xpchaos-target: the names seen, with no primary / secondary to compare to
        names = dict.fromkeys(str(e.get("name", "")) for e in entries if e.get("what") in ("answer", "dns-error"))
        records = [{"name": name} for name in names]
    for record in records:
        servers = list(record.get("nameservers") or [])
        seen = [e.get("nameserver") for e in entries if e.get("what") in ("answer", "dns-error")
                and str(e.get("name", "")).rstrip(".") == str(record.get("name", "")).rstrip(".")]
        servers += [s for s in dict.fromkeys(seen) if s and s not in servers]
        lanes += [dns_lane(entries, axis, record, str(s), roles, named=len(records) > 1) for s in servers]
    return lanes


def error_lane(entries: list[dict[str, Any]], axis: Axis) -> list[Lane]:
    dots = [Dot(axis.rel(e), "#212121", f"recorder error: {e.get('kind', '')} {e.get('name', '')}\n"
                                       f"{stamp(axis, e)}\n{e.get('message', '')}")
            for e in entries if e.get("what") == "error"]
    return [Lane("recorder errors", "recorder", dots=dots, title="what the recorder could not observe")] if dots else []


def composed(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """provider -> the managed resources the run resolved from the composites (its ``composed`` entries), as
    they stood at the end."""
    found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for entry in entries:
        if entry.get("what") != "composed":
            continue
        owner = entry.get("involved") or {}
        ref = {"kind": owner.get("mrKind", ""), "plural": entry.get("kind"), "name": entry.get("name"),
               "namespace": entry.get("namespace")}
        refs = found.setdefault(str(owner.get("provider") or ""), {})
        key = (ref["plural"], ref["namespace"], ref["name"])
        if entry.get("status") == "removed":
            refs.pop(key, None)
        else:
            refs[key] = ref
    return {provider: list(refs.values()) for provider, refs in found.items()}


def lanes(entries: list[dict[str, Any]], axis: Axis, target: dict[str, Any]) -> list[Lane]:
    out = [object_lane(entries, axis, ref, ctype) for ref in target.get("composites") or []
           for ctype in ("Ready", "Synced")]
    resolved = composed(entries)  # the run's own resolution, where there is one; else what the target lists
    out += [provider_lane(entries, axis, name, {**info, "managed": resolved[name]} if resolved.get(name) else info,
                          ctype)
            for name, info in (target.get("providers") or {}).items() if isinstance(info, dict)
            for ctype in ("Synced", "Ready")]
    return out + event_lanes(entries, axis) + dns_lanes(entries, axis, target) + error_lane(entries, axis)


# drawing --------------------------------------------------------------------------------------------------------
def _title(text: str) -> str:
    return f"<title>{esc(text)}</title>"


def draw_lane(lane: Lane, y: float, axis: Axis) -> str:
    mid = y + LANE_H / 2
    parts = [f'<g class="lane">{_title(lane.title or lane.label)}',
             f'<text x="{LABEL_W - 8}" y="{mid + 4:.1f}" text-anchor="end" class="lane-label">{esc(lane.label)}</text>',
             f'<rect x="{LABEL_W}" y="{y}" width="{WIDTH - LABEL_W - RIGHT_PAD}" height="{LANE_H}" fill="#f5f5f5"/>']
    for band in lane.bands:
        x0, x1 = axis.x(band.start), axis.x(band.end)
        width = max(x1 - x0, 1.5)
        parts.append(f'<g class="band"><rect x="{x0:.1f}" y="{y}" width="{width:.1f}" height="{LANE_H}" '
                     f'fill="{band.color}">{_title(band.title)}</rect>')
        if band.text and width > 7 * len(band.text) + 6:
            parts.append(f'<text x="{x0 + 4:.1f}" y="{mid + 4:.1f}" class="band-text">{esc(band.text)}'
                         f'{_title(band.title)}</text>')
        parts.append("</g>")
    for dot in lane.dots:
        parts.append(f'<circle cx="{axis.x(dot.at):.1f}" cy="{mid}" r="4.5" fill="{dot.color}" '
                     f'fill-opacity="0.75" stroke="#fff" stroke-width="0.8">{_title(dot.title)}</circle>')
    return "\n".join([*parts, "</g>"])


def draw_markers(entries: list[dict[str, Any]], axis: Axis, bottom: float) -> str:
    parts = []
    marks = [e for e in entries if e.get("what") == "mark"]
    for i, mark in enumerate(marks):
        x = axis.x(axis.rel(mark))
        status = str(mark.get("status", ""))
        color = MARK_COLORS.get(status, "#424242")
        label = f"{mark.get('kind', 'fault')} {status}"
        anchor, dx = ("end", -3) if x > WIDTH - 200 else ("start", 3)
        ty = 14 + (i % 3) * MARK_ROW
        detail = f"{label}\n{stamp(axis, mark)}" + (f"\n{mark['message']}" if mark.get("message") else "")
        parts.append(f'<g class="marker">{_title(detail)}'
                     f'<line x1="{x:.1f}" y1="{ty + 3}" x2="{x:.1f}" y2="{bottom}" stroke="{color}" '
                     f'stroke-width="2"/><text x="{x + dx:.1f}" y="{ty}" text-anchor="{anchor}" fill="{color}" '
                     f'class="marker-label">{esc(label)}</text></g>')
    return "\n".join(parts)


CLOCK_COLORS = {"authoritative": "#6a1b9a", "client-visible": "#00838f"}


def draw_clocks(clocks: dict[str, float], axis: Axis, top: float, bottom: float) -> str:
    """A dotted line over the DNS lanes at each DNS convergence instant (seconds from the fault), named below the
    axis' ticks; one past the axis' end is named at the right edge."""
    parts = []
    for i, (clock, at) in enumerate(sorted(clocks.items(), key=lambda kv: kv[1])):
        color = CLOCK_COLORS.get(clock, "#424242")
        title = _title(f"DNS converged ({clock}): {seconds(at)} s after the fault")
        label = f"DNS {clock} {seconds(at)} s"
        if at > axis.end:
            parts.append(f'<g class="dns-clock" data-clock="{esc(clock)}">{title}<text x="{WIDTH - RIGHT_PAD}" '
                         f'y="{bottom - 4 - i * 12:.1f}" text-anchor="end" fill="{color}">{esc(label)} →</text></g>')
            continue
        x = axis.x(at)
        anchor, dx = ("end", -3) if x > WIDTH - 200 else ("start", 3)
        parts.append(f'<g class="dns-clock" data-clock="{esc(clock)}">{title}<line x1="{x:.1f}" y1="{top:.1f}" '
                     f'x2="{x:.1f}" y2="{bottom:.1f}" stroke="{color}" stroke-width="2" stroke-dasharray="2 3"/>'
                     f'<text x="{x + dx:.1f}" y="{bottom - 4 - i * 12:.1f}" text-anchor="{anchor}" fill="{color}">'
                     f"{esc(label)}</text></g>")
    return "\n".join(parts)


def draw_deadline(axis: Axis, bottom: float) -> str:
    if axis.deadline is None:
        return ""
    if not axis.deadline_shown:  # off the scale (see STRETCH): named at the right edge
        return (f'<text x="{WIDTH - RIGHT_PAD}" y="{TOP - 6}" text-anchor="end" class="deadline-label">'
                f'deadline {esc(seconds(axis.deadline))} s from the fault: beyond the chart →'
                f'{_title(f"deadline (SLO): {seconds(axis.deadline)} s after the fault; the run ended earlier")}'
                "</text>")
    x = axis.x(axis.deadline)
    return (f'<g class="deadline">{_title(f"deadline (SLO): {seconds(axis.deadline)} s after the fault")}'
            f'<line x1="{x:.1f}" y1="{TOP - 12}" x2="{x:.1f}" y2="{bottom}" stroke="#000" stroke-width="1.5" '
            f'stroke-dasharray="6 4"/><text x="{x - 3:.1f}" y="{TOP - 4}" text-anchor="end" '
            f'class="deadline-label">deadline {esc(seconds(axis.deadline))} s</text></g>')


def draw_axis(axis: Axis, y: float) -> str:
    parts = [f'<line x1="{LABEL_W}" y1="{y}" x2="{WIDTH - RIGHT_PAD}" y2="{y}" stroke="#616161"/>']
    for tick in axis.scale.ticks():
        x = axis.x(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{y + 4}" stroke="#e0e0e0" '
                     f'stroke-width="{1.5 if tick == 0 else 0.7}"/>'
                     f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle" class="tick">{esc(seconds(tick))}</text>')
    if axis.fault:
        what = f"seconds from the fault ({axis.fault.get('kind', 'fault')} injected at {axis.fault.get('at', '?')})"
    else:
        what = "seconds since the timeline began (no fault was injected)"
    parts.append(f'<text x="{LABEL_W}" y="{y + 33}" class="axis-label">{esc(what)}</text>')
    return "\n".join(parts)


def chart(timeline: list[Any], target: dict[str, Any], deadline: float | None, caption: str = "",
          clocks: dict[str, float] | None = None) -> str:
    """The SVG chart of a timeline ("" when it has no entry that can be placed on an axis); ``clocks``: the DNS
    convergence instants by clock, seconds from the fault."""
    entries = timed(timeline)
    if not entries:
        return ""
    axis = make_axis(entries, deadline)
    rows = lanes(entries, axis, target)
    bottom = TOP + len(rows) * (LANE_H + LANE_GAP)
    height = bottom + AXIS_H
    body = [draw_axis(axis, bottom)]
    group = None
    for i, lane in enumerate(rows):
        y = TOP + i * (LANE_H + LANE_GAP)
        if group is not None and lane.group != group:
            body.append(f'<line x1="8" y1="{y - LANE_GAP / 2}" x2="{WIDTH - RIGHT_PAD}" y2="{y - LANE_GAP / 2}" '
                        'stroke="#9e9e9e" stroke-width="0.6"/>')
        group = lane.group
        body.append(draw_lane(lane, y, axis))
    body += [draw_markers(entries, axis, bottom), draw_deadline(axis, bottom)]
    dns = [TOP + i * (LANE_H + LANE_GAP) for i, lane in enumerate(rows) if lane.group == "DNS"]
    if clocks and dns:
        body.append(draw_clocks(clocks, axis, dns[0] - 2, dns[-1] + LANE_H + 2))
    return (f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" aria-label="{esc(caption or "timeline")}">'
            f"{_title(caption or 'timeline')}\n" + "\n".join(body) + "\n</svg>")
