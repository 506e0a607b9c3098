"""Benchmark 5: detection lag - an Event written through the API until the TimelineRecorder has it, side by side
with a 1-second polling probe (chaostoolkit-kubernetes's ``chaosk8s.event.probes.get_events``, its body re-used).

A ``--profile stock --speed fast`` sandbox; the recorder is started on the sandbox's own ``target.yaml`` (the XR and MR
watches, the Events about them, the DNS sampler), as a Chaos Toolkit run would; the benchmark's Events are about
the target's XR. A thread calls
``get_events(field_selector=...)`` every second (a fresh API client per call, as chaosk8s does) and notes when
each poll returned and which of the benchmark's Events it listed. Events are then created one at a time at
random gaps (0.2-0.6 s, so they fall at every phase of the poll); an Event's recorder lag runs from just before the
create request until its entry is on the timeline, its polling lag until the end of the first poll that listed it.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

from xpchaos.core import target as target_mod
from xpchaos.probes import timeline as tl
from xpchaos.probes.recorder import TimelineRecorder

from .common import Deadline, sandbox, summary_ms

N_EVENTS = 40
WARMUP = 3
POLL_INTERVAL = 1.0
NS = "default"
REASON = "BenchDetection"


class Poller:
    """``get_events`` every second; ``first_seen[name]`` is the monotonic time the first poll listing it ended."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.first_seen: dict[str, float] = {}
        self.polls = 0
        self.poll_s: list[float] = []
        self.error: BaseException | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-poller", daemon=True)

    def _run(self) -> None:
        deadline = Deadline(300, "polling probe")
        next_at = time.monotonic()
        try:
            while not self.stopping.is_set() and deadline.left() > 0:
                started = time.monotonic()
                doc = get_events(self.kubeconfig, field_selector=f"reason={REASON}", limit=1000)
                ended = time.monotonic()
                self.polls += 1
                self.poll_s.append(ended - started)
                for item in doc.get("items") or []:
                    self.first_seen.setdefault(item["metadata"]["name"], ended)
                next_at += POLL_INTERVAL
                self.stopping.wait(max(0.0, next_at - time.monotonic()))
        except BaseException as exc:  # reported by the benchmark
            self.error = exc


def get_events(kubeconfig: str, field_selector: str, limit: int) -> dict[str, Any]:
    """The body of ``chaosk8s.event.probes.get_events``: a new client per call, ``events.k8s.io/v1`` list across
    namespaces, JSON decoded. (chaosk8s itself only reads ``~/.kube/config`` or ``KUBERNETES_*`` variables, and
    its client factory sets ``verify_ssl`` on the client class for the whole process, so it is not called as is.)"""
    api = config.new_client_from_config(config_file=kubeconfig)
    try:
        response = client.EventsV1Api(api).list_event_for_all_namespaces(
            _preload_content=False, field_selector=field_selector, limit=limit)
        return json.loads(response.read().decode("utf-8"))
    finally:
        api.close()


def _event(i: int, about: dict[str, str]) -> dict[str, Any]:
    """An Event about ``about``: the recorder keeps only Events about the target's objects."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"bench-detect-{i:03d}", "namespace": NS},
        "involvedObject": about,
        "reason": REASON, "message": f"detection benchmark event {i}", "type": "Warning",
        "source": {"component": "xpchaos-bench"}, "count": 1, "firstTimestamp": now, "lastTimestamp": now,
    }


def _bench(kubeconfig: str, target_path: str) -> dict[str, Any]:
    deadline = Deadline(180, "detection lag")
    target = target_mod.load(target_path)
    api = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    xr = target.composites[0]
    about = {"apiVersion": xr.api_version, "kind": xr.kind, "name": xr.name,
             **({"namespace": xr.namespace} if xr.namespace else {})}
    recorder = TimelineRecorder(target).start()
    poller = Poller(kubeconfig)
    rng = random.Random(4)
    recorder_lag: list[float] = []
    written: dict[str, float] = {}
    try:
        if not recorder.wait_synced(30):
            raise RuntimeError(f"the recorder did not sync: {recorder.errors}")
        poller.thread.start()
        for i in range(WARMUP + N_EVENTS):
            deadline.check()
            name = f"bench-detect-{i:03d}"
            def seen(entries: list[tl.Entry], _name: str = name) -> tl.Entry | None:
                return next((e for e in reversed(entries[-50:]) if e.what == tl.EVENT and e.name == _name), None)
            start = time.monotonic()
            core.create_namespaced_event(NS, _event(i, about))
            entry = recorder.timeline.wait_for(seen, time.monotonic() + 10)
            if entry is None:
                raise RuntimeError(f"the recorder never had Event {name}")
            if i >= WARMUP:
                recorder_lag.append(entry.mono - start)
                written[name] = start
            time.sleep(rng.uniform(0.2, 0.6))
        poll_deadline = time.monotonic() + 3 * POLL_INTERVAL  # the poller must still catch the last ones
        while time.monotonic() < poll_deadline and not all(n in poller.first_seen for n in written):
            time.sleep(0.05)
    finally:
        poller.stopping.set()
        poller.thread.join(5)
        recorder.stop()
        api.close()
    if poller.error is not None:
        raise RuntimeError(f"polling probe failed: {poller.error!r}")
    polling_lag = [poller.first_seen[n] - t for n, t in written.items() if n in poller.first_seen]
    rec, poll = summary_ms(recorder_lag), summary_ms(polling_lag)
    return {
        "events": len(written),
        "recorder": rec,
        "polling_1s": poll,
        "polling_missed": len(written) - len(polling_lag),
        "polls": poller.polls,
        "poll_call": summary_ms(poller.poll_s),
        "ratio_median": round(poll["median_ms"] / rec["median_ms"], 1),
        "target_median_ms": 20,
    }


def run() -> dict[str, Any]:
    with sandbox(["--profile", "stock", "--speed", "fast"]) as endpoint:
        state = json.loads((endpoint.state_dir / "state.json").read_text())
        if not state.get("target") or not Path(state["target"]).exists():
            raise RuntimeError("the stock sandbox wrote no target.yaml")
        return _bench(endpoint.kubeconfig, state["target"])


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rec, poll = result["recorder"], result["polling_1s"]
    met = "met" if rec["median_ms"] <= result["target_median_ms"] else "NOT met"
    return [
        (f"5 Event -> recorder timeline ({result['events']} events)", f"{rec['median_ms']:.1f} ms",
         f"{rec['p99_ms']:.1f} ms", f"median <= 20 ms: {met}"),
        ("5 Event -> 1 s polling get_events", f"{poll['median_ms']:.0f} ms", f"{poll['p99_ms']:.0f} ms",
         f"ratio x{result['ratio_median']}; get_events call {result['poll_call']['median_ms']:.0f} ms"),
    ]
