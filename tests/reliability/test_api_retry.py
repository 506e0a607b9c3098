"""The harness's API client retries what the server asks to be retried (``xpchaos.core.api_retry``), counts every
retry, and hands back the server's answer when the retries run out; a write only where the server changed nothing
(429 and 503 with Retry-After), and a create whose answer was lost after it was applied (504) is made again and its
409 read as success only when the object there is the caller's own. Against a sandbox that injects the faults
(``--api-faults``) into the harness's requests only (its User-Agent ``xpchaos/...``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.support import sandboxes
from tests.support.sandboxes import Sandbox
from xpchaos.actions import credentials, network
from xpchaos.core import api_retry, kube, lease
from xpchaos.core.outcome import ActionOutcome


def _faulty(own_sandbox: Callable[..., Sandbox], tmp_path: Path, spec: str) -> tuple[Sandbox, Path]:
    log = tmp_path / "faults.jsonl"
    box = own_sandbox("--profile", "none", "--api-faults", spec, "--api-faults-seed", "7",
                      "--api-faults-retry-after", "0", "--api-faults-agent", kube.USER_AGENT.split("/")[0] + "/",
                      "--api-faults-log", str(log))
    return box, log


def _injected(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_every_verb_is_retried_through_refusals_and_each_retry_is_counted(own_sandbox: Callable[..., Sandbox],
                                                                           tmp_path: Path) -> None:
    box, log = _faulty(own_sandbox, tmp_path, "503=0.15,429=0.15")
    api_retry.reset()
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig))
    for i in range(20):
        body = {"metadata": {"name": f"c{i}"}, "data": {"k": "v"}}
        core.create_namespaced_config_map("default", body)
        core.patch_namespaced_config_map(f"c{i}", "default", {"data": {"k": "w"}})
        assert core.read_namespaced_config_map(f"c{i}", "default").data == {"k": "w"}
        core.delete_namespaced_config_map(f"c{i}", "default")
    injected = _injected(log)
    counted = api_retry.stats()
    assert len(injected) >= 20, injected  # 80 requests at 30 %: the faults really came
    assert counted["total"] == len(injected), (counted, len(injected))
    assert {f["fault"] for f in injected} == {"503", "429"}
    assert {f["method"] for f in injected} >= {"POST", "PATCH", "GET"}
    # nothing was made twice and nothing is left: a refused request changed nothing, the retry did it once
    plain: Any = client.CoreV1Api(config.new_client_from_config(config_file=box.kubeconfig))
    assert [c.metadata.name for c in plain.list_namespaced_config_map("default").items
            if c.metadata.name.startswith("c")] == []


def test_when_the_retries_run_out_the_server_answer_reaches_the_caller(own_sandbox: Callable[..., Sandbox],
                                                                        tmp_path: Path) -> None:
    box, log = _faulty(own_sandbox, tmp_path, "503=1")
    api_retry.reset()
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig))
    with pytest.raises(ApiException) as raised:
        core.read_namespace("default")
    assert raised.value.status == 503
    assert len(_injected(log)) == api_retry.ATTEMPTS
    assert api_retry.stats() == {"total": api_retry.ATTEMPTS - 1, "503": api_retry.ATTEMPTS - 1}


def test_a_write_answered_500_is_handed_back_at_once_and_a_read_is_retried(own_sandbox: Callable[..., Sandbox],
                                                                             tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    box, log = _faulty(own_sandbox, tmp_path, "500=1")
    monkeypatch.setattr(api_retry, "ATTEMPTS", 3)  # the read's backoff: 0.2 s, 0.4 s
    api_retry.reset()
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig))
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map("default", {"metadata": {"name": "once"}})
    assert raised.value.status == 500 and len(_injected(log)) == 1  # the server may have applied it: asked once
    with pytest.raises(ApiException):
        core.read_namespace("default")
    assert len(_injected(log)) == 1 + api_retry.ATTEMPTS  # a read changes nothing: asked again
    assert api_retry.stats() == {"total": api_retry.ATTEMPTS - 1, "500": api_retry.ATTEMPTS - 1}


def test_a_client_without_retries_asks_once(own_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    box, log = _faulty(own_sandbox, tmp_path, "503=1")
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig, retrying=False))
    with pytest.raises(ApiException):
        core.read_namespace("default")
    assert len(_injected(log)) == 1  # urllib3's own Retry-After resends are off too


# -- a gateway timing out after the API server applied the create: 504 to every create of the faults' objects --------
LOST = "create:networkpolicies,create:leases,create:configmaps"


@pytest.fixture(scope="module")
def lost_answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    state = tmp_path_factory.mktemp("lost-answers")
    log = state / "faults.jsonl"
    with sandboxes.running(state / "sandbox", *sandboxes.fast("stock"), "--api-faults", "504=1",
                           "--api-faults-only", LOST, "--api-faults-agent", kube.USER_AGENT.split("/")[0] + "/",
                           "--api-faults-log", str(log)) as box:
        box.wait_steady()
        yield box, log


def _lost(log: Path, resource: str) -> list[dict[str, Any]]:
    return [f for f in _injected(log) if f["fault"] == "504" and f["path"].endswith(f"/{resource}")]


def test_a_block_whose_create_answer_was_lost_is_applied_not_failed(lost_answers: tuple[Sandbox, Path],
                                                                    tmp_path: Path) -> None:
    box, log = lost_answers
    configuration = {**box.configuration, "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}
    api_retry.reset()
    result = network.block_provider_api("aws", configuration=configuration)
    try:
        assert result["outcome"] == ActionOutcome.APPLIED, result
        assert len(_lost(log, "networkpolicies")) == 1, "the create was not answered 504"
        assert api_retry.stats().get("create-504", 0) >= 1  # made again, its 409 read as ours
    finally:
        assert network.unblock_provider_api("aws", configuration=configuration)["outcome"] == "restored"
    net: Any = client.NetworkingV1Api(config.new_client_from_config(config_file=box.kubeconfig))
    assert net.list_namespaced_network_policy(box.target.providers["aws"].pods_namespace).items == []


def test_the_lease_whose_create_answer_was_lost_is_recognised_as_ours(lost_answers: tuple[Sandbox, Path]) -> None:
    box, log = lost_answers
    api = kube.api_client(box.kubeconfig)
    held = lease.for_target(api, box.target).acquire()  # not "held by someone else": by this run
    try:
        coord: Any = client.CoordinationV1Api(api)
        assert coord.read_namespaced_lease(held.name, held.namespace).spec.holder_identity == held.identity
        assert len(_lost(log, "leases")) == 1 and not held.joined
    finally:
        held.release()
    assert client.CoordinationV1Api(api).list_namespaced_lease(held.namespace).items == []


def test_a_conflict_with_an_object_not_ours_is_still_a_conflict(lost_answers: tuple[Sandbox, Path]) -> None:
    box, _log = lost_answers
    plain: Any = client.CoreV1Api(config.new_client_from_config(config_file=box.kubeconfig))  # not faulted
    plain.create_namespaced_config_map("default", {"metadata": {"name": "taken", "annotations": {"id": "theirs"}}})
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig))
    body = {"metadata": {"name": "taken", "annotations": {"id": "mine"}}}
    with pytest.raises(ApiException) as raised:
        api_retry.create_or_adopt(lambda: core.create_namespaced_config_map("default", body),
                                  lambda: core.read_namespaced_config_map("taken", "default"),
                                  lambda found: found.metadata.annotations.get("id") == "mine", "ConfigMap taken")
    assert raised.value.status == 409
    assert plain.read_namespaced_config_map("taken", "default").metadata.annotations == {"id": "theirs"}


def test_a_rollback_answered_500_is_replayed_until_the_object_is_as_it_was(own_sandbox: Callable[..., Sandbox],
                                                                          tmp_path: Path) -> None:
    """The client never re-sends a write answered 500 (it may have been applied); the rollback replays the whole undo
    instead, which reads the object first. Seed 10 rolls, for the three creates of Secrets: the undo record's copy
    in the cluster passes, the credential Secret's re-creation is answered 500, its replay passes."""
    log = tmp_path / "faults.jsonl"
    box = own_sandbox(*sandboxes.fast("stock"), "--api-faults", "500=0.5", "--api-faults-seed", "10",
                      "--api-faults-only", "create:secrets", "--api-faults-agent", kube.USER_AGENT.split("/")[0] + "/",
                      "--api-faults-log", str(log))
    configuration = {**box.configuration, "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}
    plain: Any = client.CoreV1Api(config.new_client_from_config(config_file=box.kubeconfig))  # not faulted
    secret = box.target.providers["aws"].credentials
    assert secret is not None
    before = plain.read_namespaced_secret(secret.name, secret.namespace).data
    api_retry.reset()
    assert credentials.revoke_credentials("aws", mode="delete-secret", configuration=configuration)["outcome"] == \
        ActionOutcome.APPLIED
    restored = credentials.restore_credentials("aws", configuration=configuration)
    assert restored["outcome"] == ActionOutcome.RESTORED, restored
    assert [f["fault"] for f in _injected(log)] == ["500"]  # the re-creation, answered 500 once
    assert api_retry.stats().get("undo replayed") == 1
    assert plain.read_namespaced_secret(secret.name, secret.namespace).data == before
