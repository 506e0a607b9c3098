"""Benchmark 10: the recorder under other teams' noise (200 Events/s): its journal's growth and its CPU.

The ``realistic`` platform (``--profile blueprint --speed fast``: 20 XRs, their MRs, 8 noise namespaces with 5
pods each and 200 Event writes per second, half new Events, half counted repeats) and two recorders started at once
on its own target, side by side in this process, so that both see the same noise at the same moments:

- ``scoped``: today's ``TimelineRecorder``: per watched kind, one Events watch the API server filters by
  ``involvedObject.apiVersion`` and ``involvedObject.kind``; the recorder keeps those about the objects it keeps;
- ``cluster-wide``: the recorder as it was before (``ClusterWide`` below): one Events watch over every namespace,
  every Event kept.

Once both have synced, ``SECONDS`` one-second windows: per window and per recorder, the timeline entries added and
the CPU (user + system) of its own watch threads (psutil per-thread times, by the native ids of its streams'
threads; the kernel counts them in 10 ms ticks, so the CPU is also given summed over all windows). Figures: the
median per window, the ratio cluster-wide / scoped, and the journal's size (the timeline as the journal stores it,
JSON bytes) once synced and after the windows. Nothing changes on the platform meanwhile but the noise.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import psutil
from kubernetes import client

from xpchaos.core import target as target_mod
from xpchaos.core.target import ObjectRef
from xpchaos.probes.recorder import TimelineRecorder, _Stream

from .common import Deadline, sandbox

SECONDS = 20
ARGS = ["--profile", "blueprint", "--speed", "fast", "--platform", "realistic"]


class ClusterWide(TimelineRecorder):
    """The recorder before the Events were scoped: one watch on every Event of every namespace, all of them kept."""

    def _new_streams(self, refs: list[ObjectRef] | tuple[ObjectRef, ...], managed: bool) -> list[_Stream]:
        streams = [s for s in super()._new_streams(refs, managed) if s.kind != "events"]
        if not managed:  # the first call, from start(): the one Events watch
            events = client.CoreV1Api(self._api).list_event_for_all_namespaces
            streams.insert(0, _Stream("events", "events", events, lambda obj: True))
        return streams


def _threads(recorder: TimelineRecorder) -> set[int]:
    with recorder._streams_lock:
        return {s.thread.native_id for s in recorder._streams if s.thread is not None and s.thread.native_id}


def _cpu(ids: set[int]) -> float:
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id in ids)


def _journal_bytes(recorder: TimelineRecorder) -> int:
    return len(json.dumps(recorder.timeline.to_json()).encode())


def _bench(kubeconfig_target: str) -> dict[str, Any]:
    target = target_mod.load(kubeconfig_target)
    recorders = {"scoped": TimelineRecorder(target, dns=False), "cluster-wide": ClusterWide(target, dns=False)}
    try:
        for recorder in recorders.values():
            recorder.start()
        for name, recorder in recorders.items():
            if not recorder.wait_synced(120):
                raise RuntimeError(f"the {name} recorder did not sync within 120 s: {recorder.errors}")
        ids = {name: _threads(r) for name, r in recorders.items()}
        synced = {name: len(r.timeline) for name, r in recorders.items()}
        journal_synced = {name: _journal_bytes(r) for name, r in recorders.items()}
        cpu_start = {name: _cpu(ids[name]) for name in recorders}
        entries: dict[str, list[int]] = {name: [] for name in recorders}
        cpu_ms: dict[str, list[float]] = {name: [] for name in recorders}
        last = {name: (len(r.timeline), _cpu(ids[name])) for name, r in recorders.items()}
        deadline = Deadline(SECONDS + 30, "the noise windows")
        for _ in range(SECONDS):
            deadline.check()
            time.sleep(1.0)  # one window of the noise: the window is the measurement, there is nothing to wait for
            for name, recorder in recorders.items():
                now = (len(recorder.timeline), _cpu(ids[name]))
                entries[name].append(now[0] - last[name][0])
                cpu_ms[name].append((now[1] - last[name][1]) * 1000)
                last[name] = now
        journal = {name: _journal_bytes(r) for name, r in recorders.items()}
        cpu_total = {name: round((_cpu(ids[name]) - cpu_start[name]) * 1000) for name in recorders}
        streams = {name: len(ids[name]) for name in recorders}
        total = {name: len(r.timeline) - synced[name] for name, r in recorders.items()}
        events = {name: sum(1 for e in r.timeline.entries() if e.what == "event") for name, r in recorders.items()}
    finally:
        for recorder in recorders.values():
            recorder.stop()
    med_entries = {name: statistics.median(v) for name, v in entries.items()}
    med_cpu = {name: statistics.median(v) for name, v in cpu_ms.items()}
    return {
        "seconds": SECONDS, "noise_events_per_s": 200, "watch_streams": streams,
        "entries_after_sync": synced, "entries_during_windows": total, "event_entries": events,
        "median_entries_per_s": med_entries, "entries_per_s": entries,
        "median_cpu_ms_per_s": {k: round(v, 2) for k, v in med_cpu.items()},
        "cpu_ms_per_s": {k: [round(x, 2) for x in v] for k, v in cpu_ms.items()},
        "journal_bytes_synced": journal_synced, "journal_bytes": journal, "cpu_ms_total": cpu_total,
        "ratio_entries": _ratio(med_entries["cluster-wide"], med_entries["scoped"]),
        "ratio_cpu": _ratio(cpu_total["cluster-wide"], cpu_total["scoped"]),
        "ratio_journal": _ratio(journal["cluster-wide"], journal["scoped"]),
    }


def _ratio(before: float, after: float) -> float | None:
    return round(before / after, 1) if after else None


def run() -> dict[str, Any]:
    with sandbox(ARGS) as endpoint:
        return _bench(str(endpoint.state_dir / "target.yaml"))


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    def pair(key: str, unit: str, digits: int = 0) -> str:
        v = result[key]
        return f"{v['scoped']:.{digits}f} / {v['cluster-wide']:.{digits}f} {unit}"

    def ratio(key: str) -> str:
        value = result[key]
        return f"x{value:g}" if value is not None else "scoped: 0"

    kib = {k: v / 1024 for k, v in result["journal_bytes"].items()}
    kib_synced = {k: v / 1024 for k, v in result["journal_bytes_synced"].items()}
    cpu = result["cpu_ms_total"]
    return [
        ("10 noise 200 Ev/s: entries/s scoped / cluster-wide", pair("median_entries_per_s", ""), "",
         f"ratio {ratio('ratio_entries')}; medians of {result['seconds']} 1-s windows"),
        ("10 noise: recorder CPU/s scoped / cluster-wide", pair("median_cpu_ms_per_s", "ms", 1), "",
         f"in all {cpu['scoped']} / {cpu['cluster-wide']} ms, ratio {ratio('ratio_cpu')}"),
        ("10 noise: journal scoped / cluster-wide", f"{kib['scoped']:.0f} / {kib['cluster-wide']:.0f} KiB", "",
         f"synced {kib_synced['scoped']:.0f} / {kib_synced['cluster-wide']:.0f} KiB; "
         f"ratio {ratio('ratio_journal')} after {result['seconds']} s"),
    ]
