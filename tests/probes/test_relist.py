"""After a 410 Gone, the recorder re-lists and says whether it may have missed a change: ``blind`` when a condition
of a listed object changed (lastTransitionTime) while it was not watching, ``clear`` otherwise. The lister here is
a stand-in for the list call (this is the decision alone); the real 410 path against the sandbox is exercised by
tests/reliability/test_verdicts_under_api_faults.py."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.support.targets import MINIMAL
from xpchaos.core import target as targets
from xpchaos.probes import timeline as tl
from xpchaos.probes.recorder import TimelineRecorder, _Stream


class _Listed:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.data = json.dumps({"metadata": {"resourceVersion": "42"}, "items": items}).encode()

    def release_conn(self) -> None:
        pass


def _cluster(name: str, changed_at: float) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(changed_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"metadata": {"name": name}, "status": {"conditions": [
        {"type": "Synced", "status": "False", "reason": "ReconcileError", "lastTransitionTime": stamp}]}}


def _relist(tmp_path: Path, items: list[dict[str, Any]], heard: float) -> tl.Entry:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    rec = TimelineRecorder(targets.load(path), dns=False)
    stream = _Stream("clusters.rds.aws.upbound.io", "clusters", lambda **kw: _Listed(items), lambda obj: True,
                     synced=True, heard=heard, relisting_since=heard)
    rec._list(stream)
    assert stream.rv == "42" and stream.relisting_since is None
    return next(e for e in rec.timeline.entries() if e.what == tl.RELIST)


def test_a_condition_that_changed_while_not_watching_makes_the_relist_blind(tmp_path: Path) -> None:
    heard = time.time() - 60
    entry = _relist(tmp_path, [_cluster("db", changed_at=heard + 30)], heard)
    assert entry.status == "blind" and "conditions changed meanwhile on db" in entry.message


def test_conditions_older_than_the_gap_make_it_clear(tmp_path: Path) -> None:
    heard = time.time() - 60
    entry = _relist(tmp_path, [_cluster("db", changed_at=heard - 600)], heard)
    assert entry.status == "clear"
