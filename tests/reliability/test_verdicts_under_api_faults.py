"""The three experiments under API faults: the sandbox injects latency, 500, 503, 429 with Retry-After, cut watch
connections and 410 Gone into the harness's requests (its User-Agent ``xpchaos/...``; ``--api-faults``, a server
flag the harness cannot reach). The blueprint must read ``passed`` or ``error``, stock Crossplane ``failed`` or
``error``: never a false pass, never a false "not resilient". Every fault is rolled back all the same.

The counts (faults injected, verdicts, retries from the journals' ``xpchaos-api`` extension) go to the
"Reliability" table. ``make test`` runs 3 runs per platform; the ``soak`` variant (``make reliability``) 12. The two
platforms' runs go side by side.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import sandboxes
from tests.support.runs import NAMES, RUN_TIMEOUT, Run, verdict_of
from tests.support.sandboxes import Sandbox
from xpchaos.core import kube
from xpchaos.run import snapshot

from . import figures

FAULTS = "latency=0.1,500=0.03,503=0.03,429=0.03,drop-watch=0.25,gone=0.25"
RIGHT = {"blueprint": "passed", "stock": "failed"}
SLO = {"blueprint": "20s", "stock": "6s"}  # stock never fails over: its runs end at the deadline


@dataclass
class Faulty:
    box: Sandbox
    log: Path

    def injected(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


def _start(base: Path, profile: str, seed: int) -> Iterator[Faulty]:
    log = base / "faults.jsonl"
    faults = ["--api-faults", FAULTS, "--api-faults-seed", str(seed), "--api-faults-latency", "0.05:0.3",
              "--api-faults-drop-after", "1.5", "--api-faults-agent", kube.USER_AGENT.split("/")[0] + "/",
              "--api-faults-log", str(log)]
    with sandboxes.running(base / "sandbox", *sandboxes.fast(profile), *faults) as box:
        faulty = Faulty(box, log)
        box.wait_steady()
        yield faulty


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    yield from _start(tmp_path_factory.mktemp("faulty-blueprint"), "blueprint", 11)


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    yield from _start(tmp_path_factory.mktemp("faulty-stock"), "stock", 12)


@dataclass
class Tally:
    runs: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    false_verdicts: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    left_changed: list[str] = field(default_factory=list)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.runs + other.runs, self.injected + other.injected, self.verdicts + other.verdicts,
                     self.false_verdicts + other.false_verdicts, self.errors + other.errors,
                     self.retries + other.retries, self.left_changed + other.left_changed)

    def as_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "injected": sum(self.injected.values()), "injected_by_fault": dict(self.injected),
                "verdicts": dict(self.verdicts), "false_verdicts": len(self.false_verdicts),
                "error_reasons": dict(self.errors), "retries": self.retries.get("total", 0),
                "retries_by_reason": {k: v for k, v in self.retries.items() if k != "total"},
                "runs_left_changed": len(self.left_changed)}


def _run(faulty: Faulty, name: str, run: Run, tally: Tally) -> None:
    box = faulty.box
    box.wait_steady()
    before = box.snapshot()
    first = len(faulty.injected())  # the runs' own requests only, not the test's steady-state checks
    result = subprocess.run(run.chaos_command(name), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                            cwd=run.directory, env=run.env(box.target_path, XPCHAOS_SLO=SLO[box.profile]))
    during = faulty.injected()[first:]
    tally.runs += 1
    tally.injected.update(f["fault"] for f in during)
    journal = run.journal()
    outcome = verdict_of(journal)
    tally.verdicts[f"{box.profile} {outcome['outcome']}"] += 1
    if outcome["outcome"] == "error":
        tally.errors[outcome["reason"][:120]] += 1
    elif outcome["outcome"] != RIGHT[box.profile]:
        tally.false_verdicts.append(f"{box.profile} {name}: {outcome['outcome']}: {outcome['reason']} "
                                    f"(exit {result.returncode}; faults during the run: "
                                    f"{dict(Counter(f['fault'] for f in during))})")
    api = next((e for e in journal.get("extensions") or [] if e.get("name") == "xpchaos-api"), {})
    tally.retries.update(api.get("retries") or {})
    box.wait_steady()
    changed = snapshot.diff(before, box.snapshot())
    if changed or run.outstanding():
        left = [(r["fault"], r["id"], r["undo"].get("action")) for r in run.outstanding()]  # never the snapshot's bytes
        tally.left_changed.append(f"{box.profile} {name}: {changed} outstanding {left}")


def _platform(faulty: Faulty, per_platform: int, root: Path) -> Tally:
    """One platform's runs, one after the other."""
    tally = Tally()
    for i in range(per_platform):
        run = Run(root / f"{faulty.box.profile}-{i:02d}")
        run.directory.mkdir(parents=True)
        _run(faulty, NAMES[i % len(NAMES)], run, tally)
    return tally


def _soak(faulty: list[Faulty], per_platform: int, root: Path) -> Tally:
    """The platforms' runs side by side: each platform is its own sandbox and each run its own process, undo log
    and journal, so they share nothing but the machine, and the suite waits for the longer sequence only."""
    with ThreadPoolExecutor(max_workers=len(faulty)) as pool:
        tallies = list(pool.map(lambda platform: _platform(platform, per_platform, root), faulty))
    return sum(tallies, Tally())


@pytest.mark.timeout(1200)  # the soak variant takes minutes; the suite's 300 s is for single tests
@pytest.mark.parametrize("per_platform", [3, pytest.param(12, marks=pytest.mark.soak)])
def test_api_faults_never_give_a_false_verdict(per_platform: int, blueprint: Faulty, stock: Faulty,
                                               tmp_path: Path) -> None:
    tally = _soak([blueprint, stock], per_platform, tmp_path)
    found = tally.as_dict()
    figures.record(f"api-faults-{per_platform}", found)
    assert tally.false_verdicts == [], "\n".join(tally.false_verdicts)
    assert tally.left_changed == [], "\n".join(tally.left_changed)
    # the faults really came, and the harness mostly saw through them
    assert set(tally.injected) == {"latency", "500", "503", "429", "drop-watch", "gone"}, found
    assert found["retries"] > 0, found
    right = tally.verdicts["blueprint passed"] + tally.verdicts["stock failed"]
    assert right >= tally.runs // 2, found
