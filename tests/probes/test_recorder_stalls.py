"""The recorder and stalled watches: the sandbox's ``stall`` API fault holds every watch of the harness (User-Agent
``xpchaos/...``) open and silent from its first byte on (``--api-faults-stall-after 0``), as a half-open connection
behind a replaced load balancer does. The verdict stays right or reads ``error``, never a false "not resilient".

- With a read timeout shorter than the run (``XPCHAOS_WATCH_STALL=2.5``), ``chaos run`` sees every change late, by at
  most the read timeout: each stall is an entry on the timeline and a count in the journal's ``xpchaos-api`` entry.
- With a read timeout longer than the deadline, the stall is still going when the verdict is due: the recorder finds
  it by comparing the watched objects with the API server (``behind``), and the verdict is ``error``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import config

from tests.probes.cluster import Cluster
from tests.support import sandboxes
from tests.support.runs import Run, extension, verdict_of
from tests.support.sandboxes import Sandbox
from tests.support.targets import MINIMAL
from tests.support.waiting import wait_for
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.core.errors import InputError
from xpchaos.probes import failover, recorder
from xpchaos.probes import timeline as tl
from xpchaos.probes.expectations import failover as failover_expectation
from xpchaos.probes.recorder import TimelineRecorder, _Stream

RIGHT = {"blueprint": ("passed", "error"), "stock": ("failed", "error")}
SLO = {"blueprint": "20s", "stock": "6s"}  # stock never fails over: its runs end at the deadline


@dataclass
class Stalling:
    box: Sandbox
    log: Path

    def stalls(self) -> int:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return sum(json.loads(line)["fault"] == "stall" for line in lines)


def _start(base: Path, profile: str) -> Iterator[Stalling]:
    log = base / "faults.jsonl"
    faults = ["--api-faults", "stall=1.0", "--api-faults-stall-after", "0", "--api-faults-seed", "5",
              "--api-faults-agent", kube.USER_AGENT.split("/")[0] + "/", "--api-faults-log", str(log)]
    with sandboxes.running(base / "sandbox", *sandboxes.fast(profile), *faults) as box:
        box.wait_steady()
        yield Stalling(box, log)


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stalling]:
    yield from _start(tmp_path_factory.mktemp("stalling-blueprint"), "blueprint")


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stalling]:
    yield from _start(tmp_path_factory.mktemp("stalling-stock"), "stock")


def _run(stalling: Stalling, directory: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    box = stalling.box
    box.wait_steady()
    run = Run(directory)
    assert box.target_path is not None
    result = run.chaos("revoke-credentials", box.target_path, XPCHAOS_SLO=SLO[box.profile], XPCHAOS_WATCH_STALL="2.5")
    journal = run.journal()
    assert run.outstanding() == [], result.stderr[-2000:]
    return journal, extension(journal, "xpchaos-timeline")["timeline"]


@pytest.mark.parametrize("profile", ["blueprint", "stock"])
def test_a_run_through_stalled_watches_reads_right_or_error_and_counts_the_stalls(
        profile: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    stalling: Stalling = request.getfixturevalue(profile)
    journal, timeline = _run(stalling, tmp_path)
    outcome = verdict_of(journal)
    assert outcome["outcome"] in RIGHT[profile], outcome
    counted = extension(journal, "xpchaos-api")["retries"].get("watch stall", 0)
    entries = [e for e in timeline if e["what"] == tl.ERROR and e.get("status") == "stalled"]
    # every watch is held from its first byte: nothing after the fault is seen without at least one stall
    assert counted >= 1 and len(entries) == counted, (counted, len(entries))
    assert all(e["message"].startswith("stalled: nothing received for 2.5 s (no event, no bookmark); resuming from "
                                       "resourceVersion ") for e in entries), entries[:3]
    assert stalling.stalls() >= counted  # the sandbox held (at least) as many watches as the recorder gave up on


def test_a_stall_still_going_at_the_deadline_reads_error_not_failed(blueprint: Stalling) -> None:
    """The read timeout (60 s) outlasts the deadlines (6 s): at the deadline every watched change since the fault is
    still held back; what the API server lists says so, and the verdict is ``error``, not "failed"."""
    box = blueprint.box
    box.wait_steady()
    c = Cluster(box, box.target, config.new_client_from_config(config_file=box.kubeconfig))
    before = blueprint.stalls()
    rec = TimelineRecorder(c.target, stall_after=60).start()
    try:
        assert rec.wait_synced(10), rec.errors
        synced = [e for e in rec.timeline.entries() if e.what == tl.SYNCED]
        # every watch is open and held (stalled from its first byte on) before the fault
        wait_for(lambda: blueprint.stalls() - before >= len(synced), 10, what="every watch of the recorder held")
        rec.timeline.mark_fault("credentials-revoked")
        restore = c.revoke_credentials()
        try:
            verdict = failover.evaluate(rec, failover_expectation(c.target, dict.fromkeys(
                ("detect", "promote", "xr_recovers", "dns_secondary"), 6)))
        finally:
            restore()
    finally:
        rec.stop()
    assert verdict["outcome"] == "error", verdict
    assert verdict["reason"].startswith("could not observe: watch ") and verdict["reason"].endswith("(stalled)"), \
        verdict
    assert not [e for e in rec.timeline.entries() if e.status == "stalled"]  # the read timeout never fired
    assert recorder.active() is None


# the decisions alone, over a stand-in for the list call (as tests/probes/test_relist.py) -------------------------
class _Listed:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.data = json.dumps({"metadata": {"resourceVersion": "42"}, "items": items}).encode()

    def release_conn(self) -> None:
        pass


def _ready_since(ago: float) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - ago))
    return {"metadata": {"name": "db"}, "status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": stamp}]}}


def _behind(tmp_path: Path, delivered: dict[str, Any], listed: dict[str, Any], silent: float) -> str | None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    rec = TimelineRecorder(targets.load(path), dns=False)
    stream = _Stream("xdbs.example.org", "xdbs", lambda **kw: _Listed([delivered]), lambda obj: True)
    rec._list(stream)  # what the stream delivered
    stream.lister, stream.heard = (lambda **kw: _Listed([listed])), time.time() - silent
    rec._streams = [stream]
    return rec.behind()


@pytest.mark.parametrize(("delivered_ago", "listed_ago", "silent", "held"), [
    (60, 10, 30, True),  # changed (twice: True again) 10 s ago, unseen by a stream silent for 30 s
    (60, 60, 30, False),  # what the server lists is what the stream delivered
    (60, 1, 30, False),  # changed just now: may be on its way
    (60, 10, 1, False),  # the stream heard something a second ago: it flows
])
def test_behind_finds_a_change_the_stream_has_not_delivered(tmp_path: Path, delivered_ago: float, listed_ago: float,
                                                            silent: float, held: bool) -> None:
    why = _behind(tmp_path, _ready_since(delivered_ago), _ready_since(listed_ago), silent)
    assert (why is not None) == held, why
    if held:
        assert re.fullmatch(r"watch xdbs\.example\.org: silent for 30\.\d s, though db's Ready changed 1[01] s ago "
                            r"\(stalled\)", why or ""), why  # lastTransitionTime is to the second


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan", "inf"])
def test_a_bad_stall_setting_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(recorder.STALL_ENV, value)
    with pytest.raises(InputError) as refused:
        recorder.stall_default()
    assert str(refused.value) == (f"${recorder.STALL_ENV} {value!r}: expected the seconds of silence after which a "
                                  "watch is stalled, e.g. 75")


def test_the_stall_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(recorder.STALL_ENV, raising=False)
    assert recorder.stall_default() == recorder.WATCH_STALL == 75
    monkeypatch.setenv(recorder.STALL_ENV, "2.5")
    assert recorder.stall_default() == 2.5
