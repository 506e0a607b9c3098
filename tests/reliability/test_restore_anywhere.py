"""Nothing lost, from anywhere: ``chaos run`` killed (SIGKILL) while its fault is in place, then ``xpchaos restore
--target T`` from another directory with another HOME (so neither the run's working directory nor its per-user
state directory is at hand): the undo records kept in the cluster bring it back exactly as before.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.commands import xpchaos
from tests.support.runs import NAMES, Run
from tests.support.sandboxes import UNANSWERED, Sandbox
from tests.support.targets import edited
from tests.support.waiting import wait_for
from xpchaos.actions import credentials, network, providerconfig
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.core.undo_log import UNDO_ID, UndoLog, UndoLogError
from xpchaos.run import snapshot

DEADLINE = 60.0


@pytest.fixture(scope="module")
def core(blueprint: Sandbox) -> Iterator[Any]:
    api = kube.api_client(blueprint.target.kubeconfig, blueprint.target.context)
    try:
        yield client.CoreV1Api(api)
    finally:
        api.close()


def _records_in_cluster(core: Any, target: Path) -> list[str]:
    """The names of the undo record Secrets kept for ``target``."""
    tgt = targets.load(target)
    selector = f"app.kubernetes.io/managed-by=xpchaos,xpchaos.io/target={tgt.name}"
    return sorted(s.metadata.name for s in core.list_namespaced_secret(tgt.safety.lease_namespace,
                                                                       label_selector=selector).items)


def _target_of(box: Sandbox) -> Path:
    assert box.target_path is not None, "the sandbox wrote no target"
    return box.target_path


def _target_named(box: Sandbox, name: str) -> Path:
    """The sandbox's target under another name: each killed run leaves its target's Lease held until it expires
    (one fault at a time per target), so each experiment here has a target of its own."""
    return edited(_target_of(box), box.state_dir / f"target-{name}.yaml",
                  lambda doc: doc.setdefault("metadata", {}).update(name=f"anywhere-{name}"))


def _env(home: Path, target: Path) -> dict[str, str]:
    """A user with only this HOME: no undo log path given, no state directory elsewhere."""
    env = Run(home).env(target)
    env.pop("XPCHAOS_UNDO_LOG")
    env.pop("XDG_STATE_HOME", None)
    return env


def _local_logs(home: Path) -> list[Path]:
    return sorted((home / ".local/state/xpchaos").glob("undo-*.jsonl"))


@pytest.mark.parametrize("name", NAMES)
def test_a_killed_run_is_restored_from_another_directory_and_home(name: str, blueprint: Sandbox, core: Any,
                                                                  tmp_path: Path) -> None:
    blueprint.wait_steady(DEADLINE)
    target = _target_named(blueprint, name)
    before = blueprint.snapshot()
    first, second = Run(tmp_path / "runner"), tmp_path / "elsewhere"
    first.directory.mkdir()
    second.mkdir()
    process = subprocess.Popen(first.chaos_command(name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=first.directory, env=_env(first.directory, target))
    try:
        def faulted() -> bool:
            assert process.poll() is None, f"the run ended before its fault was in place: {process.returncode}\n" \
                                           f"{first.log()[-3000:]}"
            # the platform has reacted too (it left its steady state): killed earlier, its reaction could come
            # after the restore and the next test would start from a failover in progress
            return bool(_records_in_cluster(core, target) and snapshot.diff(before, blueprint.snapshot())
                        and not blueprint.steady())

        wait_for(faulted, DEADLINE, what=f"{name}'s fault in place and the platform failing over",
                 retry_on=UNANSWERED)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=DEADLINE) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert snapshot.diff(before, blueprint.snapshot()), "the kill left nothing to restore"
    # the run's local log went to its per-user state directory, keyed by the cluster, not to its working directory
    (local,) = _local_logs(first.directory)
    assert UndoLog(local).outstanding() and not (first.directory / ".xpchaos").exists()

    done = xpchaos("restore", "--target", str(target), cwd=second, env=_env(second, target))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f" {name.replace('delete-providerconfig', 'delete-provider-config')}: " in done.stdout, done.stdout
    assert "Restored" in done.stdout and "Marked by a fault" not in done.stdout, done.stdout
    blueprint.wait_steady(DEADLINE)
    assert snapshot.diff(before, blueprint.snapshot()) == []
    assert _records_in_cluster(core, target) == []


def test_restore_lists_what_a_fault_marked_that_no_record_names(blueprint: Sandbox, tmp_path: Path) -> None:
    api = kube.api_client(blueprint.target.kubeconfig, blueprint.target.context)
    net: Any = client.NetworkingV1Api(api)
    namespace = next(iter(blueprint.target.providers.values())).pods_namespace
    policy = {"metadata": {"name": "left-behind", "labels": {UNDO_ID: "0123456789abcdef"}},
              "spec": {"podSelector": {"matchLabels": {"none": "none"}}, "policyTypes": ["Egress"]}}
    net.create_namespaced_network_policy(namespace, policy)
    try:
        done = xpchaos("restore", "--target", str(_target_of(blueprint)), cwd=tmp_path,
                       env=_env(tmp_path, _target_of(blueprint)))
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stdout.startswith("Nothing to restore"), done.stdout  # the killed runs above: all undone
        assert (f"Marked by a fault, with no undo record (not changed; look at it): NetworkPolicy "
                f"{namespace}/left-behind (undo id 0123456789ab)") in done.stdout
        net.read_namespaced_network_policy("left-behind", namespace)  # listed, not touched
    finally:
        net.delete_namespaced_network_policy("left-behind", namespace)
        api.close()


def test_no_change_when_the_cluster_cannot_keep_the_record(blueprint: Sandbox, tmp_path: Path) -> None:
    """The record is written into the cluster before the change: when the harness namespace cannot hold it,
    the fault changes nothing and its local record is closed (nothing to restore)."""
    target = edited(_target_of(blueprint), blueprint.state_dir / "target-nowhere.yaml",
                    lambda doc: doc.setdefault("safety", {}).update(lease={"namespace": "no-such-namespace"}))
    configuration = {"xpchaos_target": str(target), "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}
    blueprint.wait_steady(DEADLINE)
    before = blueprint.resource_versions()
    faults: list[tuple[Callable[..., Any], dict[str, Any]]] = [
        (providerconfig.delete_provider_config, {"force": True}), (network.block_provider_api, {}),
        (credentials.revoke_credentials, {})]
    for fault, kwargs in faults:
        with pytest.raises(UndoLogError, match=r"cannot write the undo record into Secret no-such-namespace/"
                                               r"xpchaos-undo-\w+: the API answered 404"):
            fault("aws", configuration=configuration, **kwargs)
    assert blueprint.resource_versions() == before
    log = UndoLog(tmp_path / "undo.jsonl")
    assert len(log.records()) == 3 and log.outstanding() == []
