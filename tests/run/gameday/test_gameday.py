"""``xpchaos gameday`` as a scheduled drill runs it: three experiments in order, --dry-run touching nothing, one run
at a time per target (a Lease, which ``xpchaos run``, plain ``chaos run`` and ``xpchaos gate`` hold too), and a
tripped stop condition rolling back at once with exit 2."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support import sandboxes
from tests.support.commands import CHAOS
from tests.support.paths import EXPERIMENTS, ROOT
from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for
from xpchaos.core import kube
from xpchaos.core.undo_log import UndoLog
from xpchaos.run import snapshot


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.platform(tmp_path_factory.mktemp("gameday-blueprint"), "blueprint") as box:
        yield box


@pytest.fixture(scope="module")
def slow_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Detection takes 30 s here: a fault stays in place long enough to trip a stop condition under it."""
    with sandboxes.platform(tmp_path_factory.mktemp("gameday-slow"), "blueprint", "detection=30") as box:
        yield box


def _suite(path: Path, *steps: str, timeout: str = "60s") -> Path:
    lines = ["kind: GameDay", "metadata: {name: drill}", f"steadyState: {{timeout: {timeout}}}", "steps:"]
    lines += [f"  - {step}" for step in steps]
    path.write_text("\n".join(lines) + "\n")
    return path


def _gameday(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpchaos", "gameday", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=env)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XPCHAOS_UNDO_LOG": str(tmp_path / "undo.jsonl"),
            "XPCHAOS_HISTORY": str(tmp_path / "history.sqlite")}


def _core(box: Sandbox) -> client.CoreV1Api:
    tgt = box.target
    return client.CoreV1Api(kube.api_client(tgt.kubeconfig, tgt.context))


def test_three_experiments_in_order(blueprint: Sandbox, tmp_path: Path) -> None:
    suite = _suite(tmp_path / "suite.yaml", *(f"experiment: {EXPERIMENTS / n}.json" for n in
                                               ("revoke-credentials", "block-provider-api", "delete-providerconfig")))
    before = snapshot.take(blueprint.target)
    run = _gameday(str(suite), "--target", str(blueprint.target_path), "--report-dir", str(tmp_path / "r"),
                   env=_env(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    journals = sorted((tmp_path / "r" / "journals").glob("*.json"))
    assert [j.name for j in journals] == ["01-revoke-credentials.json", "02-block-provider-api.json",
                                          "03-delete-providerconfig.json"]
    for journal in journals:
        verdict = next(e for e in json.loads(journal.read_text())["extensions"] if e["name"] == "xpchaos-verdict")
        assert verdict["outcome"] == "passed", verdict
    assert "passed" in (tmp_path / "r" / "index.html").read_text()
    assert snapshot.diff(before, snapshot.take(blueprint.target)) == []
    assert UndoLog(tmp_path / "undo.jsonl").outstanding() == []
    leases = client.CoordinationV1Api(kube.api_client(blueprint.target.kubeconfig)).list_namespaced_lease("default")
    assert leases.items == [], "the lease was not released"
    # the figures went into the history, and `xpchaos history` reads them back
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        runs = db.execute("SELECT kind, name, exit_code FROM runs").fetchall()
        results = db.execute("SELECT fault, verdict, dns_s FROM results ORDER BY rowid").fetchall()
    assert runs == [("gameday", "drill", 0)]
    assert [(f, v) for f, v, _ in results] == [("revoke-credentials", "passed"), ("block-provider-api", "passed"),
                                               ("delete-providerconfig", "passed")]
    assert all(dns is not None and dns < 90 for _, _, dns in results)
    shown = subprocess.run([sys.executable, "-m", "xpchaos", "history", "--history", str(tmp_path / "history.sqlite"),
                            "-o", str(tmp_path / "history.html")], capture_output=True, text=True, cwd=ROOT,
                           timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "<svg" in (tmp_path / "history.html").read_text()


def test_tagged_scenarios_run_as_a_step(blueprint: Sandbox, tmp_path: Path) -> None:
    suite = _suite(tmp_path / "suite.yaml", "scenarios: gameday and slow")
    run = _gameday(str(suite), "--target", str(blueprint.target_path), "--report-dir", str(tmp_path / "r"),
                   env=_env(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Revoking the AWS credentials at real speed: passed" in run.stdout
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        assert db.execute("SELECT scenario, verdict FROM results").fetchall() == [
            ("Revoking the AWS credentials at real speed", "passed")]


def test_dry_run_touches_nothing(blueprint: Sandbox, tmp_path: Path) -> None:
    suite = _suite(tmp_path / "suite.yaml", f"experiment: {EXPERIMENTS / 'block-provider-api.json'}", "pause: 5s",
                   f"experiment: {EXPERIMENTS / 'revoke-credentials.json'}")
    blueprint.wait_steady()
    before = snapshot.take(blueprint.target)
    versions = {i.metadata.name: i.metadata.resource_version for i in
                _core(blueprint).list_namespaced_secret("crossplane-system").items}
    run = _gameday(str(suite), "--target", str(blueprint.target_path), "--dry-run", "-o", "json", env=_env(tmp_path))
    assert run.returncode == 0, run.stderr
    plan = json.loads(run.stdout)
    assert [s["step"].split()[0] for s in plan["steps"]] == ["experiment", "pause", "experiment"]
    assert plan["steps"][0]["touches"] and plan["steps"][2]["touches"]
    assert "NetworkPolicy" in json.dumps(plan["steps"][0]["touches"])
    assert snapshot.diff(before, snapshot.take(blueprint.target)) == []
    assert versions == {i.metadata.name: i.metadata.resource_version for i in
                        _core(blueprint).list_namespaced_secret("crossplane-system").items}
    assert not (tmp_path / "undo.jsonl").exists()
    leases = client.CoordinationV1Api(kube.api_client(blueprint.target.kubeconfig)).list_namespaced_lease("default")
    assert leases.items == []


def test_a_second_concurrent_run_is_refused(blueprint: Sandbox, tmp_path: Path) -> None:
    suite = _suite(tmp_path / "suite.yaml", "pause: 20s")
    first = subprocess.Popen([sys.executable, "-m", "xpchaos", "gameday", str(suite), "--target",
                              str(blueprint.target_path), "--report-dir", str(tmp_path / "first")], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    coord = client.CoordinationV1Api(kube.api_client(blueprint.target.kubeconfig))
    try:
        held = wait_for(lambda: coord.list_namespaced_lease("default").items, 30, what="the first run's lease")
        holder = held[0].spec.holder_identity
        second = _gameday(str(suite), "--target", str(blueprint.target_path), "--report-dir",
                          str(tmp_path / "second"), env=_env(tmp_path))
        assert second.returncode == 2, second.stdout + second.stderr
        assert "another run holds the lease" in second.stderr and holder in second.stderr, second.stderr
        assert "since" in second.stderr and second.stderr.count("\n") == 1
    finally:
        first.terminate()
        first.communicate(timeout=60)
    assert first.returncode == 130, "SIGTERM should end the game day as an interruption"
    assert coord.list_namespaced_lease("default").items == [], "the interrupted run left its lease"


def test_while_a_run_holds_the_target_every_other_run_is_refused(blueprint: Sandbox, tmp_path: Path) -> None:
    """``xpchaos run`` holds the Lease from before its fault to after its rollback; meanwhile a second ``xpchaos
    run``, a plain ``chaos run`` and ``xpchaos gate --target`` are refused (exit 2, the holder named), changing
    nothing (each records an undo before any change: their undo logs stay empty), and the first is unaffected."""
    target = str(blueprint.target_path)
    uids = _provider_config_uids(blueprint)  # a delete-providerconfig that ran would re-create them: new uids
    first = subprocess.Popen([sys.executable, "-m", "xpchaos", "run", str(EXPERIMENTS / "block-provider-api.json"),
                              "--target", target], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**_env(tmp_path / "first"), "XPCHAOS_SLO": "20s"})
    coord = client.CoordinationV1Api(kube.api_client(blueprint.target.kubeconfig))
    try:
        held = wait_for(lambda: coord.list_namespaced_lease("default").items, 30, what="the first run's lease")
        holder = held[0].spec.holder_identity
        assert holder.endswith(f":{first.pid}"), holder
        others = {"xpchaos run": [sys.executable, "-m", "xpchaos", "run",
                                  str(EXPERIMENTS / "delete-providerconfig.json"), "--target", target],
                  "chaos run": [CHAOS, "run", "--no-verify-tls", str(EXPERIMENTS / "delete-providerconfig.json")],
                  "xpchaos gate": [sys.executable, "-m", "xpchaos", "gate", "--target", target, "--report-dir",
                                   str(tmp_path / "gate")]}
        envs = {name: {**_env(tmp_path / name.replace(" ", "-")), "XPCHAOS_TARGET": target} for name in others}
        started = {name: subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True, env=envs[name]) for name, command in others.items()}
        refused = {name: (proc.communicate(timeout=60), proc.returncode) for name, proc in started.items()}
        assert first.poll() is None, "the first run ended before the others were refused: no overlap was tested"
    finally:
        out, err = first.communicate(timeout=120)
    for name, ((o, e), code) in refused.items():
        assert code == 2, f"{name}: exit {code}\n{o[-2000:]}{e[-2000:]}"
        assert "another run holds the lease" in o + e and holder in o + e and "since" in o + e, (name, o + e)
        assert not (tmp_path / name.replace(" ", "-") / "undo.jsonl").exists(), f"{name} recorded a change"
    assert first.returncode == 0, out[-3000:] + err[-2000:]
    assert "resilient" in out
    assert coord.list_namespaced_lease("default").items == [], "the first run left its lease"
    assert _provider_config_uids(blueprint) == uids


def _provider_config_uids(box: Sandbox) -> dict[str, str]:
    custom: Any = client.CustomObjectsApi(kube.api_client(box.target.kubeconfig))
    found = {}
    for provider in box.target.providers.values():
        ref = provider.provider_config
        obj = custom.get_cluster_custom_object(ref.group, ref.version, ref.plural, ref.name)
        found[f"{ref.kind}/{ref.name}"] = obj["metadata"]["uid"]
    return found


def test_a_tripped_stop_condition_rolls_back_and_exits_2(slow_blueprint: Sandbox, tmp_path: Path) -> None:
    suite = _suite(tmp_path / "suite.yaml", f"experiment: {EXPERIMENTS / 'block-provider-api.json'}")
    before = snapshot.take(slow_blueprint.target)
    undo = UndoLog(tmp_path / "undo.jsonl")
    core = _core(slow_blueprint)
    proc = subprocess.Popen([sys.executable, "-m", "xpchaos", "gameday", str(suite), "--target",
                             str(slow_blueprint.target_path), "--report-dir", str(tmp_path / "r")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    try:
        wait_for(undo.outstanding, 60, what="the fault in place")
        core.create_namespaced_config_map("default", {"metadata": {"name": "xpchaos-emergency-stop"}})
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        core.delete_namespaced_config_map("xpchaos-emergency-stop", "default")
    assert proc.returncode == 2, out[-3000:] + err[-2000:]
    assert "emergency stop: the ConfigMap default/xpchaos-emergency-stop exists" in out, out[-3000:]
    journal = json.loads((tmp_path / "r" / "journals" / "01-block-provider-api.json").read_text())
    assert journal["status"] == "interrupted" and journal["rollbacks"][0]["status"] == "succeeded"
    timeline = next(e for e in journal["extensions"] if e["name"] == "xpchaos-timeline")["timeline"]
    # rolled back at once: before the 30 s detection could even start a failover
    assert not any(e["what"] == "answer" and e["answers"] == ["198.51.100.20"] for e in timeline)
    assert any(e["what"] == "mark" and e["status"] == "rolled-back" for e in timeline)
    assert snapshot.diff(before, snapshot.take(slow_blueprint.target)) == []
    assert undo.outstanding() == []


def test_an_emergency_stop_before_the_first_step_injects_nothing(blueprint: Sandbox, tmp_path: Path) -> None:
    suite = _suite(tmp_path / "suite.yaml", f"experiment: {EXPERIMENTS / 'revoke-credentials.json'}")
    core = _core(blueprint)
    core.create_namespaced_config_map("default", {"metadata": {"name": "xpchaos-emergency-stop"}})
    try:
        run = _gameday(str(suite), "--target", str(blueprint.target_path), "--report-dir", str(tmp_path / "r"),
                       env=_env(tmp_path))
    finally:
        core.delete_namespaced_config_map("xpchaos-emergency-stop", "default")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "emergency stop" in run.stdout
    assert not (tmp_path / "undo.jsonl").exists()


@pytest.mark.parametrize(("body", "words"), [
    ("kind: Nope\n", "kind: expected a document with kind: GameDay"),
    ("kind: GameDay\nsteps: []\n", "steps: expected a non-empty list"),
    ("kind: GameDay\nsteps:\n  - experiment: no-such.json\n", "no such experiment file 'no-such.json'"),
    ("kind: GameDay\nsteps:\n  - pause: soon\n", "'soon' is not a duration"),
    ("kind: GameDay\nsteps:\n  - experiment: x\n    pause: 1s\n",
     "one of experiment: FILE, scenarios: TAGS or pause: DURATION"),
])
def test_a_bad_suite_exits_2_with_one_line(blueprint: Sandbox, tmp_path: Path, body: str, words: str) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(body)
    run = _gameday(str(suite), "--target", str(blueprint.target_path), env=_env(tmp_path), timeout=60)
    assert run.returncode == 2 and words in run.stderr and run.stderr.count("\n") == 1, run.stderr


def test_an_abandoned_lease_is_taken_over_and_a_live_one_is_not(blueprint: Sandbox) -> None:
    import datetime as dt

    from xpchaos.core import lease

    api = kube.api_client(blueprint.target.kubeconfig)
    coord = client.CoordinationV1Api(api)
    name = lease.lease_name(blueprint.target)

    def plant(renewed_ago: float) -> None:
        stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=renewed_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        coord.create_namespaced_lease("default", {"metadata": {"name": name}, "spec": {
            "holderIdentity": "someone@elsewhere:1", "leaseDurationSeconds": 60, "acquireTime": stamp,
            "renewTime": stamp}})

    plant(renewed_ago=120)  # a killed run's lease: expired
    taken = lease.for_target(api, blueprint.target).acquire()
    try:
        assert coord.read_namespaced_lease(name, "default").spec.holder_identity == lease.holder_identity()
    finally:
        taken.release()
    assert coord.list_namespaced_lease("default").items == []
    plant(renewed_ago=5)  # alive
    try:
        with pytest.raises(lease.LeaseHeld, match="someone@elsewhere:1, since"):
            lease.for_target(api, blueprint.target).acquire()
    finally:
        coord.delete_namespaced_lease(name, "default")
